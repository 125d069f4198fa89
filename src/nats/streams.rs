//! The JetStream streams and bucket this service owns, created or updated at start-up:
//! - the events stream (`STRIPE_EVENTS`): every verified Stripe event, kept for audit and replay, de-duplicated
//!   by Stripe event id; it is also the inbox the pipeline reads;
//! - `PAYMENTS` (`payment.>`): the published outcomes, de-duplicated by outcome id;
//! - the `payment_outcomes` key-value bucket: which outcomes were already published (the ledger);
//! - the `payment_callbacks` bucket (callback targets) and the `PAYMENT_CALLBACKS` work queue (attempts);
//! - the `payment_idempotency` bucket: which request claimed each caller's `Idempotency-Key`;
//! - `PAYMENT_TRAIL` (`payments.trail.>`): each payment's story for `payments inspect` (`crate::trail`).
//!
//! Each has a byte limit (`EVENTS_MAX_BYTES`, `PAYMENTS_MAX_BYTES`, `CALLBACKS_MAX_BYTES`, `KV_MAX_BYTES`; the
//! trail has `PAYMENTS_MAX_BYTES` too).

use std::time::{Duration, Instant};

use async_nats::jetstream::{self, kv, stream};

use super::provision::{self, SetupError};
use crate::config::Config;

pub const PAYMENTS_STREAM: &str = "PAYMENTS";
/// Each payment's story, for `payments inspect` (`crate::trail`).
pub const TRAIL_STREAM: &str = "PAYMENT_TRAIL";
pub const TRAIL_PREFIX: &str = "payments.trail";
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
/// Idempotency keys of create requests and the fingerprint of the request that claimed each (CONTRACT §2).
pub const IDEMPOTENCY_BUCKET: &str = "payment_idempotency";
/// A claim lives at least as long as Stripe's own idempotency keys (24 h).
const IDEMPOTENCY_MIN_AGE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// The key-value buckets, once created.
#[derive(Clone)]
pub struct Stores {
    pub ledger: kv::Store,
    pub callbacks: kv::Store,
    pub idempotency: kv::Store,
}

/// How long one `ensure` keeps retrying before it reports the failure (the service then starts it again).
pub const SETUP_WITHIN: Duration = Duration::from_secs(30);

/// Creates what is missing and updates what differs, every stream and bucket at once; safe to run from any
/// number of replicas at the same moment (see `provision`). Returns the buckets opened on `js`.
pub async fn ensure(js: &jetstream::Context, config: &Config) -> Result<Stores, SetupError> {
    let deadline = Instant::now() + SETUP_WITHIN;
    provision::wait_for_jetstream(js, SETUP_WITHIN).await?;
    let limits = &config.limits;
    let events = format!("{EVENTS_SUBJECT_PREFIX}.>");
    let audit = "Verified Stripe webhook events: audit trail and pipeline inbox";
    let outcomes = "Payment outcomes published by the payments service";
    let attempts = "Callback deliveries waiting for their next attempt (work queue)";
    let ledger = "Outcomes already published (payment.* de-duplication ledger)";
    let targets = "Callback targets of sessions, by callback id";
    // One line per stream or bucket, all set up concurrently.
    // As long as the callback targets it protects (and never under 24 h).
    let claims =
        "Idempotency keys of create requests: the fingerprint of the request that claimed each";
    let claims = kv::Config {
        max_age: config.events_retention.max(IDEMPOTENCY_MIN_AGE),
        ..bucket(config, IDEMPOTENCY_BUCKET, claims)
    };
    let ((), (), (), (), ledger, callbacks, idempotency) = tokio::try_join!(
        provision::stream(
            js,
            durable_stream(config, &config.events_stream, audit, &events, limits.events),
            deadline,
        ),
        provision::stream(
            js,
            durable_stream(
                config,
                PAYMENTS_STREAM,
                outcomes,
                PAYMENTS_SUBJECTS,
                limits.payments
            ),
            deadline,
        ),
        provision::stream(
            js,
            stream::Config {
                retention: stream::RetentionPolicy::WorkQueue,
                ..durable_stream(
                    config,
                    CALLBACKS_STREAM,
                    attempts,
                    CALLBACKS_SUBJECT,
                    limits.callbacks
                )
            },
            deadline,
        ),
        provision::stream(js, trail_stream(config), deadline),
        provision::bucket(js, bucket(config, OUTCOMES_BUCKET, ledger), deadline),
        provision::bucket(js, bucket(config, CALLBACKS_BUCKET, targets), deadline),
        provision::bucket(js, claims, deadline),
    )?;
    // Ready means a webhook can be stored through this replica's server. (Only the events stream is probed: the
    // probe is also seen by core subscribers of its subject, and nobody but JetStream listens on these; outcomes
    // that find `PAYMENTS` not yet reachable are retried by the pipeline.)
    provision::reachable(js, event_subject("payments.probe"), deadline).await?;
    Ok(Stores {
        ledger,
        callbacks,
        idempotency,
    })
}

