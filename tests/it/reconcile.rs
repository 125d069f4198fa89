//! Reconciliation with Stripe (CONTRACT §8) against a real nats-server, the Stripe stand-in's `GET /v1/events` and
//! the real service: events only in Stripe's list are recovered once, by `payments reconcile` and by the background
//! run; recovered and delivered events publish once in either order and across replicas; the list is paginated;
//! 429 and 5xx are retried; an unreachable Stripe or NATS makes the CLI fail with the reason.

use std::time::{Duration, Instant};

use payments::reconcile::coordination::{Coordination, Lease};
use serde_json::Value;
use stripe_standin::ListFault;

use crate::support::{self, await_until, events::Payment, now, Published, Replica, TestApp};

/// A payment whose `charge.succeeded` happened now at "Stripe" (recorded by the stand-in, never delivered);
/// returns the event as Stripe lists it.
fn missed(app: &TestApp, payment: &Payment) -> Value {
    payment.register(&app.standin);
    let mut event: Value = serde_json::from_str(&payment.charge_succeeded()).unwrap();
    event["created"] = now().into();
    app.standin.record_events(vec![event.clone()]);
    event
}

async fn reconcile(app: &TestApp, args: &[&str], extra: &[(&str, &str)]) -> (i32, String) {
    let args: Vec<&str> = ["reconcile"]
        .into_iter()
        .chain(args.iter().copied())
        .collect();
    support::run_cli(app, &args, extra).await
}

/// Waits until `PAYMENTS` holds `n` messages; then every order in it must be there once.
async fn wait_payments(app: &TestApp, n: usize) -> Vec<Published> {
    let published = app.wait_payments(n).await;
    let mut orders: Vec<&str> = published
        .iter()
        .map(|p| p.body["orderId"].as_str().unwrap_or_default())
        .collect();
    orders.sort_unstable();
    let before = orders.len();
    orders.dedup();
    assert_eq!(
        before,
        orders.len(),
        "an order published twice: {published:#?}"
    );
    assert_eq!(published.len(), n, "{published:#?}");
    published
}

/// Two coordinators of the reconciliation on the test's NATS, as two replicas hold them.
async fn coordinators(app: &TestApp) -> (Coordination, Coordination) {
    let config = support::config(&app.nats, &app.standin, &[]);
    let open = || async { Coordination::open(&app.js, &config).await.unwrap() };
    (open().await, open().await)
}

/// Tries to take the lease now, by the server's clock.
async fn acquire(coordination: &Coordination) -> Option<Lease> {
    let now = coordination.server_now().await.unwrap();
    coordination.try_acquire(now).await.unwrap()
}

/// The headers and body of the stored event with this id, from the events stream.
async fn stored_event(app: &TestApp, event_id: &str) -> (async_nats::HeaderMap, Value) {
    let mut stream = app.js.get_stream("STRIPE_EVENTS").await.unwrap();
    let last = stream.info().await.unwrap().state.last_sequence;
    for seq in 1..=last {
        let Ok(message) = stream.get_raw_message(seq).await else {
            continue;
        };
        let headers = message.headers.clone();
        if headers.get("Nats-Msg-Id").map(|v| v.as_str()) == Some(event_id) {
            return (headers, serde_json::from_slice(&message.payload).unwrap());
        }
    }
    panic!("{event_id} is not in STRIPE_EVENTS");
}

fn list_calls(app: &TestApp) -> Vec<stripe_standin::RecordedRequest> {
    app.standin
        .requests()
        .into_iter()
        .filter(|r| r.path == "/v1/events")
        .collect()
}

