//! The Checkout emulator's payments seen through the real Stripe client the service uses (async-stripe
//! 1.0.0-rc.10): after paying, the session, payment intent and charge deserialize into the typed structs and show
//! the paid (or failed) state.

use std::time::Duration;

use crate::support::client::{api_error, client, order_metadata, t_shirts};
use crate::support::receiver::Receiver;
use stripe_checkout::checkout_session::{ExpireCheckoutSession, RetrieveCheckoutSession};
use stripe_checkout::{CheckoutSessionPaymentStatus, CheckoutSessionStatus};
use stripe_core::charge::RetrieveCharge;
use stripe_core::payment_intent::RetrievePaymentIntent;
use stripe_core::{ChargeStatus, PaymentIntentStatus};
use stripe_standin::{events, FlowError, Method, StandIn, FAILURE_MESSAGE};
use stripe_types::Currency;

const WAIT: Duration = Duration::from_secs(10);

#[tokio::test]
async fn card_payment_is_retrievable_typed_in_its_paid_state() {
    let standin = StandIn::start().await;
    let client = client(&standin);
    let session = t_shirts().send(&client).await.unwrap();
    let paid = standin
        .pay(session.id.as_str(), Method::Card)
        .await
        .unwrap();
    assert_eq!(
        paid.redirect_url.as_deref(),
        Some("https://shop.example/success")
    );
    let charge_id = paid.charge_id.clone().unwrap();

    let session = RetrieveCheckoutSession::new(session.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(session.status, Some(CheckoutSessionStatus::Complete));
    assert_eq!(session.payment_status, CheckoutSessionPaymentStatus::Paid);
    assert_eq!(session.url, None);
    assert_eq!(
        session.payment_intent.as_ref().map(|p| p.id().as_str()),
        Some(paid.payment_intent_id.as_str())
    );
    assert!(session.customer_details.is_some());

    let pi = RetrievePaymentIntent::new(paid.payment_intent_id.as_str())
        .expand(vec!["latest_charge".to_owned()])
        .send(&client)
        .await
        .unwrap();
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
    assert_eq!((pi.amount, pi.amount_received), (4100, 4100));
    assert_eq!(pi.currency, Currency::USD);
    // payment_intent_data[metadata] becomes the payment intent's (and its charge's) metadata, as at Stripe.
    assert_eq!(pi.metadata, order_metadata());
    let latest = pi
        .latest_charge
        .as_ref()
        .and_then(|c| c.as_object())
        .expect("latest_charge expanded");
    assert_eq!(latest.id.as_str(), charge_id);

    let charge = RetrieveCharge::new(charge_id.as_str())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(charge.status, ChargeStatus::Succeeded);
    assert!(charge.paid && charge.captured && !charge.refunded);
    assert_eq!((charge.amount, charge.amount_captured), (4100, 4100));
    assert_eq!(charge.metadata, order_metadata());
    assert_eq!(
        charge.payment_intent.as_ref().map(|p| p.id().as_str()),
        Some(paid.payment_intent_id.as_str())
    );
    let receipt = charge.receipt_url.expect("a receipt URL");
    assert!(receipt.starts_with("https://pay.stripe.com/receipts/payment/"));
    assert_eq!(latest.receipt_url.as_deref(), Some(receipt.as_str()));

    // Paying again is refused, as Stripe's page refuses a completed session.
    let again = standin.pay(session.id.as_str(), Method::Card).await;
    assert!(matches!(again, Err(FlowError::NotOpen { status, .. }) if status == "complete"));
    // The events carry the API version the client sends.
    assert_eq!(
        standin.requests()[0].header("stripe-version"),
        Some(events::API_VERSION)
    );
    assert_eq!(standin.events()[0]["api_version"], events::API_VERSION);
}

#[tokio::test]
async fn delayed_failure_leaves_a_typed_failed_intent() {
    let receiver = Receiver::start().await;
    let standin = receiver.standin().start().await;
    let client = client(&standin);
    let session = t_shirts().send(&client).await.unwrap();
    let paid = standin
        .pay(session.id.as_str(), Method::DelayedFailure)
        .await
        .unwrap();
    assert_eq!(paid.charge_id, None);
    assert!(
        standin.wait_delivered(3, WAIT).await,
        "{:?}",
        standin.deliveries()
    );

    let pi = RetrievePaymentIntent::new(paid.payment_intent_id.as_str())
        .expand(vec!["latest_charge".to_owned()])
        .send(&client)
        .await
        .unwrap();
    assert_eq!(pi.status, PaymentIntentStatus::RequiresPaymentMethod);
    assert_eq!(pi.amount_received, 0);
    let error = pi.last_payment_error.expect("last_payment_error");
    assert_eq!(error.message.as_deref(), Some(FAILURE_MESSAGE));
    assert!(pi.latest_charge.is_none());

    let session = RetrieveCheckoutSession::new(session.id.clone())
        .expand(vec!["payment_intent".to_owned()])
        .send(&client)
        .await
        .unwrap();
    assert_eq!(session.status, Some(CheckoutSessionStatus::Complete));
    assert_eq!(session.payment_status, CheckoutSessionPaymentStatus::Unpaid);
    assert!(session.payment_intent.unwrap().is_object());
}

#[tokio::test]
async fn delayed_success_is_processing_then_paid() {
    let receiver = Receiver::start().await;
    let standin = receiver
        .standin()
        .settle_delay(Duration::from_millis(300))
        .start()
        .await;
    let client = client(&standin);
    let session = t_shirts().send(&client).await.unwrap();
    let paid = standin
        .pay(session.id.as_str(), Method::DelayedSuccess)
        .await
        .unwrap();
    let pi_id = paid.payment_intent_id.as_str();
    let pi = RetrievePaymentIntent::new(pi_id)
        .send(&client)
        .await
        .unwrap();
    assert_eq!(pi.status, PaymentIntentStatus::Processing);

    assert!(
        standin.wait_delivered(4, WAIT).await,
        "{:?}",
        standin.deliveries()
    );
    let pi = RetrievePaymentIntent::new(pi_id)
        .send(&client)
        .await
        .unwrap();
    assert_eq!(pi.status, PaymentIntentStatus::Succeeded);
    assert_eq!(
        pi.latest_charge.as_ref().map(|c| c.id().as_str()),
        paid.charge_id.as_deref()
    );
    let session = RetrieveCheckoutSession::new(session.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(session.payment_status, CheckoutSessionPaymentStatus::Paid);
}

#[tokio::test]
async fn the_api_expires_open_sessions_only() {
    let standin = StandIn::start().await;
    let client = client(&standin);
    let session = t_shirts().send(&client).await.unwrap();
    let expired = ExpireCheckoutSession::new(session.id.clone())
        .send(&client)
        .await
        .unwrap();
    assert_eq!(expired.status, Some(CheckoutSessionStatus::Expired));
    assert_eq!(expired.url, None);
    assert_eq!(standin.events()[0]["type"], "checkout.session.expired");

    let (error, status) = api_error(ExpireCheckoutSession::new(session.id).send(&client).await);
    assert_eq!(status, 400);
    assert_eq!(
        error.message.as_deref(),
        Some(
            "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a \
             status of `expired`."
        )
    );
    let (error, status) = api_error(
        ExpireCheckoutSession::new("cs_test_nope")
            .send(&client)
            .await,
    );
    assert_eq!(status, 404);
    assert_eq!(
        error.message.as_deref(),
        Some("No such checkout.session: 'cs_test_nope'")
    );
}
