use serde_json::{json, Value};

use super::*;
use crate::payment::lifecycle::Verdict;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/stripe/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn event(mut value: Value, edit: impl FnOnce(&mut Value)) -> Event {
    edit(&mut value["data"]["object"]);
    parse(value.to_string().as_bytes())
}

/// What `stripe::event` fills from a body (it keeps fewer fields of the object; the mapping reads only those).
fn parse(body: &[u8]) -> Event {
    let value: Value = serde_json::from_slice(body).unwrap();
    Event {
        id: value["id"].as_str().unwrap().to_owned(),
        event_type: value["type"].as_str().unwrap().to_owned(),
        livemode: value["livemode"].as_bool(),
        object: value["data"]["object"].as_object().unwrap().clone(),
    }
}

fn with_order(object: &mut Value) {
    object["metadata"] = json!({"orderId": "3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69"});
}

const ORDER: &str = "3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69";

fn report(plan: Plan) -> Report {
    match plan {
        Plan::Report(report) => *report,
        other => panic!("{other:?}"),
    }
}

fn outcome(plan: Plan) -> Outcome {
    match report(plan).news {
        News::Outcome(outcome) => outcome,
        other => panic!("{other:?}"),
    }
}

#[test]
fn charge_succeeded_carries_exactly_the_orders_ms_keys() {
    let report = report(plan(&event(fixture("charge.succeeded"), with_order)));
    assert_eq!(report.news, News::Succeeded);
    assert_eq!(report.order_id.as_deref(), Some(ORDER));
    assert_eq!(
        report.payment.intent.as_deref(),
        Some("pi_3RTqw0RMEOaIvYpU1pQl3Lmp")
    );
    let receipt = report
        .payment
        .receipt
        .expect("the charge carries its receipt");
    assert_eq!(receipt.charge_id, "ch_3RTqw0RMEOaIvYpU1M9ZYtjP");
    let Verdict::Publish(outcomes) = crate::payment::lifecycle::decide(
        &Default::default(),
        ORDER,
        &Payment {
            receipt: Some(receipt),
            ..report.payment
        },
        &News::Succeeded,
    ) else {
        panic!()
    };
    assert_eq!(outcomes[0].id, "succeeded.pi_3RTqw0RMEOaIvYpU1pQl3Lmp");
    assert_eq!(outcomes[0].message.subject(), "payment.succeeded");
    let body: Value = serde_json::from_slice(&outcomes[0].message.to_json()).unwrap();
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
fn the_three_events_of_one_payment_name_one_payment() {
    let pi = "pi_3RTqw0RMEOaIvYpU1pQl3Lmp";
    let charge = report(plan(&event(fixture("charge.succeeded"), with_order)));
    let session = report(plan(&event(
        fixture("checkout.session.completed.with_metadata"),
        |o| {
            o["payment_intent"] = json!(pi);
        },
    )));
    let mut intent = fixture("charge.succeeded");
    intent["type"] = json!("payment_intent.succeeded");
    intent["data"]["object"] = json!({"id": pi, "object": "payment_intent", "latest_charge": "ch_1",
        "metadata": {"orderId": ORDER}, "status": "succeeded"});
    let intent = report(plan(&parse(intent.to_string().as_bytes())));
    for r in [&charge, &session, &intent] {
        assert_eq!(r.payment.intent.as_deref(), Some(pi));
        assert_eq!(r.news, News::Succeeded);
    }
    assert_eq!(intent.lookup, Some(ChargeLookup::Charge("ch_1".into())));
    assert_eq!(session.lookup, Some(ChargeLookup::LatestOf(pi.into())));
    assert!(session.payment.session.is_some());
}

#[test]
fn session_order_id_falls_back_to_metadata_order_id_and_client_reference() {
    let report = report(plan(&event(
        fixture("checkout.session.completed.with_metadata"),
        |_| {},
    )));
    assert_eq!(report.order_id.as_deref(), Some("order_0001"));
}

#[test]
fn unpaid_completion_waits_for_the_async_result() {
    let p = plan(&event(fixture("checkout.session.completed.unpaid"), |_| {}));
    assert!(matches!(p, Plan::Ignore(Unused::NotYet(_))), "{p:?}");
    let mut settled = fixture("checkout.session.completed.unpaid");
    settled["type"] = json!("checkout.session.async_payment_succeeded");
    let r = report(plan(&parse(settled.to_string().as_bytes())));
    assert_eq!(r.news, News::Succeeded);
}

#[test]
fn failed_expired_refunded() {
    let mut failed = fixture("checkout.session.completed.unpaid");
    failed["type"] = json!("checkout.session.async_payment_failed");
    let o = outcome(plan(&parse(failed.to_string().as_bytes())));
    assert_eq!(o.message.subject(), "payment.failed");
    let body: Value = serde_json::from_slice(&o.message.to_json()).unwrap();
    assert_eq!(
        body.as_object().unwrap().keys().collect::<Vec<_>>(),
        ["orderId", "reason", "stripePaymentId"]
    );

    let o = outcome(plan(&event(fixture("checkout.session.expired"), |_| {})));
    let body: Value = serde_json::from_slice(&o.message.to_json()).unwrap();
    assert_eq!(o.message.subject(), "payment.expired");
    assert_eq!(
        body["sessionId"],
        fixture("checkout.session.expired")["data"]["object"]["id"]
    );
    assert_eq!(body.as_object().unwrap().len(), 2);

    let o = outcome(plan(&event(fixture("charge.refunded"), with_order)));
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
fn a_declined_attempt_is_not_final_and_calls_nobody_back() {
    let mut value = fixture("charge.succeeded");
    value["type"] = json!("payment_intent.payment_failed");
    value["data"]["object"] = json!({"id": "pi_1", "object": "payment_intent", "metadata": {"orderId": ORDER},
        "last_payment_error": {"message": "Your card was declined.", "code": "card_declined"}});
    let o = outcome(plan(&parse(value.to_string().as_bytes())));
    assert_eq!(o.message.subject(), "payment.attempt_failed");
    assert_eq!(o.message.meaning(), Meaning::Unpaid { final_: false });
    assert_eq!(o.message.callback_status(), None);
    let body: Value = serde_json::from_slice(&o.message.to_json()).unwrap();
    assert_eq!(
        body,
        json!({"orderId": ORDER, "stripePaymentId": "pi_1", "reason": "Your card was declined."})
    );
}

#[test]
fn disputes_name_the_charge_and_find_their_order_later() {
    let mut value = fixture("charge.succeeded");
    value["type"] = json!("charge.dispute.created");
    value["data"]["object"] = json!({"id": "du_1", "object": "dispute", "amount": 2050, "currency": "usd",
        "charge": "ch_1", "payment_intent": "pi_1", "reason": "fraudulent", "status": "needs_response",
        "metadata": {}});
    let created = report(plan(&parse(value.to_string().as_bytes())));
    assert_eq!(created.order_id, None);
    assert_eq!(created.lookup, Some(ChargeLookup::Charge("ch_1".into())));
    let News::Outcome(o) = &created.news else {
        panic!()
    };
    assert_eq!(o.id, "disputed.du_1");
    assert_eq!(o.message.callback_status(), None);
    let body: Value =
        serde_json::from_slice(&o.message.clone().for_order("o-1").to_json()).unwrap();
    assert_eq!(
        body,
        json!({"orderId": "o-1", "stripePaymentId": "ch_1", "disputeId": "du_1", "amount": 2050,
            "currency": "usd", "reason": "fraudulent"})
    );

    value["type"] = json!("charge.dispute.closed");
    value["data"]["object"]["status"] = json!("won");
    let News::Follows { first, then: o } = report(plan(&parse(value.to_string().as_bytes()))).news
    else {
        panic!("a closing follows the opening")
    };
    assert_eq!(first.id, "disputed.du_1");
    assert_eq!(o.id, "dispute_closed.du_1");
    let body: Value = serde_json::from_slice(&o.message.to_json()).unwrap();
    assert_eq!(
        body,
        json!({"orderId": "", "stripePaymentId": "ch_1", "disputeId": "du_1", "status": "won"})
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
        plan(&parse(other.to_string().as_bytes())),
        Plan::Ignore(Unused::IrrelevantType)
    );
    assert!(matches!(
        plan(&event(fixture("charge.refunded"), |o| {
            with_order(o);
            o["amount_refunded"] = json!("x");
        })),
        Plan::Ignore(Unused::Unusable(_))
    ));
    for quiet in [
        "charge.failed",
        "charge.dispute.updated",
        "charge.dispute.funds_withdrawn",
    ] {
        let mut event = fixture("charge.succeeded");
        event["type"] = json!(quiet);
        assert_eq!(
            plan(&parse(event.to_string().as_bytes())),
            Plan::Ignore(Unused::IrrelevantType)
        );
    }
}

#[test]
fn outcome_ids_are_safe_keys() {
    assert_eq!(
        outcome_id("refunded", &["ch_1", "100"]),
        "refunded.ch_1.100"
    );
    assert_eq!(outcome_id("expired", &["cs.*>"]), "expired.cs___");
}
