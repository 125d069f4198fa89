//! Refunds and disputes of a paid charge (API and admin routes): Stripe's event sequences, signed (checked by an
//! independent HMAC), delivered after the payment's own events, with the objects fetchable typed; refused
//! requests answer in Stripe's error shape and send nothing.

use crate::support::emulator::{emulator, PAID};
use crate::support::raw::get_json;
use serde_json::json;
use stripe_core::charge::RetrieveCharge;
use stripe_core::dispute::RetrieveDispute;
use stripe_core::DisputeStatus;
use stripe_standin::{ChargeError, Method};

#[tokio::test]
async fn refunds_in_part_then_in_full() {
    let emulator = emulator().await;
    let paid = emulator.pay(Method::Card).await;
    let charge_id = paid.charge_id.unwrap();
    emulator.expect(&PAID).await;

    // The admin route (JSON), in part.
    let (status, refund) = emulator
        .admin(
            &format!("/_emulator/charges/{charge_id}/refund"),
            json!({ "amount": 1000 }),
        )
        .await;
    assert_eq!(status, 200, "{refund}");
    assert!(refund["id"].as_str().unwrap().starts_with("re_"));
    assert_eq!(
        (refund["amount"].as_i64(), refund["status"].as_str()),
        (Some(1000), Some("succeeded"))
    );
    assert_eq!(refund["charge"], charge_id.as_str());
    assert_eq!(refund["payment_intent"], paid.payment_intent_id.as_str());
    // Each refund: the charge updated, then the refund created.
    let mut expected = PAID.to_vec();
    expected.extend(["charge.refunded", "refund.created"]);
    let events = emulator.expect(&expected).await;
    let charge = &events[3]["data"]["object"];
    assert_eq!(
        (
            charge["amount_refunded"].as_i64(),
            charge["refunded"].as_bool()
        ),
        (Some(1000), Some(false))
    );
    assert_eq!(
        events[3]["data"]["previous_attributes"],
        json!({ "amount_refunded": 0 })
    );
    assert_eq!(events[4]["data"]["object"], refund);

    // More than what is left is refused and changes nothing; the API refunds the rest.
    let too_much = emulator.standin.refund(&charge_id, Some(3101)).await;
    assert_eq!(
        too_much,
        Err(ChargeError::InvalidAmount {
            amount: 3101,
            refundable: 3100
        })
    );
    let rest = emulator.standin.refund(&charge_id, None).await.unwrap();
    assert_eq!(rest["amount"], 3100);
    expected.extend(["charge.refunded", "refund.created"]);
    let events = emulator.expect(&expected).await;
    assert_eq!(
        events[5]["data"]["previous_attributes"],
        json!({ "amount_refunded": 1000, "refunded": false })
    );
    let charge = RetrieveCharge::new(charge_id.as_str())
        .send(&emulator.client)
        .await
        .unwrap();
    assert_eq!((charge.amount_refunded, charge.refunded), (4100, true));
    let refund_path = format!("/v1/refunds/{}", rest["id"].as_str().unwrap());
    let (_, refund) = get_json(&emulator.standin, &refund_path).await;
    assert_eq!(refund, rest);

    // Errors in Stripe's shape: nothing left, an unknown charge, a bad amount (form body).
    let (status, error) = emulator
        .admin(&format!("/_emulator/charges/{charge_id}/refund"), json!({}))
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("charge_already_refunded"))
    );
    let (status, error) = emulator
        .admin("/_emulator/charges/ch_nope/refund", json!({}))
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (404, Some("resource_missing"))
    );
    let response = reqwest::Client::new()
        .post(format!(
            "{}/_emulator/charges/{charge_id}/refund",
            emulator.standin.base_url()
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("amount=ten")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    assert_eq!(
        emulator.standin.events().len(),
        7,
        "refused refunds send nothing"
    );
}

#[tokio::test]
async fn a_dispute_is_opened_then_won() {
    let emulator = emulator().await;
    let paid = emulator.pay(Method::Card).await;
    let charge_id = paid.charge_id.unwrap();
    let (status, dispute) = emulator
        .admin(
            &format!("/_emulator/charges/{charge_id}/dispute"),
            json!({ "reason": "product_not_received" }),
        )
        .await;
    assert_eq!(status, 200, "{dispute}");
    let id = dispute["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("du_"));
    let opened = [
        PAID[0],
        PAID[1],
        PAID[2],
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
    ];
    let events = emulator.expect(&opened).await;
    for event in &events[3..] {
        assert_eq!(event["data"]["object"], dispute);
    }
    assert_eq!(
        dispute["metadata"],
        json!({}),
        "a dispute carries none of our metadata"
    );
    assert_eq!(
        (dispute["amount"].as_i64(), dispute["currency"].as_str()),
        (Some(4100), Some("usd"))
    );
    assert_eq!(dispute["balance_transactions"][0]["amount"], -4100);

    // Typed, and the charge (disputed now) leads to the order through its payment intent.
    let client = &emulator.client;
    let typed = RetrieveDispute::new(id.as_str())
        .send(client)
        .await
        .unwrap();
    assert_eq!(typed.status, DisputeStatus::NeedsResponse);
    assert_eq!(typed.reason, "product_not_received");
    assert_eq!(typed.charge.id().as_str(), charge_id);
    assert_eq!(
        typed.payment_intent.unwrap().id().as_str(),
        paid.payment_intent_id
    );
    let charge = RetrieveCharge::new(charge_id.as_str())
        .expand(vec!["payment_intent".to_owned()])
        .send(client)
        .await
        .unwrap();
    assert!(charge.disputed);
    assert_eq!(
        charge.payment_intent.unwrap().as_object().unwrap().metadata["orderId"],
        "ord_42"
    );

    // One dispute per charge; won, it sends closed then funds_reinstated; closed, it stays closed.
    let again = emulator.standin.dispute(&charge_id, "fraudulent").await;
    assert_eq!(
        again,
        Err(ChargeError::AlreadyDisputed {
            charge: charge_id.clone(),
            dispute: id.clone()
        })
    );
    let (status, closed) = emulator
        .admin(
            &format!("/_emulator/disputes/{id}/close"),
            json!({ "status": "won" }),
        )
        .await;
    assert_eq!((status, closed["status"].as_str()), (200, Some("won")));
    let mut all = opened.to_vec();
    all.extend(["charge.dispute.closed", "charge.dispute.funds_reinstated"]);
    let events = emulator.expect(&all).await;
    assert_eq!(
        events[5]["data"]["previous_attributes"],
        json!({ "status": "needs_response" })
    );
    assert_eq!(
        events[6]["data"]["object"]["balance_transactions"][1]["amount"],
        4100
    );
    let typed = RetrieveDispute::new(id.as_str())
        .send(client)
        .await
        .unwrap();
    assert_eq!(typed.status, DisputeStatus::Won);
    let (status, error) = emulator
        .admin(
            &format!("/_emulator/disputes/{id}/close"),
            json!({ "status": "lost" }),
        )
        .await;
    assert_eq!(status, 400, "{error}");
}

#[tokio::test]
async fn a_lost_dispute_sends_only_closed_and_bad_requests_are_refused() {
    let emulator = emulator().await;
    let paid = emulator.pay(Method::Card).await;
    let charge_id = paid.charge_id.unwrap();
    let standin = &emulator.standin;
    assert_eq!(
        standin.dispute(&charge_id, "bored").await,
        Err(ChargeError::UnknownReason("bored".into()))
    );
    let dispute = standin.dispute(&charge_id, "fraudulent").await.unwrap();
    let id = dispute["id"].as_str().unwrap();
    assert_eq!(standin.dispute_object(id).unwrap(), dispute);
    assert_eq!(
        standin.close_dispute(id, "maybe").await,
        Err(ChargeError::UnknownOutcome("maybe".into()))
    );
    let (status, error) = emulator
        .admin(&format!("/_emulator/disputes/{id}/close"), json!({}))
        .await;
    assert_eq!(
        (status, error["error"]["code"].as_str()),
        (400, Some("parameter_missing"))
    );
    let lost = standin.close_dispute(id, "lost").await.unwrap();
    assert_eq!(lost["status"], "lost");
    assert_eq!(
        lost["balance_transactions"].as_array().unwrap().len(),
        1,
        "nothing reinstated"
    );
    let expected = [
        PAID[0],
        PAID[1],
        PAID[2],
        "charge.dispute.created",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.closed",
    ];
    emulator.expect(&expected).await;
    assert_eq!(
        standin.close_dispute("du_nope", "won").await,
        Err(ChargeError::NoSuchDispute("du_nope".into()))
    );

    // Only a paid charge can be disputed or refunded: the failed charge of a declined attempt cannot.
    let declined = emulator
        .pay(Method::DeclinedThenCard)
        .await
        .declined_charge_id
        .unwrap();
    let not_paid = ChargeError::NotPaid {
        id: declined.clone(),
        status: "failed".into(),
    };
    assert_eq!(
        standin.dispute(&declined, "fraudulent").await,
        Err(not_paid.clone())
    );
    assert_eq!(standin.refund(&declined, None).await, Err(not_paid));
    let (status, _) = emulator
        .admin("/_emulator/charges/ch_nope/dispute", json!({}))
        .await;
    assert_eq!(status, 404);
}
