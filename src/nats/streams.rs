//! The JetStream streams and bucket this service owns, created or updated at start-up:
//! - the events stream (`STRIPE_EVENTS`): every verified Stripe event, kept for audit and replay, de-duplicated
//!   by Stripe event id; it is also the inbox the pipeline reads;
//! - `PAYMENTS` (`payment.>`): the published outcomes, de-duplicated by outcome id;
//! - the `payment_outcomes` key-value bucket: which outcomes were already published (the ledger);
//! - the `payment_callbacks` bucket (callback targets) and the `PAYMENT_CALLBACKS` work queue (attempts).

use async_nats::jetstream::{self, kv, stream};

use crate::config::Config;

pub const PAYMENTS_STREAM: &str = "PAYMENTS";
pub const PAYMENTS_SUBJECTS: &str = "payment.>";
/// Verified events are stored under `stripe.events.<event type>`.
pub const EVENTS_SUBJECT_PREFIX: &str = "stripe.events";
pub const OUTCOMES_BUCKET: &str = "payment_outcomes";
/// The durable consumer of the events stream shared by all replicas.
pub const PIPELINE_CONSUMER: &str = "payments-pipeline";
pub const CALLBACKS_BUCKET: &str = "payment_callbacks";
pub const CALLBACKS_STREAM: &str = "PAYMENT_CALLBACKS";
pub const CALLBACKS_SUBJECT: &str = "payments.callbacks.deliver";
pub const CALLBACKS_CONSUMER: &str = "payments-callbacks";

/// The key-value buckets, once created.
#[derive(Clone)]
pub struct Stores {
    pub ledger: kv::Store,
    pub callbacks: kv::Store,
}

/// Creates or updates everything; safe to run from any number of replicas at once.
pub async fn ensure(js: &jetstream::Context, config: &Config) -> Result<Stores, async_nats::Error> {
    js.create_or_update_stream(stream::Config {
        name: config.events_stream.clone(),
        description: Some("Verified Stripe webhook events: audit trail and pipeline inbox".into()),
        subjects: vec![format!("{EVENTS_SUBJECT_PREFIX}.>")],
        max_age: config.events_retention,
        duplicate_window: config.dedup_window,
        storage: stream::StorageType::File,
        num_replicas: config.stream_replicas,
        ..Default::default()
    })
    .await?;
    js.create_or_update_stream(stream::Config {
        name: PAYMENTS_STREAM.into(),
        description: Some("Payment outcomes published by the payments service".into()),
        subjects: vec![PAYMENTS_SUBJECTS.into()],
        max_age: config.events_retention,
        duplicate_window: config.dedup_window,
        storage: stream::StorageType::File,
        num_replicas: config.stream_replicas,
        ..Default::default()
    })
    .await?;
    let ledger = js
        .create_or_update_key_value(kv::Config {
            bucket: OUTCOMES_BUCKET.into(),
            description: "Outcomes already published (payment.* de-duplication ledger)".into(),
            history: 1,
            max_age: config.events_retention,
            storage: stream::StorageType::File,
            num_replicas: config.stream_replicas,
            ..Default::default()
        })
        .await?;
    let callbacks = js
        .create_or_update_key_value(kv::Config {
            bucket: CALLBACKS_BUCKET.into(),
            description: "Callback targets of sessions, by callback id".into(),
            history: 1,
            max_age: config.events_retention,
            storage: stream::StorageType::File,
            num_replicas: config.stream_replicas,
            ..Default::default()
        })
        .await?;
    js.create_or_update_stream(stream::Config {
        name: CALLBACKS_STREAM.into(),
        description: Some("Callback deliveries waiting for their next attempt (work queue)".into()),
        subjects: vec![CALLBACKS_SUBJECT.into()],
        retention: stream::RetentionPolicy::WorkQueue,
        max_age: config.events_retention,
        duplicate_window: config.dedup_window,
        storage: stream::StorageType::File,
        num_replicas: config.stream_replicas,
        ..Default::default()
    })
    .await?;
    Ok(Stores { ledger, callbacks })
}

/// The subject a verified event is stored under. Event types are dotted words (`charge.succeeded`); anything
/// else is folded to `_` so a strange type cannot produce an invalid or wildcard subject.
pub fn event_subject(event_type: &str) -> String {
    let clean: String = event_type
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let parts: Vec<&str> = clean.split('.').filter(|p| !p.is_empty()).collect();
    if parts.is_empty() {
        format!("{EVENTS_SUBJECT_PREFIX}.unknown")
    } else {
        format!("{EVENTS_SUBJECT_PREFIX}.{}", parts.join("."))
    }
}

#[cfg(test)]
mod tests {
    use super::event_subject;

    #[test]
    fn event_types_become_safe_subjects() {
        assert_eq!(
            event_subject("charge.succeeded"),
            "stripe.events.charge.succeeded"
        );
        assert_eq!(event_subject("a.*.>"), "stripe.events.a._._");
        assert_eq!(event_subject("x..y"), "stripe.events.x.y");
        assert_eq!(event_subject(""), "stripe.events.unknown");
        assert_eq!(event_subject("a b"), "stripe.events.a_b");
    }
}
