//! Webhook delivery: the exact event sequence of each payment flow reaches a local receiver, signed as Stripe signs
//! (checked by an independent HMAC), with retries and backoff; `deliveries()` reflects every attempt.

use crate::support::raw;

use std::time::Duration;

use crate::support::raw::{post, status_json, T_SHIRTS};
use crate::support::receiver::{attempts_by_id, Receiver, SECRET};
use serde_json::Value;
use stripe_standin::{events, Delivery, Method, Retry, StandIn, FAILURE_MESSAGE};

const WAIT: Duration = Duration::from_secs(10);

async fn emulator(receiver: &Receiver, retry: Retry) -> StandIn {
    receiver.standin().retry(retry).start().await
}

async fn new_session(standin: &StandIn) -> String {
    let (status, session) = status_json(post(standin, T_SHIRTS, None).await).await;
    assert_eq!(status, 200);
    session["id"].as_str().unwrap().to_owned()
}

/// Every request is verified and JSON, and every event is a full envelope of the emulator's API version.
fn check_envelopes(receiver: &Receiver) -> Vec<Value> {
    receiver
        .received()
        .iter()
        .map(|r| {
            r.verify(SECRET);
            assert_eq!(r.content_type, "application/json; charset=utf-8");
            let event = r.event();
            assert!(event["id"].as_str().unwrap().starts_with("evt_"));
            assert_eq!(event["object"], "event");
            assert_eq!(event["api_version"], events::API_VERSION);
            assert_eq!(event["livemode"], false);
            assert_eq!(event["pending_webhooks"], 1);
            assert!(event["request"].is_object());
            assert!(event["created"].is_i64());
            event
        })
        .collect()
}

/// Runs a flow with a receiver answering 200 and returns the events it got, in order.
async fn flow(method: Option<Method>, expected: &[&str]) -> (StandIn, String, Vec<Value>) {
    let receiver = Receiver::start().await;
    let standin = emulator(&receiver, Retry::fast()).await;
    let id = new_session(&standin).await;
    match method {
        Some(method) => {
            standin.pay(&id, method).await.unwrap();
        }
        None => {
            standin.expire(&id).await.unwrap();
        }
    }
    assert!(
        standin.wait_delivered(expected.len(), WAIT).await,
        "{:?}",
        standin.deliveries()
    );
    assert_eq!(receiver.delivered_types(), expected);
    assert_eq!(receiver.received().len(), expected.len());
    let events = check_envelopes(&receiver);
    let delivered: Vec<String> = standin
        .deliveries()
        .into_iter()
        .map(|d| {
            assert!(d.delivered && !d.gave_up && d.attempts == 1 && d.last_status == Some(200));
            d.event_type
        })
        .collect();
    assert_eq!(delivered, expected);
    assert_eq!(standin.events(), events);
    (standin, id, events)
}

fn objects(events: &[Value]) -> Vec<&Value> {
    events.iter().map(|e| &e["data"]["object"]).collect()
}

#[tokio::test]
async fn card_sends_charge_intent_then_session_events() {
    let expected = [
        "charge.succeeded",
        "payment_intent.succeeded",
        "checkout.session.completed",
    ];
    let (standin, id, events) = flow(Some(Method::Card), &expected).await;
    let [charge, intent, session] = objects(&events)[..] else {
        unreachable!()
    };
    assert_eq!(session, &standin.session(&id).unwrap());
    assert_eq!(
        (
            session["status"].as_str(),
            session["payment_status"].as_str()
        ),
        (Some("complete"), Some("paid"))
    );
    assert_eq!(session["payment_intent"], intent["id"]);
    assert_eq!(intent["latest_charge"], charge["id"]);
    assert_eq!(charge["payment_intent"], intent["id"]);
    // Without payment_intent_data[metadata] the payment intent and charge get none (the session's stays its own).
    assert_eq!(charge["metadata"], serde_json::json!({}));
    assert_eq!(session["metadata"]["orderId"], "ord_7");
    assert_eq!(session["client_reference_id"], "ord_7");
    assert_eq!(
        (charge["amount"].as_i64(), charge["currency"].as_str()),
        (Some(4399), Some("usd"))
    );
    assert!(charge["receipt_url"]
        .as_str()
        .unwrap()
        .starts_with("https://pay.stripe.com/receipts/payment/"));
    // GET returns what the events carried.
    let (_, got) = status_json(
        raw::get(
            &standin,
            &format!("/v1/charges/{}", charge["id"].as_str().unwrap()),
        )
        .await,
    )
    .await;
    assert_eq!(&got, charge);
    let event_id = events[0]["id"].as_str().unwrap();
    let (_, got) = status_json(raw::get(&standin, &format!("/v1/events/{event_id}")).await).await;
    assert_eq!(got, events[0]);
}

#[tokio::test]
async fn delayed_success_completes_unpaid_then_settles() {
    let expected = [
        "checkout.session.completed",
        "payment_intent.succeeded",
        "charge.succeeded",
        "checkout.session.async_payment_succeeded",
    ];
    let (_, _, events) = flow(Some(Method::DelayedSuccess), &expected).await;
    let objects = objects(&events);
    assert_eq!(objects[0]["payment_status"], "unpaid");
    assert_eq!(objects[0]["status"], "complete");
    assert_eq!(objects[1]["status"], "succeeded");
    assert_eq!(objects[3]["payment_status"], "paid");
    assert_eq!(objects[3]["payment_intent"], objects[1]["id"]);
}

