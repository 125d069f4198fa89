//! The processor: a durable pull consumer of the events stream, shared by all replicas. Each event is mapped to
//! what it reports, settled against its order's journal (`settle`), and only then acknowledged.
//!
//! - A transient failure (NATS, the Stripe API, a stream refusing messages) is retried with capped exponential
//!   backoff for as long as the event is retained: never given up on.
//! - An authentic event that cannot be used is logged, counted and acknowledged (it stays in the events stream for
//!   audit), never retried forever.
//! - While an event is being worked on, its delivery is kept alive with progress acknowledgements, so a short
//!   `PIPELINE_ACK_WAIT` is safe: when a replica dies, its events go to another within that time.

use std::time::Duration;

use async_nats::{
    header::NATS_MESSAGE_ID,
    jetstream::{self, consumer::pull, kv, AckKind},
};
use secrecy::ExposeSecret;
use stripe_wire::Backoff;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{inbox::Source, journal::Journal, pressure::Pressure};
use crate::{
    config::Config,
    error::Error,
    metrics,
    nats::{consumer::run_durable, streams::PIPELINE_CONSUMER},
    payment::{
        event::Event,
        lifecycle::Superseded,
        metadata::TRACEPARENT_KEY,
        outcome::{self, Plan, Unused},
    },
    stripe::{
        client::{StripeApi, StripeError},
        event::{self, header_safe},
    },
    telemetry::spans,
    trail::{Received, Sent, Trail},
};

/// Events processed at once by one replica.
const CONCURRENCY: usize = 64;
/// How long the live pipeline waits in-process for another worker's publication of the same order before it
/// asks JetStream to redeliver the event a little later.
const PIPELINE_PATIENCE: Duration = Duration::from_secs(1);
/// Redelivery delay of an event whose order was busy: short, the other worker publishes within milliseconds.
const BUSY_RETRY: Duration = Duration::from_millis(500);
/// A pending publication left unchanged this long is taken to be its dead holder's, and completed.
pub const STALE_AFTER: Duration = Duration::from_secs(15);

#[derive(Clone)]
pub struct Processor {
    pub js: jetstream::Context,
    pub journal: Journal,
    pub stripe: StripeApi,
    pub timeout: Duration,
    pub ack_wait: Duration,
    pub retry_max: Duration,
    pub pressure: Pressure,
    /// Whether `STRIPE_SECRET` is a live key: events of the other mode are unusable.
    pub live: bool,
    /// Where each event and outcome of an order is recorded for `payments inspect`.
    pub trail: Trail,
}

/// How one event ended.
#[derive(Debug, PartialEq)]
pub enum Processed {
    /// These outcomes were published, in this order.
    Published(Vec<String>),
    Duplicate(String),
    /// Contradicted by the order's history: kept for audit, not published.
    Superseded(Superseded),
    Ignored(Unused),
}

