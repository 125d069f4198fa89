//! The callback worker: a durable consumer of the `PAYMENT_CALLBACKS` work queue shared by all replicas (one
//! attempt is with one replica at a time). Every attempt goes through one pooled client (`client`) whose resolver
//! re-checks the address; the signed body is sent without following redirects, and the next attempt waits in a
//! delayed NAK (the schedule's pause, or the receiver's `Retry-After` within it, plus up to 10 % of jitter so
//! retries of many callbacks do not arrive in lockstep), so pending attempts live in JetStream and survive
//! restarts. Any 2xx delivers; `410 Gone`, a refused address, or the last failed attempt ends it with
//! `payment.callback.failed`.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use async_nats::{
    header::NATS_MESSAGE_ID,
    jetstream::{self, consumer::pull, kv, AckKind},
    HeaderMap,
};
use secrecy::ExposeSecret;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{client, guard, signing, Body, Failed, Job, Target};
use crate::{
    config::CallbackConfig,
    nats::{
        consumer::run_durable,
        streams::{CALLBACKS_CONSUMER, CALLBACKS_STREAM},
    },
    telemetry::{propagation, spans},
    trail::{Record, Trail},
};

/// Largest response body read from a callback receiver; the rest is dropped unread.
const MAX_RESPONSE_BYTES: usize = 16 * 1024;
const CONCURRENCY: usize = 32;
/// How long recording an attempt in the payment's trail may take.
const TRAIL_TIMEOUT: Duration = Duration::from_secs(5);
/// Retries wait up to this fraction longer than scheduled (never shorter).
const JITTER: f64 = 0.1;

#[derive(Clone)]
pub struct Worker {
    pub js: jetstream::Context,
    pub targets: kv::Store,
    pub config: CallbackConfig,
}

/// How one attempt ended.
#[derive(Debug)]
enum Attempt {
    Delivered(u16),
    Gone,
    Refused(String),
    Failed {
        status: Option<u16>,
        retry_after: Option<Duration>,
        /// Why no HTTP answer came (connection refused, timed out…), for the payment's trail.
        error: Option<String>,
    },
}