#[tokio::test]
async fn delayed_failure_completes_unpaid_then_fails() {
    let expected = [
        "checkout.session.completed",
        "payment_intent.payment_failed",
        "checkout.session.async_payment_failed",
    ];
    let (_, _, events) = flow(Some(Method::DelayedFailure), &expected).await;
    let objects = objects(&events);
    assert_eq!(objects[1]["status"], "requires_payment_method");
    assert_eq!(objects[1]["last_payment_error"]["message"], FAILURE_MESSAGE);
    assert_eq!(objects[2]["payment_status"], "unpaid");
}

#[tokio::test]
async fn expiring_sends_expired_and_cancelling_sends_nothing() {
    let (standin, id, events) = flow(None, &["checkout.session.expired"]).await;
    assert_eq!(events[0]["data"]["object"]["status"], "expired");
    assert_eq!(events[0]["data"]["object"]["payment_intent"], Value::Null);
    assert!(standin.expire(&id).await.is_err());
    assert!(standin.pay(&id, Method::Card).await.is_err());

    let other = new_session(&standin).await;
    let cancel_url = standin.cancel(&other).await.unwrap();
    assert_eq!(cancel_url.as_deref(), Some("https://shop.example/no"));
    assert_eq!(standin.session(&other).unwrap()["status"], "open");
    assert_eq!(standin.events().len(), 1);
}

#[tokio::test]
async fn retries_with_a_fresh_signature_until_2xx() {
    let receiver = Receiver::scripted(|_, before| if before < 2 { 500 } else { 200 }).await;
    let standin = emulator(&receiver, Retry::fast()).await;
    let id = new_session(&standin).await;
    standin.expire(&id).await.unwrap();
    assert!(
        standin.wait_delivered(1, WAIT).await,
        "{:?}",
        standin.deliveries()
    );

    let received = receiver.received();
    let answers: Vec<u16> = received.iter().map(|r| r.answered).collect();
    assert_eq!(answers, [500, 500, 200]);
    check_envelopes(&receiver);
    assert!(received.iter().all(|r| r.body == received[0].body));
    let [delivery] = &standin.deliveries()[..] else {
        panic!("one delivery expected")
    };
    assert_eq!(
        delivery,
        &Delivery {
            event_id: received[0].event()["id"].as_str().unwrap().to_owned(),
            event_type: "checkout.session.expired".into(),
            attempts: 3,
            last_status: Some(200),
            last_error: None,
            delivered: true,
            gave_up: false,
        }
    );
}

#[tokio::test]
async fn a_failing_event_blocks_no_other_and_is_given_up() {
    let receiver = Receiver::scripted(|event, _| match event["type"].as_str() {
        Some("charge.succeeded") => 503,
        _ => 200,
    })
    .await;
    let retry = Retry {
        max_attempts: 3,
        ..Retry::fast()
    };
    let standin = emulator(&receiver, retry).await;
    let id = new_session(&standin).await;
    standin.pay(&id, Method::Card).await.unwrap();
    let settled = |all: &[Delivery]| all.len() == 3 && all.iter().all(|d| d.delivered || d.gave_up);
    assert!(
        standin.wait_deliveries(WAIT, settled).await,
        "{:?}",
        standin.deliveries()
    );

    assert_eq!(
        receiver.delivered_types(),
        ["payment_intent.succeeded", "checkout.session.completed"]
    );
    let deliveries = standin.deliveries();
    assert_eq!(deliveries[0].event_type, "charge.succeeded");
    assert!(deliveries[0].gave_up && !deliveries[0].delivered);
    assert_eq!(
        (deliveries[0].attempts, deliveries[0].last_status),
        (3, Some(503))
    );
    let attempts = attempts_by_id(&receiver.received());
    assert_eq!(attempts[&deliveries[0].event_id], 3);
    // The first attempt of each event still came in order of creation.
    let mut seen = std::collections::HashSet::new();
    let first_types: Vec<String> = receiver
        .received()
        .iter()
        .filter(|r| seen.insert(r.event()["id"].clone().to_string()))
        .map(|r| r.event_type())
        .collect();
    assert_eq!(
        first_types,
        [
            "charge.succeeded",
            "payment_intent.succeeded",
            "checkout.session.completed"
        ]
    );
}

#[tokio::test]
async fn an_unreachable_webhook_is_retried_then_given_up() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/webhook", closed.local_addr().unwrap());
    drop(closed);
    let retry = Retry {
        max_attempts: 2,
        ..Retry::fast()
    };
    let standin = StandIn::builder()
        .webhook_url(url)
        .retry(retry)
        .start()
        .await;
    assert!(standin.webhook_secret().starts_with("whsec_"));
    let id = new_session(&standin).await;
    standin.expire(&id).await.unwrap();
    let given_up = |all: &[Delivery]| all.first().is_some_and(|d| d.gave_up);
    assert!(
        standin.wait_deliveries(WAIT, given_up).await,
        "{:?}",
        standin.deliveries()
    );
    let delivery = &standin.deliveries()[0];
    assert_eq!((delivery.attempts, delivery.last_status), (2, None));
    assert!(delivery.last_error.is_some());
}

#[tokio::test]
async fn without_a_webhook_url_events_are_only_recorded() {
    let standin = StandIn::start().await;
    let id = new_session(&standin).await;
    standin.pay(&id, Method::Card).await.unwrap();
    assert!(standin.deliveries().is_empty());
    let types: Vec<Value> = standin.events().iter().map(|e| e["type"].clone()).collect();
    assert_eq!(
        types,
        [
            "charge.succeeded",
            "payment_intent.succeeded",
            "checkout.session.completed"
        ]
    );
}
