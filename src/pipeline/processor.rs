//! The processor: a durable pull consumer of the events stream, shared by all replicas. Each event is mapped to
//! its outcome, published to `PAYMENTS` through the ledger, and only then acknowledged; a failure (NATS or Stripe
//! unavailable) is retried with exponential backoff, and an authentic event that cannot be used is logged,
//! counted and acknowledged (it stays in the events stream for audit), never retried forever.

use std::time::Duration;

use async_nats::{
    header::NATS_MESSAGE_ID,
    jetstream::{self, consumer::pull, kv, AckKind},
    HeaderMap,
};
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::{
    ledger::{Claim, Ledger},
    pressure::Pressure,
};
use crate::{
    config::Config,
    error::Error,
    metrics,
    nats::{consumer::run_durable, streams::PIPELINE_CONSUMER},
    payment::outcome::{self, ChargeLookup, Message, Outcome, Plan, Unused},
    stripe::{client::StripeApi, event::StripeEvent},
};

/// Events processed at once by one replica.
const CONCURRENCY: usize = 64;
/// After this many deliveries a failing event is left in the stream (for `replay`) and no longer retried.
const MAX_DELIVERIES: i64 = 50;

#[derive(Clone)]
pub struct Processor {
    pub js: jetstream::Context,
    pub ledger: Ledger,
    pub stripe: StripeApi,
    pub timeout: Duration,
    pub ack_wait: Duration,
    pub pressure: Pressure,
}

/// How one event ended; the outcome id where there is one.
#[derive(Debug, PartialEq)]
pub enum Processed {
    Published(String),
    Duplicate(String),
    Ignored(Unused),
}