impl Worker {
    /// Delivers callbacks until `shutdown` (see `nats::consumer`).
    pub async fn run(self, shutdown: CancellationToken) {
        // One client for every attempt of this replica: its pool keeps connections to receivers warm.
        let client = match client::build(&self.config) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "callback client cannot be built (CALLBACK_PROXY?); callbacks wait");
                return;
            }
        };
        let config = pull::Config {
            durable_name: Some(CALLBACKS_CONSUMER.into()),
            description: Some("Delivers signed callbacks to callers".into()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            // Longer than one attempt, so an attempt in progress is never handed to a second replica.
            ack_wait: self.config.timeout + Duration::from_secs(30),
            max_ack_pending: 256,
            ..Default::default()
        };
        run_durable(
            &self.js,
            CALLBACKS_STREAM,
            config,
            CONCURRENCY,
            shutdown,
            |message| self.handle(&client, message),
        )
        .await
    }

    async fn handle(&self, client: &reqwest::Client, message: jetstream::Message) {
        let attempt = message.info().map(|i| i.delivered).unwrap_or(1).max(1) as u32;
        let ack = match self.deliver(client, &message.payload, attempt).await {
            Ok(ack) => ack,
            Err(e) => {
                tracing::warn!(error = %e, "callback bookkeeping failed; retrying shortly");
                AckKind::Nak(Some(Duration::from_secs(5)))
            }
        };
        if let Err(e) = message.ack_with(ack).await {
            tracing::warn!(error = %e, "could not acknowledge a callback attempt");
        }
    }

    /// One attempt, and what JetStream should do with the job next.
    async fn deliver(
        &self,
        client: &reqwest::Client,
        payload: &[u8],
        attempt: u32,
    ) -> Result<AckKind, String> {
        let Ok(job) = serde_json::from_slice::<Job>(payload) else {
            tracing::error!("unreadable callback job dropped");
            return Ok(AckKind::Term);
        };
        let Some(target) = self
            .targets
            .get(&job.callback_id)
            .await
            .map_err(|e| e.to_string())?
        else {
            tracing::warn!(callback = %job.callback_id, "callback target expired or missing; nothing to send");
            return Ok(AckKind::Term);
        };
        let target: Target = serde_json::from_slice(&target).map_err(|e| e.to_string())?;
        let started = Instant::now();
        let span = spans::callback_attempt(&job.webhook_id, attempt, job.traceparent.as_deref());
        let result = self.send(client, &job, &target).instrument(span).await;
        let host = url::Url::parse(&target.url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        let id = &job.webhook_id;
        match &result {
            Attempt::Delivered(status) => {
                tracing::info!(webhook_id = %id, attempt, %host, status, "callback delivered")
            }
            Attempt::Gone => {
                tracing::warn!(webhook_id = %id, attempt, %host, "callback receiver answered 410 Gone")
            }
            Attempt::Refused(why) => {
                tracing::warn!(webhook_id = %id, attempt, %host, reason = %why, "callback refused")
            }
            Attempt::Failed { status, .. } => {
                tracing::info!(webhook_id = %id, attempt, %host, ?status, "callback attempt failed")
            }
        }
        crate::metrics::callback_attempt(label(&result), started);
        self.record(&job, &target, attempt, &result).await;
        let retries = self.config.retry_schedule.len() as u32;
        let (last_status, delay) = match result {
            Attempt::Delivered(_) => return Ok(AckKind::Ack),
            Attempt::Gone => (Some(410), None),
            Attempt::Refused(_) => (None, None),
            Attempt::Failed { status, .. } if attempt > retries => (status, None),
            Attempt::Failed {
                status,
                retry_after,
                ..
            } => {
                let scheduled = self.config.retry_schedule[(attempt - 1) as usize];
                let longest = self
                    .config
                    .retry_schedule
                    .iter()
                    .max()
                    .copied()
                    .unwrap_or(scheduled);
                // Retry-After is honoured, but within the schedule: never later than its longest pause.
                let pause = retry_after.map_or(scheduled, |r| r.min(longest));
                (status, Some(jittered(pause)))
            }
        };
        if let Some(delay) = delay {
            return Ok(AckKind::Nak(Some(delay)));
        }
        self.publish_failed(&job, &target, attempt, last_status)
            .await?;
        Ok(AckKind::Ack)
    }

    async fn send(&self, client: &reqwest::Client, job: &Job, target: &Target) -> Attempt {
        let Ok(url) = url::Url::parse(&target.url) else {
            return Attempt::Refused("unparsable URL".into());
        };
        // The client's resolver checks names as it connects; an IP literal is never resolved, and through a proxy
        // the name is resolved by the proxy, so those are checked here.
        let literal = matches!(url.host(), Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)));
        if literal || self.config.proxy.is_some() {
            if let Err(e) =
                guard::resolve(&url, self.config.allow_private, self.config.timeout).await
            {
                return Attempt::Refused(e.to_string());
            }
        }
        let body = serde_json::to_vec(&Body {
            id: &target.session_id,
            order_id: &target.order_id,
            status: &job.status,
            metadata: &target.metadata,
        })
        .expect("body serialises");
        let secret = self
            .config
            .signing_secret
            .as_ref()
            .map(|s| s.expose_secret())
            .unwrap_or_default();
        let timestamp = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64;
        let signature = signing::sign(secret, &job.webhook_id, timestamp, &body);
        let method = if target.method == "PUT" {
            reqwest::Method::PUT
        } else {
            reqwest::Method::POST
        };
        let mut request = client.request(method, url);
        // The attempt span's context: the receiver continues the payment's trace.
        if let Some(traceparent) = propagation::current() {
            request = request.header(propagation::TRACEPARENT, traceparent);
        }
        let sent = request
            .header("content-type", "application/json")
            .header("webhook-id", &job.webhook_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        let mut response = match sent {
            Ok(response) => response,
            Err(e) => {
                if let Some(refused) = client::refusal(&e) {
                    return Attempt::Refused(refused.to_string());
                }
                return Attempt::Failed {
                    status: None,
                    retry_after: None,
                    error: Some(crate::causes::chain(&e.without_url())),
                };
            }
        };
        let status = response.status().as_u16();
        tracing::Span::current().record("http.response.status_code", status);
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| retry_after(v, SystemTime::now()));
        // Read a little of the body (so the connection ends cleanly), never all of it.
        let mut read = 0;
        while let Ok(Ok(Some(chunk))) =
            tokio::time::timeout(self.config.timeout, response.chunk()).await
        {
            read += chunk.len();
            if read >= MAX_RESPONSE_BYTES {
                break;
            }
        }
        match status {
            200..=299 => Attempt::Delivered(status),
            410 => Attempt::Gone,
            _ => Attempt::Failed {
                status: Some(status),
                retry_after,
                error: None,
            },
        }
    }

    /// Records the attempt in the payment's trail (`payments inspect`). Best effort: the receiver already has
    /// its answer, and retrying the attempt for the sake of the record would call it again.
    async fn record(&self, job: &Job, target: &Target, attempt: u32, result: &Attempt) {
        let (status, error) = match result {
            Attempt::Delivered(status) => (Some(*status), None),
            Attempt::Gone => (Some(410), None),
            Attempt::Refused(why) => (None, Some(why.clone())),
            Attempt::Failed { status, error, .. } => (*status, error.clone()),
        };
        let record = Record::Callback {
            order_id: target.order_id.clone(),
            url: target.url.clone(),
            status,
            error,
        };
        let trail = Trail::new(self.js.clone(), TRAIL_TIMEOUT);
        if let Err(e) = trail
            .callback(&target.order_id, &job.webhook_id, attempt, &record)
            .await
        {
            tracing::warn!(webhook_id = %job.webhook_id, error = crate::causes::chain(&e), "callback attempt not recorded in the trail");
        }
    }

    async fn publish_failed(
        &self,
        job: &Job,
        target: &Target,
        attempts: u32,
        last_status: Option<u16>,
    ) -> Result<(), String> {
        let body = serde_json::to_vec(&Failed {
            id: &target.session_id,
            order_id: &target.order_id,
            url: &target.url,
            attempts,
            last_status: last_status.unwrap_or(0),
        })
        .expect("failure serialises");
        let mut headers = HeaderMap::new();
        headers.insert(
            NATS_MESSAGE_ID,
            format!("callback_failed.{}", job.webhook_id).as_str(),
        );
        // In the trace of the outcome whose callback failed, like every payment.* message.
        let span = spans::publish(
            "payment.callback.failed",
            &job.webhook_id,
            job.traceparent.as_deref(),
        );
        if let Some(traceparent) =
            propagation::traceparent(&span).and_then(|t| t.parse::<async_nats::HeaderValue>().ok())
        {
            headers.insert(propagation::TRACEPARENT, traceparent);
        }
        let publish = async {
            self.js
                .publish_with_headers("payment.callback.failed", headers, body.into())
                .await
                .map_err(|e| e.to_string())?
                .await
                .map_err(|e| e.to_string())
        };
        publish.instrument(span).await?;
        tracing::warn!(webhook_id = %job.webhook_id, attempts, ?last_status, "callback failed for good");
        crate::metrics::callback_dead_letter();
        Ok(())
    }
}

