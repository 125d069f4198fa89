//! A card declined once, then a good card in the same session ([`Method::DeclinedThenCard`], API and page button):
//! Stripe's event sequence, signed (checked by an independent HMAC), with the objects fetchable typed.

use crate::support::client;

use crate::support::emulator::{emulator, PAID};
use reqwest::redirect::Policy;
use serde_json::Value;
use stripe_core::charge::RetrieveCharge;
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_core::{ChargeStatus, PaymentIntentStatus};
use stripe_standin::{Method, DECLINE_MESSAGE};

/// The events of a declined card, then of the card that paid.
const DECLINED_THEN_PAID: [&str; 5] = [
    "charge.failed",
    "payment_intent.payment_failed",
    PAID[0],
    PAID[1],
    PAID[2],
];

#[tokio::test]
async fn a_declined_card_then_a_good_one_in_the_same_session() {
    let emulator = emulator().await;
    let paid = emulator.pay(Method::DeclinedThenCard).await;
    let events = emulator.expect(&DECLINED_THEN_PAID).await;
    let objects: Vec<&Value> = events.iter().map(|e| &e["data"]["object"]).collect();
    let declined = paid.declined_charge_id.as_deref().unwrap();
    let (failed_charge, failed_intent) = (objects[0], objects[1]);
    assert_eq!(failed_charge["id"], declined);
    assert_eq!(failed_charge["status"], "failed");
    assert_eq!(failed_charge["failure_code"], "card_declined");
    assert_eq!(failed_charge["metadata"]["orderId"], "ord_42");
    assert_eq!(failed_intent["id"], paid.payment_intent_id.as_str());
    assert_eq!(failed_intent["status"], "requires_payment_method");
    let error = &failed_intent["last_payment_error"];
    assert_eq!(error["message"], DECLINE_MESSAGE);
    assert_eq!(error["charge"], declined);
    assert_eq!(
        (error["type"].as_str(), error["decline_code"].as_str()),
        (Some("card_error"), Some("generic_decline"))
    );
    // The second card pays the same payment intent with another charge.
    let (charge, intent, session) = (objects[2], objects[3], objects[4]);
    assert_eq!(charge["id"], paid.charge_id.as_deref().unwrap());
    assert_ne!(charge["id"], declined);
    assert_eq!(intent["id"], failed_intent["id"]);
    assert_eq!(intent["last_payment_error"], Value::Null);
    assert_eq!(session["payment_status"], "paid");
    assert_eq!(session["payment_intent"], intent["id"]);

    let client = &emulator.client;
    let pi = RetrievePaymentIntent::new(paid.payment_intent_id.as_str())
        .send(client)
        .await
        .unwrap();
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
    assert_eq!(
        pi.latest_charge.unwrap().id().as_str(),
        charge["id"].as_str().unwrap()
    );
    let failed = RetrieveCharge::new(declined).send(client).await.unwrap();
    assert_eq!(failed.status, ChargeStatus::Failed);
    assert_eq!(failed.failure_message.as_deref(), Some(DECLINE_MESSAGE));
}

#[tokio::test]
async fn the_page_button_plays_the_decline_then_pays() {
    let emulator = emulator().await;
    let session = client::t_shirts().send(&emulator.client).await.unwrap();
    let url = session.url.unwrap();
    let page = reqwest::get(&url).await.unwrap().text().await.unwrap();
    assert!(
        page.contains(&format!("action=\"{url}/pay?method=declined_then_card\"")),
        "{page}"
    );
    let browser = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let response = browser
        .post(format!("{url}/pay?method=declined_then_card"))
        .header("content-type", "application/x-www-form-urlencoded")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 303);
    emulator.expect(&DECLINED_THEN_PAID).await;
}
