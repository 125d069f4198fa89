//! `events::sample` for every supported type: envelopes with the fixtures' top-level fields, the order id where
//! the service reads it (none on a dispute, as at Stripe: its charge carries it), and every referenced object
//! included; and `POST /_emulator/objects`, which registers them so that `GET` (and the typed client) returns them.

use std::collections::{BTreeSet, HashSet};

use crate::support::client::client;
use crate::support::raw::{admin, get_json};
use crate::support::API_KEY;
use serde_json::{json, Value};
use stripe_checkout::checkout_session::RetrieveCheckoutSession;
use stripe_core::charge::RetrieveCharge;
use stripe_core::dispute::RetrieveDispute;
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_core::DisputeStatus;
use stripe_standin::events::{self, envelope, sample, try_sample, SAMPLE_TYPES};
use stripe_standin::{StandIn, DECLINE_MESSAGE, FAILURE_MESSAGE};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/stripe");

fn fixture_keys() -> BTreeSet<String> {
    let raw = std::fs::read_to_string(format!("{FIXTURES}/charge.succeeded.json")).unwrap();
    let fixture: Value = serde_json::from_str(&raw).unwrap();
    fixture.as_object().unwrap().keys().cloned().collect()
}

/// The ids an object refers to: its payment intent, latest charge, disputed charge.
fn references(object: &Value) -> Vec<String> {
    let charge = if object["object"] == "dispute" {
        "charge"
    } else {
        "latest_charge"
    };
    ["payment_intent", charge]
        .iter()
        .filter_map(|field| object[*field].as_str().map(str::to_owned))
        .collect()
}

#[test]
fn samples_have_the_fixture_shape_order_id_and_their_objects() {
    let keys = fixture_keys();
    for event_type in SAMPLE_TYPES {
        let sample = sample(event_type, "order-77");
        let text = serde_json::to_string(&sample.event).unwrap();
        let event: Value = serde_json::from_str(&text).unwrap();
        let event_keys: BTreeSet<String> = event.as_object().unwrap().keys().cloned().collect();
        assert_eq!(event_keys, keys, "{event_type}");
        assert_eq!(event["type"], event_type);
        assert_eq!(event["object"], "event");
        assert_eq!(event["api_version"], events::API_VERSION);
        assert!(event["id"].as_str().unwrap().starts_with("evt_"));

        let object = &event["data"]["object"];
        let kind = object["object"].as_str().unwrap();
        assert!(
            event_type.starts_with(kind) || event_type.starts_with(&format!("charge.{kind}.")),
            "{event_type} carries a {kind}"
        );
        assert_eq!(object["livemode"], false, "{event_type}");
        if kind == "checkout.session" {
            assert_eq!(object["client_reference_id"], "order-77", "{event_type}");
            assert!(object["id"].as_str().unwrap().starts_with("cs_test_"));
        }
        check_metadata(object, event_type);

        let ids: HashSet<&str> = sample
            .objects
            .iter()
            .map(|o| o["id"].as_str().unwrap())
            .collect();
        assert!(ids.contains(object["id"].as_str().unwrap()));
        for object in &sample.objects {
            check_metadata(object, event_type);
            for id in references(object) {
                assert!(ids.contains(id.as_str()), "{event_type}: {id} not included");
            }
            if object["object"] == "charge" && object["paid"] == true {
                let receipt = object["receipt_url"].as_str().unwrap();
                assert!(receipt.starts_with("https://pay.stripe.com/receipts/payment/"));
            }
            if object["object"] == "charge" {
                assert!(object["id"].as_str().unwrap().starts_with("ch_"));
            }
            if object["object"] == "payment_intent" {
                assert!(object["id"].as_str().unwrap().starts_with("pi_"));
            }
        }
    }
    let refunded = sample("charge.refunded", "o").event;
    let charge = &refunded["data"]["object"];
    assert_eq!(charge["amount_refunded"], charge["amount"]);
    assert_eq!(charge["refunded"], true);
    assert_eq!(refunded["data"]["previous_attributes"]["refunded"], false);
    check_declined_attempt();
    check_disputes();
    // A bank debit that fails later gives a bank debit's reason, not a card's.
    let debit = sample("checkout.session.async_payment_failed", "o").objects;
    let error = &debit[1]["last_payment_error"];
    assert_eq!(error["message"], FAILURE_MESSAGE);
    assert!(!FAILURE_MESSAGE.contains("card"));
    assert_ne!(error["type"], "card_error");
    assert_eq!(
        sample("checkout.session.completed", "o").event["data"]["object"]["payment_status"],
        "paid"
    );
    assert_eq!(
        sample("checkout.session.async_payment_failed", "o").event["data"]["object"]
            ["payment_status"],
        "unpaid"
    );
    assert!(try_sample("customer.created", "o").is_none());
    assert_ne!(
        sample("charge.succeeded", "o").event["id"],
        sample("charge.succeeded", "o").event["id"]
    );

    let bare = envelope(
        "payment_intent.created",
        json!({"id": "pi_1", "object": "payment_intent"}),
    );
    assert_eq!(bare["data"]["object"]["id"], "pi_1");
    assert_eq!(
        bare["request"],
        json!({"id": null, "idempotency_key": null})
    );
}

