//! Nothing acknowledged is lost: NATS outages answer 503 (Stripe retries), and a service killed with SIGKILL
//! while a sender posts thousands of events loses none and duplicates none.

use std::{
    collections::BTreeMap,
    sync::{
        atomic::{AtomicUsize, Ordering},
        Arc,
    },
    time::Duration,
};

use futures::StreamExt;
use stripe_standin::StandIn;
use testkit::NatsServer;
use tokio::sync::Notify;

use crate::support::{
    self, await_until, events::Payment, stream_len, wait_ready_status, Replica, TestApp,
};

#[tokio::test]
async fn nats_down_is_503_and_the_redelivered_event_is_published_once() {
    let mut app = TestApp::spawn().await;
    let payment = Payment::new("outage");
    let event = payment.charge_succeeded();

    app.nats.stop();
    wait_ready_status(&app.base, 503, Duration::from_secs(10)).await;
    let response = app.post_event(&event).await;
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["status"], 503);

    app.nats.start_again();
    app.wait_ready().await;
    assert_eq!(
        app.post_event(&event).await.status(),
        200,
        "Stripe's redelivery is accepted"
    );
    app.wait_pipeline_idle().await;
    let published = app.payments().await;
    assert_eq!(published.len(), 1);
    assert_eq!(published[0].body, payment.succeeded_body());
}

const EVENTS: usize = 3000;
const SENDERS: usize = 24;

fn spawn_service(nats: &NatsServer, standin: &StandIn, port: u16) -> std::process::Child {
    support::spawn_binary(nats, standin, port, &[("PIPELINE_ACK_WAIT", "2s")])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_loses_and_duplicates_nothing() {
    let nats = NatsServer::start();
    let standin = StandIn::with_api_key(support::STRIPE_SECRET).await;
    let port = support::free_port();
    let mut service = spawn_service(&nats, &standin, port);
    let url = format!("http://127.0.0.1:{port}/payments/webhook");

    let accepted = Arc::new(AtomicUsize::new(0));
    let resent = Arc::new(AtomicUsize::new(0));
    let third_accepted = Arc::new(Notify::new());
    let http = reqwest::Client::new();
    // Like Stripe: every event is sent until it gets a 2xx; refusals and dropped connections are retried.
    let sender = futures::stream::iter(0..EVENTS)
        .map({
            let (accepted, resent, third_accepted, url) = (
                accepted.clone(),
                resent.clone(),
                third_accepted.clone(),
                url.clone(),
            );
            move |i| {
                let (http, url, accepted, resent, notify) = (
                    http.clone(),
                    url.clone(),
                    accepted.clone(),
                    resent.clone(),
                    third_accepted.clone(),
                );
                async move {
                    let event = Payment::new(&format!("k{i}")).charge_succeeded();
                    loop {
                        let signature = support::sign_now(support::ENDPOINT_SECRET, &event);
                        let sent = http
                            .post(&url)
                            .header("stripe-signature", signature)
                            .body(event.clone())
                            .send()
                            .await;
                        if sent.is_ok_and(|r| r.status().is_success()) {
                            if accepted.fetch_add(1, Ordering::SeqCst) + 1 == EVENTS / 3 {
                                notify.notify_one();
                            }
                            return;
                        }
                        resent.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await; // Stripe's retry backoff, shortened
                    }
                }
            }
        })
        .buffer_unordered(SENDERS)
        .collect::<Vec<()>>();
    let sender = tokio::spawn(sender);

    third_accepted.notified().await;
    service.kill().expect("SIGKILL"); // Child::kill sends SIGKILL
    service.wait().unwrap();
    let at_kill = accepted.load(Ordering::SeqCst);
    let mut service = spawn_service(&nats, &standin, port);

    tokio::time::timeout(Duration::from_secs(120), sender)
        .await
        .expect("all events accepted")
        .unwrap();
    assert!(
        resent.load(Ordering::Relaxed) > 0,
        "the kill interrupted deliveries (at {at_kill} accepted)"
    );

    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    wait_published(&js, EVENTS).await;
    let published = support::read_stream(&js, "PAYMENTS").await;
    let mut per_order: BTreeMap<String, usize> = BTreeMap::new();
    for message in &published {
        *per_order
            .entry(message.body["orderId"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    let missing = (0..EVENTS)
        .filter(|i| !per_order.contains_key(&format!("order-k{i}")))
        .count();
    let duplicated = per_order.values().filter(|&&n| n > 1).count();
    assert_eq!((missing, duplicated, published.len()), (0, 0, EVENTS));
    service.kill().unwrap();
    service.wait().unwrap();
}

/// Waits until `PAYMENTS` holds `n` messages.
async fn wait_published(js: &async_nats::jetstream::Context, n: usize) {
    await_until(
        format!("{n} outcomes published"),
        Duration::from_secs(60),
        || stream_len(js, "PAYMENTS"),
        |published| *published >= n as u64,
    )
    .await;
}

#[tokio::test]
async fn starts_and_serves_health_while_nats_is_down_then_becomes_ready() {
    let mut nats = NatsServer::start();
    nats.stop(); // the port is known, nothing listens on it
    let standin = StandIn::with_api_key(support::STRIPE_SECRET).await;
    let replica = Replica::with_config(support::config(&nats, &standin, &[])).await; // starts without NATS
    let base = replica.base.clone();
    let http = reqwest::Client::new();
    for (path, status) in [("/health", 200), ("/ready", 503)] {
        let answer = http.get(format!("{base}{path}")).send().await.unwrap();
        assert_eq!(answer.status(), status, "{path}");
    }
    let event = Payment::new("early").charge_succeeded();
    let signature = support::sign_now(support::ENDPOINT_SECRET, &event);
    let early = support::post_signed_at(&http, &base, &event, &signature).await;
    assert_eq!(early.unwrap().status(), 503, "nothing can be stored yet");

    nats.start_again();
    wait_ready_status(&base, 200, Duration::from_secs(30)).await;
    replica.stop().await;
}
