//! The stand-in against the real Stripe client the service uses (async-stripe 1.0.0-rc.10): what it sends must be
//! understood, and what it answers must deserialize into the typed structs (which require complete objects).

use crate::support::client::{client, order_metadata, t_shirts};
use serde_json::{json, Map, Value};
use stripe_checkout::checkout_session::RetrieveCheckoutSession;
use stripe_checkout::{
    CheckoutSession, CheckoutSessionMode, CheckoutSessionPaymentStatus, CheckoutSessionStatus,
};
use stripe_core::charge::RetrieveCharge;
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_core::{ChargeStatus, PaymentIntentStatus};
use stripe_standin::{objects, StandIn};
use stripe_types::Currency;

#[tokio::test]
async fn creates_a_typed_checkout_session_and_records_the_form() {
    let standin = StandIn::start().await;
    let client = client(&standin);
    let session: CheckoutSession = t_shirts().send(&client).await.unwrap();

    assert!(session.id.as_str().starts_with("cs_test_"));
    assert_eq!(
        session.url.as_deref(),
        Some(format!("{}/checkout/{}", standin.base_url(), session.id).as_str())
    );
    assert_eq!(session.mode, CheckoutSessionMode::Payment);
    assert_eq!(session.status, Some(CheckoutSessionStatus::Open));
    assert_eq!(session.payment_status, CheckoutSessionPaymentStatus::Unpaid);
    assert_eq!(session.currency, Some(Currency::USD));
    assert_eq!(
        (session.amount_subtotal, session.amount_total),
        (Some(4100), Some(4100))
    );
    assert_eq!(session.client_reference_id.as_deref(), Some("ord_42"));
    assert_eq!(session.metadata, Some(order_metadata()));
    assert_eq!(
        session.success_url.as_deref(),
        Some("https://shop.example/success")
    );
    assert!(!session.livemode);
    assert_eq!(session.expires_at - session.created, 24 * 3600);
    assert_eq!(standin.sessions_created(), 1);

    let requests = standin.requests();
    let post = &requests[0];
    assert_eq!(
        (post.method.as_str(), post.path.as_str()),
        ("POST", "/v1/checkout/sessions")
    );
    assert_eq!(post.header("Authorization"), Some("Bearer sk_test_x"));
    assert_eq!(
        post.header("content-type"),
        Some("application/x-www-form-urlencoded")
    );
    assert!(post.header("stripe-version").is_some());
    for (key, value) in [
        ("mode", "payment"),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][product_data][name]", "T-Shirt"),
        ("line_items[0][price_data][unit_amount]", "2050"),
        ("line_items[0][quantity]", "2"),
        ("client_reference_id", "ord_42"),
        ("metadata[orderId]", "ord_42"),
        ("payment_intent_data[metadata][orderId]", "ord_42"),
        ("payment_intent_data[metadata][tenant]", "acme"),
        ("success_url", "https://shop.example/success"),
    ] {
        assert_eq!(post.form_value(key), Some(value), "{key}");
    }

    let again = RetrieveCheckoutSession::new(session.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(again.id, session.id);
    assert_eq!(again.amount_total, Some(4100));
}

#[tokio::test]
async fn expands_line_items_into_typed_items() {
    let standin = StandIn::start().await;
    let client = client(&standin);
    let session = t_shirts()
        .expand(vec!["line_items".to_owned()])
        .send(&client)
        .await
        .unwrap();
    let items = session.line_items.expect("line_items expanded").data;
    assert_eq!(items.len(), 1);
    assert_eq!((items[0].quantity, items[0].amount_total), (Some(2), 4100));
    assert_eq!(items[0].description.as_deref(), Some("T-Shirt"));
    assert_eq!(
        items[0].price.as_ref().and_then(|p| p.unit_amount),
        Some(2050)
    );
    assert_eq!(
        standin.requests()[0].form_value("expand[0]"),
        Some("line_items")
    );
}

fn metadata(order: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("orderId".into(), json!(order));
    map
}

#[tokio::test]
async fn retrieves_typed_payment_intent_with_expanded_charge_and_charge() {
    let standin = StandIn::start().await;
    let client = client(&standin);
    let receipt = "https://pay.stripe.com/receipts/payment/abc";
    standin.insert_payment_intent(objects::payment_intent(
        "pi_1",
        Some("ch_1"),
        &metadata("ord_1"),
    ));
    standin.insert_charge(objects::charge("ch_1", "pi_1", &metadata("ord_1"), receipt));

    let pi = RetrievePaymentIntent::new("pi_1")
        .expand(vec!["latest_charge".to_owned()])
        .send(&client)
        .await
        .unwrap();
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
    assert_eq!(
        (pi.amount, pi.amount_received),
        (objects::FIXTURE_AMOUNT, objects::FIXTURE_AMOUNT)
    );
    assert_eq!(
        pi.metadata.get("orderId").map(String::as_str),
        Some("ord_1")
    );
    let charge = pi
        .latest_charge
        .as_ref()
        .and_then(|c| c.as_object())
        .expect("latest_charge expanded");
    assert_eq!(charge.id.as_str(), "ch_1");
    assert_eq!(charge.receipt_url.as_deref(), Some(receipt));
    let query = &standin.requests()[0].query;
    assert_eq!(
        query,
        &[("expand[0]".to_owned(), "latest_charge".to_owned())]
    );

    let unexpanded = RetrievePaymentIntent::new("pi_1")
        .send(&client)
        .await
        .unwrap();
    assert_eq!(
        unexpanded.latest_charge.as_ref().map(|c| c.id().as_str()),
        Some("ch_1")
    );
    assert!(!unexpanded.latest_charge.unwrap().is_object());

    let charge = RetrieveCharge::new("ch_1").send(&client).await.unwrap();
    assert_eq!(charge.status, ChargeStatus::Succeeded);
    assert!(charge.paid && charge.captured && !charge.refunded);
    assert_eq!(
        charge.payment_intent.as_ref().map(|p| p.id().as_str()),
        Some("pi_1")
    );
    assert_eq!(
        charge.metadata.get("orderId").map(String::as_str),
        Some("ord_1")
    );

    let pending = objects::payment_intent("pi_2", None, &Map::new());
    standin.insert_payment_intent(pending);
    let pending = RetrievePaymentIntent::new("pi_2")
        .send(&client)
        .await
        .unwrap();
    assert_eq!(pending.status, PaymentIntentStatus::RequiresPaymentMethod);
    assert!(pending.latest_charge.is_none());
}
