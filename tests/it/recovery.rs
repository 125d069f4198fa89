//! Recovery at the edges (CONTRACT §5): events a killed replica had taken are published by another within 10 s;
//! a publish that fails gives its claim back at once, so `payments replay` works the moment the cause is fixed;
//! transient failures are retried for as long as it takes, never given up after a number of tries.

use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::Duration,
};

use async_nats::jetstream::stream::DiscardPolicy;
use futures::StreamExt;

use crate::support::{self, await_until, events::Payment, Published, Replica, TestApp};

/// The orders of `published` missing from `accepted`, and whether any was published twice.
fn unpublished(accepted: &BTreeSet<String>, published: &[Published]) -> (usize, bool) {
    let orders: BTreeSet<&str> = published
        .iter()
        .filter_map(|p| p.body["orderId"].as_str())
        .collect();
    let missing = accepted
        .iter()
        .filter(|o| !orders.contains(o.as_str()))
        .count();
    (missing, orders.len() != published.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_a_killed_replica_had_taken_are_published_within_10_seconds() {
    // Replica B runs in this process with the default PIPELINE_ACK_WAIT; replica A is a process we kill.
    let app = TestApp::spawn_with(&[("PIPELINE_ACK_WAIT", "5s")]).await;
    let port = support::free_port();
    let mut killed = support::spawn_binary(&app.nats, &app.standin, port, &[]);
    let url = format!("http://127.0.0.1:{port}/payments/webhook");
    support::wait_ready_at(&format!("http://127.0.0.1:{port}")).await;

    // Webhooks to A only, many at once, until A has acknowledged a few hundred; then SIGKILL.
    let accepted = Arc::new(Mutex::new(BTreeSet::new()));
    let http = reqwest::Client::new();
    let sending = (http.clone(), url.clone(), accepted.clone());
    let sender = futures::stream::iter(0..2000)
        .map(move |i| {
            let (http, url, accepted) = (sending.0.clone(), sending.1.clone(), sending.2.clone());
            async move {
                let payment = Payment::new(&format!("inflight{i}"));
                let event = payment.charge_succeeded();
                let sent = http
                    .post(&url)
                    .header(
                        "stripe-signature",
                        support::sign_now(support::ENDPOINT_SECRET, &event),
                    )
                    .body(event)
                    .send()
                    .await;
                if sent.is_ok_and(|r| r.status() == 200) {
                    accepted.lock().unwrap().insert(payment.order);
                }
            }
        })
        .buffer_unordered(32)
        .collect::<Vec<()>>();
    let sender = tokio::spawn(sender);
    await_until(
        "A acknowledged 300",
        Duration::from_secs(60),
        || async { accepted.lock().unwrap().len() },
        |n| *n >= 300,
    )
    .await;
    killed.kill().expect("SIGKILL");
    let killed_at = tokio::time::Instant::now();
    killed.wait().unwrap();
    let _ = sender.await;
    let accepted = accepted.lock().unwrap().clone();

    // The 10 s count from the kill; the wait of the senders above is part of them.
    let published = await_until(
        format!(
            "all {} acknowledged events published 10 s after the kill",
            accepted.len()
        ),
        Duration::from_secs(10).saturating_sub(killed_at.elapsed()),
        || app.payments(),
        |published| unpublished(&accepted, published).0 == 0,
    )
    .await;
    let (_, twice) = unpublished(&accepted, &published);
    assert!(!twice, "nothing published twice");
}

#[tokio::test]
async fn a_refused_publish_leaves_no_claim_and_replay_publishes_at_once() {
    // Its own process: the backlog gauge read below is per process.
    let mut app = TestApp::spawn_process(&[]).await;
    let first = Payment::new("before-outage");
    app.post_event(&first.charge_succeeded()).await;
    app.wait_pipeline_idle().await;

    // PAYMENTS refuses new messages: full at its current count, discarding new ones.
    let mut stream = app.js.get_stream("PAYMENTS").await.unwrap();
    let mut config = stream.info().await.unwrap().config.clone();
    let restored = config.clone();
    config.max_messages = 1;
    config.discard = DiscardPolicy::New;
    app.js.update_stream(&config).await.unwrap();

    let payment = Payment::new("refused");
    assert_eq!(
        app.post_event(&payment.charge_succeeded()).await.status(),
        200
    );
    await_until(
        "a refused publish",
        Duration::from_secs(10),
        || app.metrics(),
        |text| text.contains(r#"payments_jetstream_publish_failures_total{stream="PAYMENTS"}"#),
    )
    .await;
    await_until(
        "the backlog gauge",
        Duration::from_secs(10),
        || app.metrics(),
        |text| text.contains("payments_pipeline_pending 1"),
    )
    .await;
    app.stop().await;
    app.js.update_stream(&restored).await.unwrap();

    let event_id = format!("evt_ch_{}", payment.charge);
    let (code, out) = support::run_cli(&app, &["replay", "--event", &event_id], &[]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains(&format!("published succeeded.{}", payment.intent)),
        "{out}"
    );

    // Started again, the service gets the event it had been retrying: already published.
    let again = Replica::start(&app, &[]).await;
    app.wait_pipeline_idle().await;
    let published = app.payments().await;
    let mine: Vec<_> = published
        .iter()
        .filter(|p| p.body["orderId"] == payment.order.as_str())
        .collect();
    assert_eq!(mine.len(), 1, "{published:#?}");
    assert_eq!(mine[0].body, payment.succeeded_body());
    again.stop().await;
}

#[tokio::test]
async fn a_long_stripe_outage_is_waited_out_not_given_up_on() {
    // Retries 50 ms apart, so 60 failed tries (past the 50 deliveries earlier versions gave up after) take seconds.
    let app = TestApp::spawn_with(&[("PIPELINE_RETRY_MAX", "50ms")]).await;
    let payment = Payment::new("long-outage");
    payment.register(&app.standin);
    app.standin
        .inject(stripe_standin::Fault::server_error(), 60);
    let completed = payment.session_event("checkout.session.completed", true);
    assert_eq!(app.post_event(&completed).await.status(), 200);
    await_until(
        "published after the outage",
        Duration::from_secs(60),
        || app.payments(),
        |published| !published.is_empty(),
    )
    .await;
    let lookups = app.stripe_requests("/v1/payment_intents/");
    assert!(lookups > 60, "{lookups} tries");
    let published = app.payments().await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].body, payment.succeeded_body());
}

#[tokio::test]
async fn a_long_nats_failure_is_waited_out_not_given_up_on() {
    // PAYMENTS refuses every publish for more tries than the 50 deliveries earlier versions gave up after. Its own
    // process: the refusals are counted per process, and no other test's may count here.
    let app = TestApp::spawn_process(&[("PIPELINE_RETRY_MAX", "50ms")]).await;
    let first = Payment::new("before-refusal");
    app.post_event(&first.charge_succeeded()).await;
    app.wait_pipeline_idle().await;
    let mut stream = app.js.get_stream("PAYMENTS").await.unwrap();
    let restored = stream.info().await.unwrap().config.clone();
    let full = async_nats::jetstream::stream::Config {
        max_messages: 1,
        discard: DiscardPolicy::New,
        ..restored.clone()
    };
    app.js.update_stream(&full).await.unwrap();

    let payment = Payment::new("nats-refusing");
    assert_eq!(
        app.post_event(&payment.charge_succeeded()).await.status(),
        200
    );
    let failures = |text: String| {
        text.lines()
            .find(|l| {
                l.starts_with(r#"payments_jetstream_publish_failures_total{stream="PAYMENTS"}"#)
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    await_until(
        "70 refused publishes",
        Duration::from_secs(60),
        || async { failures(app.metrics().await) },
        |n| *n >= 70.0,
    )
    .await;
    app.js.update_stream(&restored).await.unwrap();
    await_until(
        "published once PAYMENTS takes it",
        Duration::from_secs(20),
        || app.payments(),
        |published| published.len() == 2,
    )
    .await;
    app.wait_pipeline_idle().await;
    let published = app.payments().await;
    assert_eq!(published.len(), 2);
    assert_eq!(published[1].body, payment.succeeded_body());
}