/// An order's objects carry its id; a dispute carries no metadata of ours.
fn check_metadata(object: &Value, event_type: &str) {
    if object["object"] == "dispute" {
        assert_eq!(object["metadata"], json!({}), "{event_type}");
    } else {
        assert_eq!(object["metadata"]["orderId"], "order-77", "{event_type}");
    }
}

/// `payment_intent.payment_failed` and `charge.failed`: a declined card in a session that stays open.
fn check_declined_attempt() {
    for event_type in ["payment_intent.payment_failed", "charge.failed"] {
        let sample = sample(event_type, "o");
        let [_, _, _] = sample.objects[..] else {
            panic!("{event_type}: the object, its intent or charge, and the session")
        };
        let find = |kind: &str| sample.objects.iter().find(|o| o["object"] == kind).unwrap();
        let (intent, charge, session) = (
            find("payment_intent"),
            find("charge"),
            find("checkout.session"),
        );
        assert_eq!(intent["status"], "requires_payment_method");
        let error = &intent["last_payment_error"];
        assert_eq!(
            (error["type"].as_str(), error["code"].as_str()),
            (Some("card_error"), Some("card_declined"))
        );
        assert_eq!(error["message"], DECLINE_MESSAGE);
        assert_eq!(error["decline_code"], "generic_decline");
        assert_eq!(error["charge"], charge["id"]);
        assert_eq!(intent["latest_charge"], charge["id"]);
        assert_eq!(charge["payment_intent"], intent["id"]);
        assert_eq!(
            (charge["status"].as_str(), charge["paid"].as_bool()),
            (Some("failed"), Some(false))
        );
        assert_eq!(charge["failure_code"], "card_declined");
        assert_eq!(charge["failure_message"], DECLINE_MESSAGE);
        assert_eq!(charge["outcome"]["type"], "issuer_declined");
        assert_eq!(
            session["status"], "open",
            "the customer can try another card"
        );
        assert_eq!(session["payment_intent"], intent["id"]);
    }
}

/// The dispute events: a `du_` dispute of the whole paid charge, which is marked disputed and carries the order.
fn check_disputes() {
    for (event_type, status) in [
        ("charge.dispute.created", "needs_response"),
        ("charge.dispute.closed", "lost"),
    ] {
        let sample = sample(event_type, "o");
        let dispute = &sample.event["data"]["object"];
        assert!(dispute["id"].as_str().unwrap().starts_with("du_"));
        assert_eq!(dispute["object"], "dispute");
        assert_eq!(dispute["status"], status);
        assert_eq!(dispute["reason"], "fraudulent");
        assert_eq!(&sample.objects[0], dispute);
        let charge = &sample.objects[1];
        assert_eq!(dispute["charge"], charge["id"]);
        assert_eq!(dispute["payment_intent"], charge["payment_intent"]);
        assert_eq!(
            (&dispute["amount"], &dispute["currency"]),
            (&charge["amount"], &charge["currency"])
        );
        assert_eq!(charge["disputed"], true);
        assert_eq!(charge["status"], "succeeded");
        assert_eq!(charge["metadata"]["orderId"], "o");
        assert_eq!(dispute["balance_transactions"][0]["amount"], -4100);
        assert!(
            dispute["evidence_details"]["due_by"].as_i64().unwrap()
                > dispute["created"].as_i64().unwrap()
        );
    }
    let closed = sample("charge.dispute.closed", "o").event;
    assert_eq!(
        closed["data"]["previous_attributes"]["status"],
        "needs_response"
    );
}