impl Processor {
    pub fn new(
        config: &Config,
        js: jetstream::Context,
        ledger: kv::Store,
        stripe: StripeApi,
        pressure: Pressure,
    ) -> Self {
        Processor {
            js,
            // A claim outlives a normal publish (at most one JetStream timeout) with a wide margin.
            ledger: Ledger::new(ledger, config.jetstream_timeout * 3),
            stripe,
            timeout: config.jetstream_timeout,
            ack_wait: config.pipeline_ack_wait,
            pressure,
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
        let _turn = self.pressure.admit().await;
        let delivered = message.info().map(|i| i.delivered).unwrap_or(1);
        let result = self.process(&message.payload, None).await;
        let event_type = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Stripe-Event-Type"))
            .map_or_else(|| "unknown".to_owned(), |v| v.to_string());
        metrics::webhook_event(&event_type, result_label(&result, delivered));
        let ack = match &result {
            Ok(Processed::Ignored(Unused::Unusable(why))) => {
                let event_id = event_id(&message);
                tracing::warn!(%event_id, reason = %why, "authentic event cannot be used; kept for audit");
                AckKind::Ack
            }
            Ok(done) => {
                tracing::debug!(event_id = %event_id(&message), outcome = ?done, "event processed");
                AckKind::Ack
            }
            Err(e) if delivered >= MAX_DELIVERIES => {
                tracing::error!(event_id = %event_id(&message), error = %e, delivered, "giving up on event; replay it once fixed");
                AckKind::Term
            }
            Err(e) => {
                let delay = backoff(delivered);
                tracing::info!(event_id = %event_id(&message), error = %e, delivered, ?delay, "event will be retried");
                AckKind::Nak(Some(delay))
            }
        };
        if let Err(e) = message.ack_with(ack).await {
            // Not fatal: the event is redelivered after ack_wait, and the ledger makes that harmless.
            tracing::warn!(error = %e, "could not acknowledge an event");
        }
    }

    /// Maps one stored event to its outcome and publishes it once. `force` (replay only) appends a suffix to
    /// the outcome id, so the outcome is published again under a new id, past the ledger and JetStream dedup.
    pub async fn process(&self, payload: &[u8], force: Option<&str>) -> Result<Processed, Error> {
        let event = match StripeEvent::parse(payload) {
            Ok(event) => event,
            Err(e) => return Ok(Processed::Ignored(Unused::Unusable(e.to_string()))),
        };
        let forced = |id: String| match force {
            Some(suffix) => format!("{id}.{suffix}"),
            None => id,
        };
        let (id, message) = match outcome::plan(&event) {
            Plan::Ignore(unused) => return Ok(Processed::Ignored(unused)),
            Plan::Publish(Outcome { id, message }) => (forced(id), message),
            Plan::SucceededAfterLookup {
                outcome_id,
                order_id,
                lookup,
            } => {
                let outcome_id = forced(outcome_id);
                // Skip the Stripe call when another event of this payment already published it.
                if self.ledger.is_published(&outcome_id).await? {
                    return Ok(Processed::Duplicate(outcome_id));
                }
                match self.succeeded_after_lookup(order_id, lookup).await {
                    Ok(message) => (outcome_id, message),
                    // An event of another account or mode: no retry will find it.
                    Err(Error::StripeNotFound(why)) => {
                        return Ok(Processed::Ignored(Unused::Unusable(format!(
                            "{}: {why}",
                            event.event_type
                        ))))
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        match self.ledger.claim(&id).await? {
            Claim::AlreadyPublished => Ok(Processed::Duplicate(id)),
            Claim::Busy => Err(Error::Unavailable(
                "another worker is publishing this outcome".into(),
            )),
            Claim::Owned(revision) => {
                self.publish(&id, &message, &event).await?;
                // Before the ledger says "published": a crash in between re-runs both, and both de-duplicate.
                if let Some(callback_id) = event.metadata(crate::stripe::client::CALLBACK_KEY) {
                    crate::callback::enqueue(&self.js, callback_id, &id, &message).await?;
                }
                self.ledger.mark_published(&id, revision).await?;
                tracing::info!(event_id = %event.id, outcome = %id, subject = message.subject(), "outcome published");
                Ok(Processed::Published(id))
            }
        }
    }

    async fn succeeded_after_lookup(
        &self,
        order_id: String,
        lookup: ChargeLookup,
    ) -> Result<Message, Error> {
        let receipt = match lookup {
            ChargeLookup::LatestOf(intent) => self.stripe.latest_charge(&intent).await?,
            ChargeLookup::Charge(charge) => Some(self.stripe.charge(&charge).await?),
        };
        // A succeeded payment has a charge with a receipt; until Stripe shows it, try again later.
        let receipt = receipt
            .ok_or_else(|| Error::StripeUnavailable("the payment has no charge yet".into()))?;
        let receipt_url = receipt
            .receipt_url
            .ok_or_else(|| Error::StripeUnavailable("the charge has no receipt URL yet".into()))?;
        Ok(Message::Succeeded {
            stripe_payment_id: receipt.charge_id,
            order_id,
            receipt_url,
        })
    }

    async fn publish(&self, id: &str, message: &Message, event: &StripeEvent) -> Result<(), Error> {
        let mut headers = HeaderMap::new();
        headers.insert(NATS_MESSAGE_ID, id);
        headers.insert("Stripe-Event-Id", event.id.as_str());
        headers.insert("Stripe-Event-Type", event.event_type.as_str());
        let publish = async {
            self.js
                .publish_with_headers(message.subject(), headers, message.to_json().into())
                .await?
                .await
        };
        let started = std::time::Instant::now();
        let result = tokio::time::timeout(self.timeout, publish).await;
        metrics::jetstream_publish("PAYMENTS", matches!(result, Ok(Ok(_))), started);
        match result {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(Error::Unavailable(format!("publishing {id}: {e}"))),
            Err(_) => Err(Error::Unavailable(format!(
                "publishing {id}: no acknowledgement in time"
            ))),
        }
    }
}

fn result_label(result: &Result<Processed, Error>, delivered: i64) -> &'static str {
    match result {
        Ok(Processed::Published(_)) => "published",
        Ok(Processed::Duplicate(_)) => "duplicate",
        Ok(Processed::Ignored(Unused::Unusable(_))) => "unusable",
        Ok(Processed::Ignored(_)) => "ignored",
        Err(_) if delivered >= MAX_DELIVERIES => "failed",
        Err(_) => "retried",
    }
}

fn event_id(message: &jetstream::Message) -> String {
    message
        .headers
        .as_ref()
        .and_then(|h| h.get(NATS_MESSAGE_ID))
        .map(|v| v.to_string())
        .unwrap_or_default()
}

/// 1 s, 2 s, 4 s … capped at 5 minutes.
pub fn backoff(delivered: i64) -> Duration {
    let exponent = delivered.clamp(1, 20) as u32 - 1;
    Duration::from_secs(2_u64.saturating_pow(exponent).min(300))
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
