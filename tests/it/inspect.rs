//! `payments inspect` (CONTRACT §10) against the real service: a payment paid in the emulator, one of its events
//! missed and recovered by `payments reconcile`, its callback failing once then delivered; the binary then tells
//! that story, the same whichever id it is given, and exits 1 for an id nobody knows.

use std::{collections::BTreeSet, time::Duration};

use crate::support::{self, await_until, events::Payment, receiver::Receiver, TestApp};
use async_nats::jetstream::consumer::pull;
use serde_json::{json, Value};
use stripe_standin::Method;

const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ORDER: &str = "7a1d2c0e-5b3f-4c8e-9d6a-2e4f1b3c5d7e";

/// Creates a session with a callback to `url`; returns its id.
async fn create(app: &TestApp, url: &str) -> String {
    let body = json!({
        "orderId": ORDER, "currency": "usd", "items": [{"name": "Mug", "price": 9.5, "quantity": 1}],
        "callback": {"url": url, "method": "POST"},
    });
    let response = app
        .post_json("/payments/create-session", &body.to_string())
        .await;
    let reply: Value = response.json().await.unwrap();
    reply["sessionId"].as_str().expect("a session").to_owned()
}

async fn inspect_json(app: &TestApp, id: &str) -> Value {
    let (code, out) = support::run_cli(app, &["inspect", id, "--json"], &[]).await;
    assert_eq!(code, 0, "inspect {id}: {out}");
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// Inspects until the timeline has `n` callback attempts.
async fn wait_callbacks(app: &TestApp, n: usize) -> Value {
    await_until(
        format!("{n} callback attempts in the timeline"),
        Duration::from_secs(30),
        || inspect_json(app, ORDER),
        |timeline| entries(timeline, "callback").len() >= n,
    )
    .await
}

fn entries<'a>(timeline: &'a Value, kind: &str) -> Vec<&'a Value> {
    timeline["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .filter(|e| e["kind"] == kind)
        .collect()
}

