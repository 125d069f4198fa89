use serde_json::{json, Value};

use super::*;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/stripe/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn event(mut value: Value, edit: impl FnOnce(&mut Value)) -> StripeEvent {
    edit(&mut value["data"]["object"]);
    StripeEvent::parse(value.to_string().as_bytes()).unwrap()
}

fn with_order(object: &mut Value) {
    object["metadata"] = json!({"orderId": "3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69"});
}

const ORDER: &str = "3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69";

#[test]
fn charge_succeeded_publishes_exactly_the_orders_ms_keys() {
    let plan = plan(&event(fixture("charge.succeeded"), with_order));
    let Plan::Publish(outcome) = plan else {
        panic!("{plan:?}")
    };
    assert_eq!(outcome.id, "succeeded.pi_3RTqw0RMEOaIvYpU1pQl3Lmp");
    assert_eq!(outcome.message.subject(), "payment.succeeded");
    let body: Value = serde_json::from_slice(&outcome.message.to_json()).unwrap();
    assert_eq!(
        body,
        json!({
            "stripePaymentId": "ch_3RTqw0RMEOaIvYpU1M9ZYtjP",
            "orderId": ORDER,
            "receiptUrl": fixture("charge.succeeded")["data"]["object"]["receipt_url"],
        })
    );
}

#[test]
fn the_three_events_of_one_payment_share_one_outcome_id() {
    let pi = "pi_3RTqw0RMEOaIvYpU1pQl3Lmp";
    let charge = plan(&event(fixture("charge.succeeded"), with_order));
    let session = plan(&event(
        fixture("checkout.session.completed.with_metadata"),
        |o| {
            o["payment_intent"] = json!(pi);
        },
    ));
    let mut intent = fixture("charge.succeeded");
    intent["type"] = json!("payment_intent.succeeded");
    intent["data"]["object"] = json!({"id": pi, "object": "payment_intent", "latest_charge": "ch_1",
        "metadata": {"orderId": ORDER}, "status": "succeeded"});
    let intent = plan(&StripeEvent::parse(intent.to_string().as_bytes()).unwrap());
    let id_of = |p: &Plan| match p {
        Plan::Publish(o) => o.id.clone(),
        Plan::SucceededAfterLookup { outcome_id, .. } => outcome_id.clone(),
        other => panic!("{other:?}"),
    };
    assert_eq!(id_of(&charge), format!("succeeded.{pi}"));
    assert_eq!(id_of(&session), id_of(&charge));
    assert_eq!(id_of(&intent), id_of(&charge));
    assert!(
        matches!(intent, Plan::SucceededAfterLookup { lookup: ChargeLookup::Charge(ref c), .. } if c == "ch_1")
    );
    assert!(
        matches!(session, Plan::SucceededAfterLookup { lookup: ChargeLookup::LatestOf(ref p), .. } if p == pi)
    );
}

#[test]
fn session_order_id_falls_back_to_metadata_order_id_and_client_reference() {
    let Plan::SucceededAfterLookup { order_id, .. } = plan(&event(
        fixture("checkout.session.completed.with_metadata"),
        |_| {},
    )) else {
        panic!()
    };
    assert_eq!(order_id, "order_0001");
}

#[test]
fn unpaid_completion_waits_for_the_async_result() {
    let p = plan(&event(fixture("checkout.session.completed.unpaid"), |_| {}));
    assert!(matches!(p, Plan::Ignore(Unused::NotYet(_))), "{p:?}");
    let mut settled = fixture("checkout.session.completed.unpaid");
    settled["type"] = json!("checkout.session.async_payment_succeeded");
    let p = plan(&StripeEvent::parse(settled.to_string().as_bytes()).unwrap());
    assert!(matches!(p, Plan::SucceededAfterLookup { .. }), "{p:?}");
}

#[test]
fn failed_expired_refunded() {
    let mut failed = fixture("checkout.session.completed.unpaid");
    failed["type"] = json!("checkout.session.async_payment_failed");
    let Plan::Publish(o) = plan(&StripeEvent::parse(failed.to_string().as_bytes()).unwrap()) else {
        panic!()
    };
    assert_eq!(o.message.subject(), "payment.failed");
    let body: Value = serde_json::from_slice(&o.message.to_json()).unwrap();
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["orderId", "reason", "stripePaymentId"]
    );

    let Plan::Publish(o) = plan(&event(fixture("checkout.session.expired"), |_| {})) else {
        panic!()
    };
    let body: Value = serde_json::from_slice(&o.message.to_json()).unwrap();
    assert_eq!(o.message.subject(), "payment.expired");
    assert_eq!(
        body["sessionId"],
        fixture("checkout.session.expired")["data"]["object"]["id"]
    );
    assert_eq!(body.as_object().unwrap().len(), 2);

    let Plan::Publish(o) = plan(&event(fixture("charge.refunded"), with_order)) else {
        panic!()
    };
    let body: Value = serde_json::from_slice(&o.message.to_json()).unwrap();
    assert_eq!(o.message.subject(), "payment.refunded");
    assert_eq!(body["amountRefunded"], 100);
    assert_eq!(body["currency"], "usd");
    assert_eq!(
        body["fullyRefunded"],
        json!(fixture("charge.refunded")["data"]["object"]["refunded"])
    );
    assert_eq!(
        o.id,
        format!("refunded.{}.100", body["stripePaymentId"].as_str().unwrap())
    );
}

#[test]
fn unusable_and_irrelevant_events_are_not_published() {
    // The real fixture has empty metadata: no orderId.
    assert!(matches!(
        plan(&event(fixture("charge.succeeded"), |_| {})),
        Plan::Ignore(Unused::Unusable(_))
    ));
    let mut other = fixture("charge.succeeded");
    other["type"] = json!("customer.created");
    assert_eq!(
        plan(&StripeEvent::parse(other.to_string().as_bytes()).unwrap()),
        Plan::Ignore(Unused::IrrelevantType)
    );
    assert!(matches!(
        plan(&event(fixture("charge.refunded"), |o| {
            with_order(o);
            o["amount_refunded"] = json!("x");
        })),
        Plan::Ignore(Unused::Unusable(_))
    ));
}

#[test]
fn outcome_ids_are_safe_keys() {
    assert_eq!(
        outcome_id("refunded", &["ch_1", "100"]),
        "refunded.ch_1.100"
    );
    assert_eq!(outcome_id("expired", &["cs.*>"]), "expired.cs___");
}