/// Why processing did not finish; the event is processed again later.
#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error(transparent)]
    Failed(#[from] Error),
    /// The Stripe API does not show yet what a succeeded payment will have (its charge, its receipt).
    #[error("{0}")]
    NotYet(&'static str),
    #[error("another worker is publishing outcomes of order {0:?}; try again shortly")]
    Busy(String),
}

impl From<StripeError> for ProcessError {
    fn from(error: StripeError) -> Self {
        ProcessError::Failed(error.into())
    }
}

/// The circumstances of one processing attempt.
#[derive(Debug, Clone, Copy)]
pub struct Attempt {
    /// The event was delivered before: whoever had it is gone, so a publication it left pending is completed.
    pub redelivered: bool,
    /// How long to wait for another worker's publication of the same order.
    pub patience: Duration,
}

impl Processor {
    pub fn new(
        config: &Config,
        js: jetstream::Context,
        journal: kv::Store,
        stripe: StripeApi,
        pressure: Pressure,
    ) -> Self {
        let key = config.stripe_secret.expose_secret();
        Processor {
            trail: Trail::new(js.clone(), config.jetstream_timeout),
            js,
            journal: Journal::new(journal, STALE_AFTER),
            stripe,
            timeout: config.jetstream_timeout,
            ack_wait: config.pipeline_ack_wait,
            retry_max: config.pipeline_retry_max,
            pressure,
            live: key.starts_with("sk_live_") || key.starts_with("rk_live_"),
        }
    }

    /// Consumes the events stream until `shutdown` (see `nats::consumer`).
    pub async fn run(self, stream: String, shutdown: CancellationToken) {
        let config = pull::Config {
            durable_name: Some(PIPELINE_CONSUMER.into()),
            description: Some("Maps verified Stripe events to payment outcomes".into()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ack_wait: self.ack_wait,
            max_ack_pending: 1024,
            ..Default::default()
        };
        run_durable(
            &self.js,
            &stream,
            config,
            CONCURRENCY,
            shutdown,
            |message| {
                let span = tracing::info_span!("event", event_id = %event_id(&message));
                self.handle(message).instrument(span)
            },
        )
        .await
    }

    async fn handle(&self, message: jetstream::Message) {
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
        let attempt = Attempt {
            redelivered: delivered > 1,
            patience: PIPELINE_PATIENCE,
        };
        let result = self.keep_alive(&message, attempt).await;
        let event_type = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Stripe-Event-Type"))
            .map_or_else(String::new, |v| v.to_string());
        metrics::webhook_event(&event_type, result_label(&result));
        let event_id = event_id(&message);
        let ack = match &result {
            Ok(Processed::Ignored(Unused::Unusable(why))) => {
                tracing::warn!(%event_id, reason = %why, "authentic event cannot be used; kept for audit");
                AckKind::Ack
            }
            Ok(Processed::Superseded(why)) => {
                tracing::info!(%event_id, reason = %why, "outcome superseded by the order's history; kept for audit");
                AckKind::Ack
            }
            Ok(done) => {
                tracing::debug!(%event_id, outcome = ?done, "event processed");
                AckKind::Ack
            }
            Err(ProcessError::Busy(_)) => AckKind::Nak(Some(BUSY_RETRY)),
            Err(e @ (ProcessError::Failed(_) | ProcessError::NotYet(_))) => {
                let delay = backoff(delivered).min(self.retry_max);
                let error = crate::causes::chain(e);
                tracing::info!(%event_id, %error, delivered, ?delay, "event will be retried");
                AckKind::Nak(Some(delay))
            }
        };
        if let Err(e) = message.ack_with(ack).await {
            // Not fatal: the event is redelivered after ack_wait, and the journal makes that harmless.
            tracing::warn!(error = %e, "could not acknowledge an event");
        }
    }

    /// Processes one delivery, telling JetStream every third of the ack wait that it is still being worked on
    /// (also while it waits for its turn in a burst).
    async fn keep_alive(
        &self,
        message: &jetstream::Message,
        attempt: Attempt,
    ) -> Result<Processed, ProcessError> {
        let received = received(message);
        let work = async {
            let _turn = self.pressure.admit().await;
            self.process(&message.payload, None, attempt, received.as_ref())
                .await
        };
        tokio::pin!(work);
        let period = (self.ack_wait / 3).max(Duration::from_millis(100));
        let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
        loop {
            tokio::select! {
                result = &mut work => return result,
                _ = tick.tick() => {
                    if let Err(e) = message.ack_with(AckKind::Progress).await {
                        tracing::debug!(error = %e, "could not extend an event's ack wait");
                    }
                }
            }
        }
    }

    /// Maps one stored event to what it reports and settles it against its order. `force` (replay only)
    /// appends a suffix to the outcome ids and publishes past the order's history, so consumers see it again.
    /// An event whose order is known is then recorded in the order's trail, with `received`.
    pub async fn process(
        &self,
        payload: &[u8],
        force: Option<&str>,
        attempt: Attempt,
        received: Option<&Received>,
    ) -> Result<Processed, ProcessError> {
        let event = match event::parse(payload) {
            Ok(event) => event,
            Err(e) => return Ok(Processed::Ignored(Unused::Unusable(e.to_string()))),
        };
        // Both travel as NATS headers; the intake checks them, and an event stored otherwise is checked here.
        if !header_safe(&event.id) || !header_safe(&event.event_type) {
            return Ok(Processed::Ignored(Unused::Unusable(
                "the event id or type cannot be carried in a NATS header".into(),
            )));
        }
        if event.livemode.is_some_and(|live| live != self.live) {
            let mode = |live| if live { "live" } else { "test" };
            return Ok(Processed::Ignored(Unused::Unusable(format!(
                "a {} event, and STRIPE_SECRET is a {} key: test and live never mix",
                mode(!self.live),
                mode(self.live)
            ))));
        }
        // In the trace that created the session, when the event's metadata carries it (CONTRACT §10).
        let span = spans::processing(
            &event.id,
            &event.event_type,
            event.metadata(TRACEPARENT_KEY),
        );
        self.decide(&event, force, attempt, received)
            .instrument(span)
            .await
    }

    async fn decide(
        &self,
        event: &Event,
        force: Option<&str>,
        attempt: Attempt,
        received: Option<&Received>,
    ) -> Result<Processed, ProcessError> {
        let report = match outcome::plan(event) {
            Plan::Ignore(unused) => {
                let session = event.event_type.starts_with("checkout.session.");
                let order = outcome::order_id(event, session);
                self.record(order.as_deref(), event, received, Vec::new())
                    .await?;
                return Ok(Processed::Ignored(unused));
            }
            Plan::Report(report) => *report,
        };
        let report = match self.resolve(report, event).await? {
            Ok(report) => report,
            Err(unusable) => return Ok(Processed::Ignored(unusable)),
        };
        let order_id = report.order_id.clone();
        let settled = match force {
            Some(suffix) => self.force(event, report, suffix).await?,
            None => self.settle(event, report, attempt).await?,
        };
        self.record(order_id.as_deref(), event, received, settled.sent)
            .await?;
        Ok(settled.processed)
    }

    /// Records the event in its order's trail, with what it published: one write, after its outcomes. Should it
    /// fail, the event is processed again, and the journal still knows what it published.
    async fn record(
        &self,
        order_id: Option<&str>,
        event: &Event,
        received: Option<&Received>,
        sent: Vec<Sent>,
    ) -> Result<(), Error> {
        match (order_id, received) {
            (Some(order_id), Some(received)) if !order_id.is_empty() => {
                Ok(self.trail.event(order_id, event, received, sent).await?)
            }
            _ => Ok(()),
        }
    }
}

fn result_label(result: &Result<Processed, ProcessError>) -> &'static str {
    match result {
        Ok(Processed::Published(_)) => "published",
        Ok(Processed::Duplicate(_)) => "duplicate",
        Ok(Processed::Superseded(_)) => "superseded",
        Ok(Processed::Ignored(Unused::Unusable(_))) => "unusable",
        Ok(Processed::Ignored(_)) => "ignored",
        Err(_) => "retried",
    }
}

/// When and from where the event entered the events stream (`None` if the message has no JetStream info).
pub fn received(message: &jetstream::Message) -> Option<Received> {
    let info = message.info().ok()?;
    Some(Received {
        at: info.published.into(),
        source: Source::of(message.headers.as_ref()).as_str(),
    })
}

fn event_id(message: &jetstream::Message) -> String {
    message
        .headers
        .as_ref()
        .and_then(|h| h.get(NATS_MESSAGE_ID))
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// 1 s, 2 s, 4 s … capped at 5 minutes, by JetStream's delivery count.
pub fn backoff(delivered: i64) -> Duration {
    const BACKOFF: Backoff = Backoff::new(Duration::from_secs(1), Duration::from_secs(300));
    BACKOFF.after(u32::try_from(delivered.max(0)).unwrap_or(u32::MAX))
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), Duration::from_secs(1));
        assert_eq!(backoff(2), Duration::from_secs(2));
        assert_eq!(backoff(4), Duration::from_secs(8));
        assert_eq!(backoff(40), Duration::from_secs(300));
        assert_eq!(backoff(0), Duration::from_secs(1));
    }
}