#[tokio::test]
async fn inspect_tells_a_payments_story_whichever_id_it_is_given() {
    let receiver = Receiver::failing_first_attempts(503).await;
    let settings = [
        ("CALLBACK_SIGNING_SECRET", SIGNING_SECRET),
        ("CALLBACK_ALLOW_PRIVATE", "true"),
        ("CALLBACK_RETRY_SCHEDULE", "1s"),
    ];
    let app = TestApp::spawn_with(&settings).await;
    let session = create(&app, &receiver.url).await;
    app.standin.pay(&session, Method::Card).await.unwrap();

    // Stripe delivers every event but charge.succeeded, which reconciliation then recovers.
    let events = app.standin.events();
    let (missed, delivered): (Vec<&Value>, Vec<&Value>) =
        events.iter().partition(|e| e["type"] == "charge.succeeded");
    assert_eq!(missed.len(), 1, "{events:#?}");
    for event in &delivered {
        assert_eq!(app.post_event(&event.to_string()).await.status(), 200);
    }
    let (code, out) = support::run_cli(&app, &["reconcile", "--since", "1h"], &[]).await;
    assert_eq!(code, 0, "{out}");
    app.wait_pipeline_idle().await;
    receiver.wait_for(2).await;
    let timeline = wait_callbacks(&app, 2).await;
    assert_eq!(timeline["orderId"], ORDER);
    assert_eq!(
        timeline.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["entries", "orderId"]
    );

    // Oldest first, each with an RFC 3339 time.
    let times: Vec<std::time::SystemTime> = timeline["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| humantime::parse_rfc3339(e["time"].as_str().unwrap()).expect("RFC 3339"))
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{timeline:#}");

    // Every event once, with where it came from.
    let recorded: BTreeSet<(String, String, String)> = entries(&timeline, "event")
        .iter()
        .map(|e| {
            let text = |k: &str| e[k].as_str().unwrap().to_owned();
            (text("id"), text("type"), text("source"))
        })
        .collect();
    let expected: BTreeSet<(String, String, String)> = events
        .iter()
        .map(|e| {
            let source = if e["type"] == "charge.succeeded" {
                "reconcile"
            } else {
                "webhook"
            };
            let text = |k: &str| e[k].as_str().unwrap().to_owned();
            (text("id"), text("type"), source.to_owned())
        })
        .collect();
    assert_eq!(recorded, expected);
    assert_eq!(entries(&timeline, "event").len(), events.len());

    // The outcome once, at the sequence PAYMENTS holds it under.
    let published = entries(&timeline, "published");
    assert_eq!(published.len(), 1, "{timeline:#}");
    let stream = app.js.get_stream("PAYMENTS").await.unwrap();
    let sequence = published[0]["sequence"].as_u64().unwrap();
    let message = stream.get_raw_message(sequence).await.unwrap();
    assert_eq!(published[0]["subject"], "payment.succeeded");
    assert_eq!(published[0]["subject"], message.subject.as_str());
    assert_eq!(
        published[0]["msgId"],
        message.headers.get("Nats-Msg-Id").unwrap().as_str()
    );
    let body: Value = serde_json::from_slice(&message.payload).unwrap();
    assert_eq!(body["orderId"], ORDER);

    // Each callback attempt: the refused one, then the delivered one.
    let attempts = entries(&timeline, "callback");
    assert_eq!(attempts.len(), 2, "{timeline:#}");
    for (attempt, status) in attempts.iter().zip([503, 200]) {
        assert_eq!(attempt["url"], receiver.url.as_str());
        assert_eq!(attempt["status"], status);
        assert_eq!(attempt["error"], Value::Null);
    }

    // The same story by the session, the payment intent, the charge and any event.
    let intent = events
        .iter()
        .find_map(|e| e["data"]["object"]["payment_intent"].as_str())
        .expect("an event names the payment intent")
        .to_owned();
    let charge = body["stripePaymentId"].as_str().unwrap().to_owned();
    let event = missed[0]["id"].as_str().unwrap().to_owned();
    for id in [&session, &intent, &charge, &event] {
        assert_eq!(inspect_json(&app, id).await, timeline, "inspect {id}");
    }

    // And for a person: a table naming what happened.
    let (code, table) = support::run_cli(&app, &["inspect", ORDER], &[]).await;
    assert_eq!(code, 0, "{table}");
    assert!(table.contains(&format!("order {ORDER}")), "{table}");
    assert!(table.contains("payment.succeeded as PAYMENTS #"), "{table}");
    assert!(table.contains("charge.succeeded") && table.contains("(from reconcile)"));
    assert!(
        table.contains("→ HTTP 503") && table.contains("→ HTTP 200"),
        "{table}"
    );
}

#[tokio::test]
async fn an_id_nobody_knows_exits_1_saying_so() {
    let app = TestApp::spawn().await;
    for id in ["pi_3NobodyKnowsThis", "no-such-order", "a.b*>"] {
        let (code, out) = support::run_cli(&app, &["inspect", id], &[]).await;
        assert_eq!(code, 1, "{id}: {out}");
        assert!(out.contains(&format!("nothing is known of {id}")), "{out}");
    }
}

/// How many deliveries the pipeline's consumer has made (redeliveries included).
async fn deliveries(app: &TestApp) -> u64 {
    let stream = app.js.get_stream("STRIPE_EVENTS").await.unwrap();
    let mut consumer = stream
        .get_consumer::<pull::Config>("payments-pipeline")
        .await
        .unwrap();
    consumer.info().await.unwrap().delivered.consumer_sequence
}

#[tokio::test]
async fn an_outcome_whose_trail_write_failed_is_in_the_timeline_once_the_trail_is_back() {
    let app = TestApp::spawn().await;
    app.wait_pipeline_idle().await;
    let before = deliveries(&app).await;

    // The trail takes no messages: its subjects are elsewhere for a while.
    let mut trail = app.js.get_stream("PAYMENT_TRAIL").await.unwrap();
    let restored = trail.info().await.unwrap().config.clone();
    let mut elsewhere = restored.clone();
    elsewhere.subjects = vec!["payments.trail-unavailable.>".into()];
    app.js.update_stream(&elsewhere).await.unwrap();

    // The outcome is published, but the event's trail record is not written: the event comes round again.
    let payment = Payment::new("trail-down");
    assert_eq!(
        app.post_event(&payment.charge_succeeded()).await.status(),
        200
    );
    let published = app.wait_payments(1).await;
    await_until(
        "the event delivered again after its trail write failed",
        Duration::from_secs(20),
        || deliveries(&app),
        |n| *n >= before + 2,
    )
    .await;

    // Once the trail takes messages again, the event's record names the outcome its first attempt published.
    app.js.update_stream(&restored).await.unwrap();
    let timeline = await_until(
        "the outcome in the timeline",
        Duration::from_secs(30),
        || async {
            let (code, out) =
                support::run_cli(&app, &["inspect", &payment.order, "--json"], &[]).await;
            (code == 0).then(|| serde_json::from_str::<Value>(out.trim()).unwrap())
        },
        |timeline| {
            timeline
                .as_ref()
                .is_some_and(|t| !entries(t, "published").is_empty())
        },
    )
    .await
    .unwrap();
    assert_eq!(entries(&timeline, "event").len(), 1, "{timeline:#}");
    let outcome = entries(&timeline, "published");
    assert_eq!(outcome.len(), 1, "{timeline:#}");
    assert_eq!(outcome[0]["msgId"], published[0].msg_id.as_str());
    let stream = app.js.get_stream("PAYMENTS").await.unwrap();
    let message = stream
        .get_raw_message(outcome[0]["sequence"].as_u64().unwrap())
        .await
        .unwrap();
    assert_eq!(
        message.headers.get("Nats-Msg-Id").unwrap().as_str(),
        published[0].msg_id
    );
    assert_eq!(stream.cached_info().state.messages, 1, "published once");
}
