//! CONTRACT §9: every JetStream stream and key-value bucket the service creates has a byte limit, configurable
//! (`EVENTS_MAX_BYTES`, `PAYMENTS_MAX_BYTES`, `CALLBACKS_MAX_BYTES`, `KV_MAX_BYTES`); a restart with other limits
//! updates them without undoing an operator's own settings; a full stream refuses new events (503, Stripe sends
//! them again) rather than growing or dropping stored ones.

use async_nats::jetstream::{self, stream::DiscardPolicy};
use futures::TryStreamExt;

use crate::support::{self, events::Payment, Replica, TestApp};

const MIB: i64 = 1 << 20;

/// `(max_bytes, discard)` of each stream on the server, by name.
async fn limits(js: &jetstream::Context) -> Vec<(String, i64, DiscardPolicy)> {
    let mut all: Vec<_> = js
        .streams()
        .map_ok(|info| (info.config.name, info.config.max_bytes, info.config.discard))
        .try_collect()
        .await
        .expect("stream list");
    all.sort_by(|a, b| a.0.cmp(&b.0));
    all
}

fn limit_of(all: &[(String, i64, DiscardPolicy)], name: &str) -> i64 {
    all.iter()
        .find(|(n, ..)| n == name)
        .unwrap_or_else(|| panic!("stream {name} exists: {all:?}"))
        .1
}

#[tokio::test]
async fn every_stream_and_bucket_carries_its_configured_limit() {
    let app = TestApp::spawn_with(&[
        ("EVENTS_MAX_BYTES", "64MiB"),
        ("PAYMENTS_MAX_BYTES", "32MiB"),
        ("CALLBACKS_MAX_BYTES", "16MiB"),
        ("KV_MAX_BYTES", "8MiB"),
    ])
    .await;
    let all = limits(&app.js).await;
    assert_eq!(limit_of(&all, "STRIPE_EVENTS"), 64 * MIB);
    assert_eq!(limit_of(&all, "PAYMENTS"), 32 * MIB);
    assert_eq!(limit_of(&all, "PAYMENT_CALLBACKS"), 16 * MIB);
    assert_eq!(limit_of(&all, "KV_payment_outcomes"), 8 * MIB);
    assert_eq!(limit_of(&all, "KV_payment_callbacks"), 8 * MIB);
    // Whatever else the service creates (a bucket added later) is bounded too, and refuses when full.
    for (name, max_bytes, discard) in &all {
        assert!(*max_bytes > 0, "{name} has no byte limit");
        assert_eq!(*discard, DiscardPolicy::New, "{name} discards old data");
    }
}

#[tokio::test]
async fn a_restart_with_other_limits_updates_them_and_keeps_an_operators_settings() {
    // The harness's limits (small: NATS reserves them on disk; the defaults are checked in the config tests).
    let app = TestApp::spawn().await;
    let all = limits(&app.js).await;
    assert_eq!(limit_of(&all, "STRIPE_EVENTS"), 256 * MIB);
    assert_eq!(limit_of(&all, "PAYMENTS"), 64 * MIB);
    assert_eq!(limit_of(&all, "PAYMENT_CALLBACKS"), 16 * MIB);
    assert_eq!(limit_of(&all, "KV_payment_outcomes"), 32 * MIB);

    // An operator caps the outcome stream's message count by hand.
    let mut payments = app.js.get_stream("PAYMENTS").await.expect("PAYMENTS");
    let mut config = payments.info().await.expect("info").config.clone();
    config.max_messages = 1_000_000;
    app.js
        .update_stream(config)
        .await
        .expect("operator's update");

    let replica = Replica::start(
        &app,
        &[("PAYMENTS_MAX_BYTES", "128MiB"), ("KV_MAX_BYTES", "48MiB")],
    )
    .await;
    support::wait_ready_at(&replica.base).await;
    let mut payments = app.js.get_stream("PAYMENTS").await.expect("PAYMENTS");
    let config = payments.info().await.expect("info").config.clone();
    assert_eq!(config.max_bytes, 128 * MIB, "updated");
    assert_eq!(
        config.max_messages, 1_000_000,
        "the operator's setting is kept"
    );
    let all = limits(&app.js).await;
    assert_eq!(limit_of(&all, "KV_payment_outcomes"), 48 * MIB, "updated");
    assert_eq!(limit_of(&all, "KV_payment_callbacks"), 48 * MIB, "updated");
    assert_eq!(limit_of(&all, "STRIPE_EVENTS"), 256 * MIB, "unchanged");
    replica.stop().await;
}

#[tokio::test]
async fn a_full_events_stream_refuses_new_webhooks_and_keeps_the_stored_ones() {
    let app = TestApp::spawn_with(&[("EVENTS_MAX_BYTES", "1MiB")]).await;
    // Each event is ~3 KB: the stream is full after a few hundred.
    let mut accepted = 0;
    let mut refused = None;
    for n in 0..2_000 {
        let payment = Payment::new(&format!("full{n}"));
        let response = app.post_event(&payment.charge_succeeded()).await;
        match response.status().as_u16() {
            200 => accepted += 1,
            status => {
                refused = Some(status);
                break;
            }
        }
    }
    assert_eq!(
        refused,
        Some(503),
        "a full stream answers 503 (after {accepted} accepted)"
    );
    assert!(accepted > 100, "only {accepted} events fitted in 1 MiB");
    let mut events = app.js.get_stream("STRIPE_EVENTS").await.expect("stream");
    let state = events.info().await.expect("info").state.clone();
    assert_eq!(
        state.messages, accepted,
        "every accepted event is still stored"
    );
    assert!(state.bytes <= MIB as u64, "{} bytes stored", state.bytes);
}