/// File storage, the configured replicas, retention and byte limit, and de-duplication over `DEDUP_WINDOW`.
/// A full stream refuses new messages (discard `new`): the writer sees a failure and retries, while discarding
/// old messages would silently drop events not yet processed.
fn durable_stream(
    config: &Config,
    name: &str,
    description: &str,
    subjects: &str,
    max_bytes: i64,
) -> stream::Config {
    stream::Config {
        name: name.to_owned(),
        description: Some(description.to_owned()),
        subjects: vec![subjects.to_owned()],
        max_age: config.events_retention,
        max_bytes,
        discard: stream::DiscardPolicy::New,
        duplicate_window: config.dedup_window,
        storage: stream::StorageType::File,
        num_replicas: config.stream_replicas,
        ..Default::default()
    }
}

/// The payment trail: what `payments inspect` reads. Unlike the other streams it drops its oldest entries when
/// full (a trail must never stop a payment), de-duplicates only over a short window (callback attempts; event
/// records carry no id, and `inspect` drops repeats itself), and answers direct gets.
fn trail_stream(config: &Config) -> stream::Config {
    let subjects = format!("{TRAIL_PREFIX}.>");
    let what = "Each payment's events, published outcomes and callback attempts (payments inspect)";
    stream::Config {
        discard: stream::DiscardPolicy::Old,
        duplicate_window: config.dedup_window.min(TRAIL_DEDUP_WINDOW),
        allow_direct: true,
        ..durable_stream(
            config,
            TRAIL_STREAM,
            what,
            &subjects,
            config.limits.payments,
        )
    }
}

/// A trail write is retried within minutes (`PIPELINE_RETRY_MAX`): de-duplication needs no longer.
const TRAIL_DEDUP_WINDOW: Duration = Duration::from_secs(10 * 60);

/// A key-value bucket keeping the latest value only, for the retention period, within `KV_MAX_BYTES` (buckets
/// always refuse writes when full).
pub fn bucket(config: &Config, name: &str, description: &str) -> kv::Config {
    kv::Config {
        bucket: name.to_owned(),
        description: description.to_owned(),
        history: 1,
        max_age: config.events_retention,
        max_bytes: config.limits.kv,
        storage: stream::StorageType::File,
        num_replicas: config.stream_replicas,
        ..Default::default()
    }
}

/// The subject a verified event is stored under. Event types are dotted words (`charge.succeeded`); anything
/// else is folded to `_` so a strange type cannot produce an invalid or wildcard subject.
pub fn event_subject(event_type: &str) -> String {
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-';
    // Every real Stripe type takes this path: one allocation, once per webhook.
    if !event_type.is_empty()
        && event_type.chars().all(allowed)
        && event_type.split('.').all(|part| !part.is_empty())
    {
        return format!("{EVENTS_SUBJECT_PREFIX}.{event_type}");
    }
    let clean: String = event_type
        .chars()
        .map(|c| if allowed(c) { c } else { '_' })
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