#[tokio::test]
async fn the_cli_recovers_missed_events_once_whichever_comes_first() {
    let app = TestApp::spawn_with(&[("RECONCILE_INTERVAL", "off")]).await;
    let late = Payment::new("recovered-first");
    let listed = missed(&app, &late);

    let (code, out) = reconcile(&app, &["--since", "1h"], &[]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("listed 1, already known 0, recovered 1"),
        "{out}"
    );
    let published = wait_payments(&app, 1).await;
    assert_eq!(published[0].subject, "payment.succeeded");
    assert_eq!(published[0].body, late.succeeded_body());
    let (headers, body) = stored_event(&app, listed["id"].as_str().unwrap()).await;
    assert_eq!(
        headers.get("Payments-Source").map(|v| v.as_str()),
        Some("reconcile")
    );
    assert_eq!(body, listed, "stored as Stripe listed it");

    // The query: the service's types, a created range, Stripe's largest page.
    let call = &list_calls(&app)[0];
    let query = |key: &str| -> Vec<&str> {
        call.query
            .iter()
            .filter(|(k, _)| k.starts_with(key))
            .map(|(_, v)| v.as_str())
            .collect()
    };
    assert_eq!(query("types"), payments::reconcile::EVENT_TYPES);
    assert_eq!(query("limit"), ["100"]);
    assert_eq!(query("created[gte]").len(), 1, "{call:?}");

    // Listed again, then delivered by webhook after all: nothing more is published.
    let (code, out) = reconcile(&app, &["--since", "1h"], &[]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("listed 1, already known 1, recovered 0"),
        "{out}"
    );
    assert_eq!(app.post_event(&listed.to_string()).await.status(), 200);

    // Delivered first, then listed: known, published once.
    let delivered = Payment::new("delivered-first");
    let event = missed(&app, &delivered);
    assert_eq!(app.post_event(&event.to_string()).await.status(), 200);
    let (code, out) = reconcile(&app, &["--since", "1h", "--until", "0s"], &[]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("listed 2, already known 2, recovered 0"),
        "{out}"
    );
    app.wait_pipeline_idle().await;
    wait_payments(&app, 2).await;

    // Outside the range: not listed.
    let (code, out) = reconcile(&app, &["--since", "3h", "--until", "2h"], &[]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("listed 0, already known 0, recovered 0"),
        "{out}"
    );
    let (code, out) = reconcile(&app, &["--since", "1h", "--until", "2h"], &[]).await;
    assert_eq!(code, 2, "{out}");
}

#[tokio::test]
async fn the_background_run_recovers_once_across_two_replicas() {
    let nats = testkit::NatsServer::start();
    let standin = stripe_standin::StandIn::with_api_key(support::STRIPE_SECRET).await;
    let fast = [("RECONCILE_INTERVAL", "1s")];
    let mut app = TestApp::start_service(nats, standin, &fast).await;
    let before: Vec<Payment> = (0..3)
        .map(|i| Payment::new(&format!("background-{i}")))
        .collect();
    for payment in &before {
        missed(&app, payment);
    }
    let replica = Replica::start(&app, &fast).await;
    app.wait_ready().await;
    wait_payments(&app, 3).await;

    // Missed while both run.
    let later = Payment::new("background-later");
    missed(&app, &later);
    let published = wait_payments(&app, 4).await;
    assert!(published.iter().any(|p| p.body == later.succeeded_body()));

    let metrics = app.metrics().await;
    assert!(
        metrics.contains("payments_reconcile_last_success_timestamp_seconds"),
        "{metrics}"
    );
    assert!(
        metrics.contains("payments_reconcile_runs_total{result=\"ok\"}"),
        "{metrics}"
    );
    // Another second or two of runs by both replicas: still nothing twice.
    tokio::time::sleep(Duration::from_secs(2)).await;
    app.wait_pipeline_idle().await;
    wait_payments(&app, 4).await;
    let kv = app.js.get_key_value("payment_reconcile").await.unwrap();
    let checkpoint: Value =
        serde_json::from_slice(&kv.get("checkpoint").await.unwrap().expect("a checkpoint"))
            .unwrap();
    assert!(
        checkpoint["listed_until"].as_i64().unwrap() >= now() - 10,
        "{checkpoint}"
    );
    replica.stop().await;
    app.stop().await;
}

#[tokio::test]
async fn a_long_list_is_read_page_by_page() {
    let app = TestApp::spawn_with(&[("RECONCILE_INTERVAL", "off")]).await;
    let payments: Vec<Payment> = (0..250)
        .map(|i| Payment::new(&format!("paged-{i}")))
        .collect();
    for payment in &payments {
        missed(&app, payment);
    }
    let (code, out) = reconcile(&app, &["--since", "1h"], &[]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("listed 250, already known 0, recovered 250"),
        "{out}"
    );
    let calls = list_calls(&app);
    assert_eq!(calls.len(), 3, "{calls:#?}");
    assert!(calls[0].query.iter().all(|(k, _)| k != "starting_after"));
    for call in &calls[1..] {
        assert!(
            call.query.iter().any(|(k, _)| k == "starting_after"),
            "{call:?}"
        );
    }
    wait_payments(&app, 250).await;
}