async fn register(standin: &StandIn, body: &Value) -> (u16, Value) {
    admin(standin, "/_emulator/objects", body).await
}

#[tokio::test]
async fn registered_sample_objects_are_retrievable_typed() {
    let standin = StandIn::with_api_key(API_KEY).await;
    let client = client(&standin);
    for event_type in SAMPLE_TYPES {
        let sample = sample(event_type, "order-9");
        for object in &sample.objects {
            let (status, echoed) = register(&standin, object).await;
            assert_eq!(status, 201, "{echoed}");
            assert_eq!(&echoed, object);
        }
        for object in &sample.objects {
            let id = object["id"].as_str().unwrap();
            match object["object"].as_str().unwrap() {
                "payment_intent" => {
                    let pi = RetrievePaymentIntent::new(id)
                        .expand(vec!["latest_charge".to_owned()])
                        .send(&client)
                        .await
                        .unwrap();
                    assert_eq!(pi.metadata["orderId"], "order-9");
                }
                "charge" => {
                    // The charge leads to the order, also for a dispute that carries no metadata.
                    let charge = RetrieveCharge::new(id)
                        .expand(vec!["payment_intent".to_owned()])
                        .send(&client)
                        .await
                        .unwrap();
                    assert_eq!(charge.metadata["orderId"], "order-9", "{event_type}");
                    let intent = charge.payment_intent.as_ref().unwrap().as_object().unwrap();
                    assert_eq!(intent.metadata["orderId"], "order-9", "{event_type}");
                    assert_eq!(charge.receipt_url.is_some(), charge.paid, "{event_type}");
                }
                "dispute" => {
                    let dispute = RetrieveDispute::new(id).send(&client).await.unwrap();
                    assert_eq!(
                        Some(dispute.charge.id().as_str()),
                        object["charge"].as_str()
                    );
                    assert!(dispute.metadata.is_empty());
                    let expected = if event_type.ends_with("closed") {
                        DisputeStatus::Lost
                    } else {
                        DisputeStatus::NeedsResponse
                    };
                    assert_eq!(dispute.status, expected);
                }
                _ => {
                    let session = RetrieveCheckoutSession::new(id)
                        .send(&client)
                        .await
                        .unwrap();
                    assert_eq!(session.client_reference_id.as_deref(), Some("order-9"));
                }
            }
        }
    }
    // An array at once; the raw GET returns exactly what was stored.
    let sample = sample("charge.succeeded", "order-10");
    let (status, _) = register(&standin, &Value::Array(sample.objects.clone())).await;
    assert_eq!(status, 201);
    let charge = &sample.event["data"]["object"];
    let charge_path = format!("/v1/charges/{}", charge["id"].as_str().unwrap());
    let (_, got) = get_json(&standin, &charge_path).await;
    assert_eq!(&got, charge);
    // Admin requests are not part of Stripe's API: not recorded.
    assert!(standin
        .requests()
        .iter()
        .all(|r| r.path.starts_with("/v1/")));
}

#[tokio::test]
async fn registering_refuses_what_it_cannot_store() {
    let standin = StandIn::start().await;
    for body in [
        json!({"id": "cus_1", "object": "customer"}),
        json!({"id": "re_1", "object": "refund"}),
        json!({"object": "charge"}),
        json!([{"id": "ch_1", "object": "charge"}, {"id": "x"}]),
        json!("text"),
    ] {
        let (status, error) = register(&standin, &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
    // Nothing of the refused array was stored.
    let (status, _) = get_json(&standin, "/v1/charges/ch_1").await;
    assert_eq!(status, 404);
}
