//! [`Builder`]: how a [`StandIn`] is configured before it starts (address, API key, the webhook it forwards events
//! to, the public URL of its hosted pages, the retry schedule of deliveries and the settle delay of delayed payment
//! methods), and [`Retry`], the delivery retry schedule.

use std::net::SocketAddr;
use std::time::Duration;

use crate::StandIn;

/// When a webhook delivery that failed (non-2xx answer, connection error, timeout) is attempted again.
///
/// Attempt `n + 1` follows attempt `n` after `first × 2^(n-1)`, capped at `max_delay`; after `max_attempts`
/// attempts the event is given up (so the total time spent on one event is bounded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retry {
    /// The wait after the first failed attempt.
    pub first: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
    /// Attempts in all, the first included (at least 1).
    pub max_attempts: u32,
    /// How long one attempt may take before it counts as failed.
    pub attempt_timeout: Duration,
}

impl Retry {
    /// Stripe's schedule, shortened: 1 s, 2 s, 4 s … up to 1 min apart, 16 attempts (about 11 minutes in all),
    /// 10 s per attempt. The default.
    pub fn stripe_like() -> Retry {
        Retry {
            first: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            max_attempts: 16,
            attempt_timeout: Duration::from_secs(10),
        }
    }

    /// For tests: 10 ms, 20 ms, 40 ms … up to 100 ms apart, 8 attempts, 5 s per attempt.
    pub fn fast() -> Retry {
        Retry {
            first: Duration::from_millis(10),
            max_delay: Duration::from_millis(100),
            max_attempts: 8,
            attempt_timeout: Duration::from_secs(5),
        }
    }

    /// The wait after failed attempt number `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        stripe_wire::Backoff::new(self.first, self.max_delay).after(attempt)
    }
}

impl Default for Retry {
    fn default() -> Self {
        Retry::stripe_like()
    }
}

/// The configuration of a [`StandIn`]; [`StandIn::builder`] makes one, [`Builder::start`] starts the server.
///
/// Every field has a chained setter; the `Option` fields can also be assigned directly (e.g. from environment
/// variables).
///
/// ```
/// # async fn demo() {
/// use std::time::Duration;
/// use stripe_standin::{Retry, StandIn};
/// let standin = StandIn::builder()
///     .webhook_url("http://127.0.0.1:3000/payments/webhook")
///     .webhook_secret("whsec_test")
///     .retry(Retry::fast())
///     .settle_delay(Duration::ZERO)
///     .start()
///     .await;
/// # }
/// ```
#[derive(Clone)]
pub struct Builder {
    /// Where to listen; `127.0.0.1:0` (a free port) by default.
    pub addr: SocketAddr,
    /// Accept only this Bearer key (otherwise any `sk_…`/`rk_…` key).
    pub api_key: Option<String>,
    /// Where events are POSTed, e.g. `http://127.0.0.1:3000/payments/webhook`; without one, events are only
    /// recorded ([`StandIn::events`]).
    pub webhook_url: Option<String>,
    /// The `whsec_…` secret events are signed with; a random one when unset ([`StandIn::webhook_secret`]).
    pub webhook_secret: Option<String>,
    /// The base of the hosted page URLs (a session's `url` is `{public_url}/checkout/{id}`) when clients reach the
    /// stand-in at another address than it binds (a container, a proxy); [`StandIn::base_url`] by default.
    pub public_url: Option<String>,
    /// The retry schedule of webhook deliveries.
    pub retry: Retry,
    /// How long a delayed payment method takes to succeed or fail after the session completes (2 s by default).
    pub settle_delay: Duration,
    /// Print every delivery attempt to stderr (the binary does).
    pub log_deliveries: bool,
    /// Record events (`GET /v1/events` lists them) without delivering them, as for an endpoint Stripe cannot
    /// reach; [`StandIn::withhold_deliveries`] changes it later.
    pub withhold_deliveries: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Builder {
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            api_key: None,
            webhook_url: None,
            webhook_secret: None,
            public_url: None,
            retry: Retry::default(),
            settle_delay: Duration::from_secs(2),
            log_deliveries: false,
            withhold_deliveries: false,
        }
    }
}

/// Shows no secret: the API key and webhook secret are only said to be set.
impl std::fmt::Debug for Builder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let set = |v: &Option<String>| v.as_ref().map(|_| "<set>");
        f.debug_struct("Builder")
            .field("addr", &self.addr)
            .field("api_key", &set(&self.api_key))
            .field("webhook_url", &self.webhook_url)
            .field("webhook_secret", &set(&self.webhook_secret))
            .field("public_url", &self.public_url)
            .field("retry", &self.retry)
            .field("settle_delay", &self.settle_delay)
            .field("log_deliveries", &self.log_deliveries)
            .field("withhold_deliveries", &self.withhold_deliveries)
            .finish()
    }
}

impl Builder {
    pub fn addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    pub fn webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    pub fn webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.webhook_secret = Some(secret.into());
        self
    }

    pub fn public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into());
        self
    }

    pub fn retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    pub fn settle_delay(mut self, delay: Duration) -> Self {
        self.settle_delay = delay;
        self
    }

    pub fn log_deliveries(mut self, log: bool) -> Self {
        self.log_deliveries = log;
        self
    }

    pub fn withhold_deliveries(mut self, withhold: bool) -> Self {
        self.withhold_deliveries = withhold;
        self
    }

    /// Binds and starts serving.
    ///
    /// # Panics
    /// If the address cannot be bound.
    pub async fn start(self) -> StandIn {
        StandIn::launch(self).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let retry = Retry::stripe_like();
        let delays: Vec<u64> = (1..=8).map(|n| retry.delay_after(n).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(retry.delay_after(200), Duration::from_secs(60));
    }
}
