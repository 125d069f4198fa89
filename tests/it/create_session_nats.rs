//! `create.payment.session` over a real nats-server: the NestJS envelope, plain request/reply, the queue group
//! shared by replicas, and micro-service discovery.

use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};

use crate::support::{self, await_until, keys, TestApp, ORDER};

const DATA: &str = r#"{"orderId":"3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69","currency":"usd","items":[{"name":"T-Shirt","price":20.5,"quantity":2}]}"#;

async fn next_json(sub: &mut async_nats::Subscriber) -> (Value, Option<async_nats::HeaderMap>) {
    let message = tokio::time::timeout(Duration::from_secs(10), sub.next())
        .await
        .expect("reply in time")
        .expect("subscription open");
    (
        serde_json::from_slice(&message.payload).expect("JSON reply"),
        message.headers,
    )
}

#[tokio::test]
async fn nestjs_send_gets_exactly_one_envelope_reply() {
    let app = TestApp::spawn().await;
    let inbox = app.client.new_inbox();
    let mut replies = app.client.subscribe(inbox.clone()).await.unwrap();
    // The bytes NestJS's ClientProxy.send puts on the wire.
    let packet = format!(
        r#"{{"pattern":"create.payment.session","data":{DATA},"id":"a58ecc2686175684694c7"}}"#
    );
    app.publish_create(&inbox, packet).await;
    let (reply, _) = next_json(&mut replies).await;
    assert_eq!(keys(&reply), ["id", "isDisposed", "response"]);
    assert_eq!(reply["id"], "a58ecc2686175684694c7");
    assert_eq!(reply["isDisposed"], true);
    assert!(reply["response"]["sessionId"]
        .as_str()
        .unwrap()
        .starts_with("cs_test_"));
    assert_eq!(
        app.standin
            .requests()
            .last()
            .unwrap()
            .form_value("metadata[orderId]"),
        Some(ORDER)
    );

    // Exactly one: a second, later request's reply is the next thing on the inbox.
    let packet = r#"{"pattern":"create.payment.session","data":{"orderId":""},"id":"second"}"#;
    app.publish_create(&inbox, packet).await;
    let (reply, _) = next_json(&mut replies).await;
    assert_eq!(reply["id"], "second");
}

#[tokio::test]
async fn nestjs_errors_carry_a_numeric_status() {
    let app = TestApp::spawn().await;
    let packet = r#"{"pattern":"create.payment.session","data":{"orderId":"o","currency":"usd","items":[{"name":"a","price":0,"quantity":1}]},"id":"e1"}"#;
    let reply = app.create_over_nats(packet).await;
    assert_eq!(
        reply,
        json!({"err": {"status": 400, "message": "items[0].price must be a positive number"}, "isDisposed": true, "id": "e1"})
    );
    // data missing altogether
    let packet = r#"{"pattern":"create.payment.session","id":"e2"}"#;
    let reply = app.create_over_nats(packet).await;
    assert_eq!(reply["err"]["status"], 400);
    assert_eq!(reply["id"], "e2");
}

