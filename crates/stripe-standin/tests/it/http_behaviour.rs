//! Behaviour over raw HTTP: amounts, stored sessions, idempotent replays, fault injection and shutdown.

use std::time::Duration;

use crate::support::raw::{get, post, status_json, without, T_SHIRTS};
use reqwest::Client;
use serde_json::{json, Value};
use stripe_standin::{Fault, StandIn};
use testkit::await_until;

#[tokio::test]
async fn creates_with_amounts_from_line_items() {
    let standin = StandIn::start().await;
    let (status, session) = status_json(post(&standin, T_SHIRTS, None).await).await;
    assert_eq!(status, 200);
    assert_eq!(session["object"], "checkout.session");
    assert_eq!(session["amount_subtotal"], 4100 + 299);
    assert_eq!(session["amount_total"], 4100 + 299);
    assert_eq!(session["currency"], "usd");
    assert_eq!(session["success_url"], "https://shop.example/ok");
    assert_eq!(session["metadata"], json!({ "orderId": "ord_7" }));
    assert_eq!(session["payment_intent"], Value::Null);
    let id = session["id"].as_str().unwrap();
    assert_eq!(standin.session(id).unwrap(), session);

    let (_, items) =
        status_json(get(&standin, &format!("/v1/checkout/sessions/{id}/line_items")).await).await;
    assert_eq!(items["data"][1]["price"]["unit_amount_decimal"], "99.5");
    assert_eq!(items["data"][1]["amount_total"], 299);
    let request = &standin.requests()[0];
    assert_eq!(
        request.form_value("line_items[0][price_data][currency]"),
        Some("usd")
    );
    assert_eq!(request.form.len(), 13);
}

#[tokio::test]
async fn idempotent_replay_headers_and_body() {
    let standin = StandIn::start().await;
    let first = post(&standin, T_SHIRTS, Some("key-1")).await;
    let first_id = first.headers()["request-id"].to_str().unwrap().to_owned();
    assert!(!first.headers().contains_key("idempotent-replayed"));
    let first_body = first.text().await.unwrap();
    let reordered = T_SHIRTS.split('&').rev().collect::<Vec<_>>().join("&");
    let second = post(&standin, &reordered, Some("key-1")).await;
    assert_eq!(second.status(), 200);
    assert_eq!(second.headers()["idempotent-replayed"], "true");
    assert_eq!(
        second.headers()["original-request"].to_str().unwrap(),
        first_id
    );
    assert_ne!(second.headers()["request-id"].to_str().unwrap(), first_id);
    assert_eq!(second.text().await.unwrap(), first_body);
    assert_eq!(standin.sessions_created(), 1);

    let (status, body) =
        status_json(post(&standin, &without("client_reference_id"), Some("key-1")).await).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["type"], "idempotency_error");
    assert_eq!(
        body["error"]["message"],
        "Keys for idempotent requests can only be used with the same parameters they were first used with. \
         Try using a key other than 'key-1' if you meant to execute a different request."
    );
    // A request that failed validation saves nothing under its key.
    assert_eq!(
        post(&standin, &without("mode"), Some("key-2"))
            .await
            .status(),
        400
    );
    assert_eq!(post(&standin, T_SHIRTS, Some("key-2")).await.status(), 200);
    assert_eq!(standin.sessions_created(), 2);
}

#[tokio::test]
async fn faults_come_first_and_in_order() {
    let standin = StandIn::start().await;
    let declined = Fault::Error {
        status: 402,
        error_type: "card_error".into(),
        message: "Your card was declined.".into(),
    };
    standin.inject(declined, 2);
    standin.inject(Fault::Delay(Duration::from_millis(300)), 1);
    let unauthenticated = Client::new()
        .get(format!("{}/v1/charges/ch_1", standin.base_url()))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(unauthenticated).await;
    assert_eq!(status, 402);
    assert_eq!(
        body,
        json!({ "error": { "type": "card_error", "message": "Your card was declined." } })
    );
    assert_eq!(post(&standin, T_SHIRTS, None).await.status(), 402);
    let started = std::time::Instant::now();
    assert_eq!(post(&standin, T_SHIRTS, None).await.status(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(post(&standin, T_SHIRTS, None).await.status(), 200);
    assert_eq!(standin.requests().len(), 4);
    assert_eq!(standin.sessions_created(), 2);
}

#[tokio::test]
async fn dropping_stops_the_server() {
    let standin = StandIn::start().await;
    let url = format!("{}/v1/charges/ch_1", standin.base_url());
    assert_eq!(
        Client::new()
            .get(&url)
            .bearer_auth("sk_test_1")
            .send()
            .await
            .unwrap()
            .status(),
        404
    );
    drop(standin);
    await_until(
        "the dropped stand-in refuses connections",
        Duration::from_secs(5),
        || async { Client::new().get(&url).send().await.map(|r| r.status()) },
        Result::is_err,
    )
    .await
    .unwrap_err();
}