#[tokio::test]
async fn rate_limits_and_server_errors_are_retried() {
    let app = TestApp::spawn_with(&[("RECONCILE_INTERVAL", "off")]).await;
    missed(&app, &Payment::new("retried"));
    app.standin.fail_event_lists(ListFault::RateLimited, 1);
    app.standin.fail_event_lists(ListFault::ServerError, 2);
    let started = Instant::now();
    let (code, out) = reconcile(&app, &["--since", "1h"], &[]).await;
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("listed 1, already known 0, recovered 1"),
        "{out}"
    );
    assert_eq!(list_calls(&app).len(), 4);
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "Retry-After: 1 was honoured"
    );
    wait_payments(&app, 1).await;

    // Bounded: a Stripe that keeps failing ends the run with the reason.
    app.standin.fail_event_lists(ListFault::ServerError, 6);
    let (code, out) = reconcile(&app, &["--since", "1h"], &[]).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Stripe kept answering HTTP 500 after 6 attempts"),
        "{out}"
    );
}

#[tokio::test]
async fn an_unreachable_stripe_or_nats_fails_with_the_reason() {
    let app = TestApp::spawn_with(&[("RECONCILE_INTERVAL", "off")]).await;
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let stripe = format!("http://127.0.0.1:{closed}");
    let nats = format!("nats://127.0.0.1:{closed}");

    let (code, out) = reconcile(&app, &["--since", "1h"], &[("STRIPE_API_BASE", &stripe)]).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Stripe could not be reached after 6 attempts"),
        "{out}"
    );

    // NATS unreachable, like every command: exit 2 at once, naming the server and the cause.
    let (code, out) = reconcile(&app, &["--since", "1h"], &[("NATS_SERVERS", &nats)]).await;
    assert_eq!(code, 2, "{out}");
    let named = format!("cannot connect to NATS at 127.0.0.1:{closed}: IO error");
    assert!(out.contains(&named), "{out}");

    let wrong_key = "sk_test_not_the_right_key_123";
    let (code, out) = reconcile(&app, &["--since", "1h"], &[("STRIPE_SECRET", wrong_key)]).await;
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("Stripe refused to list events (HTTP 401)"),
        "{out}"
    );
    assert!(!out.contains(wrong_key), "no secret in the output: {out}");
}

#[tokio::test]
async fn one_replica_at_a_time_holds_the_lease() {
    let app = TestApp::spawn_with(&[("RECONCILE_INTERVAL", "off")]).await;
    let (a, b) = coordinators(&app).await;
    assert_eq!(a.checkpoint().await.unwrap(), None);

    let now = a.server_now().await.unwrap();
    let mut held = acquire(&a).await.expect("a free lease is taken");
    assert!(acquire(&b).await.is_none());
    a.save_checkpoint(&mut held, 1_700_000_000).await.unwrap();
    let checkpoint = b.checkpoint().await.unwrap().expect("saved");
    assert_eq!(checkpoint.listed_until, 1_700_000_000);
    assert!(checkpoint.written >= now);
    a.release(held).await;

    let mut taken = acquire(&b).await.expect("a released lease is free");
    assert!(acquire(&a).await.is_none());
    b.save_checkpoint(&mut taken, 1_700_000_100).await.unwrap();
}

#[tokio::test]
async fn a_stale_lease_is_taken_over_and_its_holder_stops() {
    use payments::reconcile::ReconcileError;
    let app = TestApp::spawn_with(&[("RECONCILE_INTERVAL", "off")]).await;
    let ttl = Duration::from_millis(600);
    let (dead, next) = coordinators(&app).await;
    let (dead, next) = (dead.with_lease_ttl(ttl), next.with_lease_ttl(ttl));
    let mut old = acquire(&dead).await.expect("taken");
    // Staleness is judged by the server's clock: wait for it to pass the TTL.
    let taken = await_until(
        "the stale lease is taken over",
        Duration::from_secs(10),
        || acquire(&next),
        Option::is_some,
    )
    .await
    .expect("taken over");
    assert!(matches!(
        dead.keep(&mut old).await,
        Err(ReconcileError::LeaseLost)
    ));
    next.release(taken).await;
}