#[tokio::test]
async fn a_nestjs_event_without_id_gets_no_reply() {
    let app = TestApp::spawn().await;
    let inbox = app.client.new_inbox();
    let mut replies = app.client.subscribe(inbox.clone()).await.unwrap();
    let event = format!(r#"{{"pattern":"create.payment.session","data":{DATA}}}"#);
    app.publish_create(&inbox, event).await;
    // A request sent after it, answered on the same inbox, must be the first reply seen.
    let packet = format!(r#"{{"pattern":"create.payment.session","data":{DATA},"id":"after"}}"#);
    app.publish_create(&inbox, packet).await;
    let (reply, _) = next_json(&mut replies).await;
    assert_eq!(reply["id"], "after");
    assert_eq!(
        app.standin.sessions_created(),
        1,
        "the event created no session"
    );
}

#[tokio::test]
async fn plain_request_reply_and_its_error_headers() {
    let app = TestApp::spawn().await;
    let reply = app
        .client
        .request("create.payment.session", Bytes::from(DATA))
        .await
        .unwrap();
    assert!(
        reply.headers.is_none()
            || reply
                .headers
                .as_ref()
                .unwrap()
                .get("Nats-Service-Error")
                .is_none()
    );
    let created: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert!(created["sessionId"]
        .as_str()
        .unwrap()
        .starts_with("cs_test_"));
    assert!(created["url"].as_str().is_some());

    let reply = app
        .client
        .request("create.payment.session", Bytes::from(r#"{"orderId":"o"}"#))
        .await
        .unwrap();
    let headers = reply.headers.expect("error headers");
    assert_eq!(
        headers.get("Nats-Service-Error").unwrap().as_str(),
        "currency is required"
    );
    assert_eq!(
        headers.get("Nats-Service-Error-Code").unwrap().as_str(),
        "400"
    );
    let body: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(
        body,
        json!({"status": 400, "message": "currency is required"})
    );

    let reply = app
        .client
        .request("create.payment.session", Bytes::from("not json"))
        .await
        .unwrap();
    assert_eq!(
        reply
            .headers
            .unwrap()
            .get("Nats-Service-Error-Code")
            .unwrap()
            .as_str(),
        "400"
    );
}

/// A request with an `Idempotency-Key` NATS header.
async fn keyed_request(app: &TestApp, key: &str, payload: String) -> async_nats::Message {
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Idempotency-Key", key);
    let request = async_nats::Request::new()
        .headers(headers)
        .payload(Bytes::from(payload));
    app.client
        .send_request("create.payment.session", request)
        .await
        .unwrap()
}

#[tokio::test]
async fn a_key_used_for_another_request_is_409_in_both_formats() {
    let app = TestApp::spawn().await;
    let other = DATA.replace("20.5", "21");
    let message = "Idempotency-Key order-9 was used for another request";

    let first = keyed_request(&app, "order-9", DATA.to_owned()).await;
    let first: Value = serde_json::from_slice(&first.payload).unwrap();
    assert!(first["sessionId"].as_str().is_some(), "{first}");
    let reply = keyed_request(&app, "order-9", other.clone()).await;
    let headers = reply.headers.expect("error headers");
    assert_eq!(headers.get("Nats-Service-Error").unwrap().as_str(), message);
    assert_eq!(
        headers.get("Nats-Service-Error-Code").unwrap().as_str(),
        "409"
    );
    let body: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(body, json!({"status": 409, "message": message}));

    // NestJS, with the key as a NATS header (a `NatsRecord`): a numeric 409 in `err`.
    let packet = format!(r#"{{"pattern":"create.payment.session","data":{other},"id":"n1"}}"#);
    let reply = keyed_request(&app, "order-9", packet).await;
    let reply: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(
        reply,
        json!({"err": {"status": 409, "message": message}, "isDisposed": true, "id": "n1"})
    );
    // The first request again, in the NestJS format: the same session.
    let packet = format!(r#"{{"pattern":"create.payment.session","data":{DATA},"id":"n2"}}"#);
    let reply = keyed_request(&app, "order-9", packet).await;
    let reply: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(reply["response"]["sessionId"], first["sessionId"]);
    assert_eq!(app.standin.sessions_created(), 1);
}

#[tokio::test]
async fn two_replicas_answer_each_request_once() {
    let first = TestApp::spawn().await;
    // A second service on the same NATS and stand-in.
    let second = support::Replica::start(&first, &[]).await;
    // Wait until both instances are subscribed: $SRV.PING answers once per instance.
    wait_for_instances(&first.client, 2).await;

    let inbox = first.client.new_inbox();
    let mut replies = first.client.subscribe(inbox.clone()).await.unwrap();
    const N: usize = 20;
    for i in 0..N {
        let body = DATA.replace(ORDER, &format!("order-{i}"));
        first
            .client
            .publish_with_reply("create.payment.session", inbox.clone(), Bytes::from(body))
            .await
            .unwrap();
    }
    let mut orders = std::collections::BTreeSet::new();
    for _ in 0..N {
        let (reply, _) = next_json(&mut replies).await;
        orders.insert(reply["sessionId"].as_str().unwrap().to_owned());
    }
    assert_eq!(orders.len(), N);
    assert_eq!(
        first.standin.sessions_created(),
        N,
        "each request reached Stripe once"
    );
    // Nothing more arrives: the NATS round trip of a ping proves all earlier replies were delivered.
    first.client.flush().await.unwrap();
    assert!(
        tokio::time::timeout(Duration::from_millis(300), replies.next())
            .await
            .is_err(),
        "a duplicate reply"
    );
    second.stop().await;
}

/// How many instances answer a `$SRV.PING` (each within 200 ms of the last).
async fn ping_instances(client: &async_nats::Client) -> usize {
    let inbox = client.new_inbox();
    let mut sub = client.subscribe(inbox.clone()).await.unwrap();
    client
        .publish_with_reply("$SRV.PING.payments", inbox, Bytes::new())
        .await
        .unwrap();
    let mut count = 0;
    while let Ok(Some(_)) = tokio::time::timeout(Duration::from_millis(200), sub.next()).await {
        count += 1;
    }
    count
}

async fn wait_for_instances(client: &async_nats::Client, n: usize) {
    await_until(
        format!("{n} instances answer $SRV.PING"),
        Duration::from_secs(10),
        || ping_instances(client),
        |found| *found >= n,
    )
    .await;
}

#[tokio::test]
async fn srv_ping_and_info_find_the_service() {
    let app = TestApp::spawn().await;
    let client = &app.client;
    let discover = |verb: &'static str| async move {
        let subject = format!("$SRV.{verb}.payments");
        let reply = client.request(subject, Bytes::new()).await.unwrap();
        serde_json::from_slice::<Value>(&reply.payload).unwrap()
    };
    assert_eq!(discover("PING").await["name"], "payments");
    let info = discover("INFO").await;
    let endpoint = &info["endpoints"][0];
    assert_eq!(endpoint["subject"], "create.payment.session");
    assert_eq!(endpoint["queue_group"], "payments");
}