/// `Retry-After` in either form: delay-seconds (`120`) or an HTTP date (`Wed, 21 Oct 2026 07:28:00 GMT`), as a
/// pause from `now` (a date in the past is no pause). `None` for anything else.
fn retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or_default())
}

/// `pause` plus up to [`JITTER`] of it, so many callbacks failing together do not all retry together.
fn jittered(pause: Duration) -> Duration {
    pause.mul_f64(1.0 + rand::random_range(0.0..=JITTER))
}

fn label(attempt: &Attempt) -> &'static str {
    match attempt {
        Attempt::Delivered(_) => "delivered",
        Attempt::Gone => "gone",
        Attempt::Refused(_) => "refused",
        Attempt::Failed { .. } => "failed",
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::{jittered, retry_after, JITTER};

    #[test]
    fn retry_after_in_seconds_and_as_an_http_date() {
        let now = httpdate::parse_http_date("Sun, 06 Dec 2026 04:00:00 GMT").unwrap();
        assert_eq!(retry_after("120", now), Some(Duration::from_secs(120)));
        assert_eq!(retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            retry_after("Sun, 06 Dec 2026 04:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            retry_after("Sun, 06 Dec 2026 03:00:00 GMT", now),
            Some(Duration::ZERO),
            "a date in the past is no pause"
        );
        for junk in ["soon", "-5", "1.5", ""] {
            assert_eq!(retry_after(junk, now), None, "{junk:?}");
        }
        assert!(retry_after("Sunday, 06-Dec-26 04:01:30 GMT", SystemTime::UNIX_EPOCH).is_some());
    }

    #[test]
    fn jitter_only_lengthens_and_spreads() {
        let pause = Duration::from_secs(60);
        let samples: Vec<Duration> = (0..200).map(|_| jittered(pause)).collect();
        assert!(samples
            .iter()
            .all(|d| *d >= pause && *d <= pause.mul_f64(1.0 + JITTER)));
        let distinct: std::collections::BTreeSet<_> = samples.iter().collect();
        assert!(distinct.len() > 100, "spread, not one value");
    }
}
