//! Stripe event envelopes (`object: "event"`) shaped like the ones Stripe delivers to webhook endpoints, and
//! realistic sample events of a Checkout payment's life (paid, declined, failed, expired, refunded, disputed) with
//! the objects they refer to (for the service's `payments trigger` CLI, and for tests).

use serde_json::{json, Map, Value};

use crate::dispute_object::dispute_object;
use crate::ids;
use crate::objects::{self, SessionSpec, FIXTURE_AMOUNT, FIXTURE_CURRENCY};
use crate::payment::{self, Attempt, Intent, Payment};

/// The API version of the events built here: the one the pinned `async-stripe` (1.0.0-rc.10) sends as
/// `Stripe-Version`.
pub const API_VERSION: &str = "2026-09-30.endive";

/// The event types [`sample`] builds.
pub const SAMPLE_TYPES: [&str; 11] = [
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "checkout.session.expired",
    "payment_intent.succeeded",
    "payment_intent.payment_failed",
    "charge.succeeded",
    "charge.failed",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
];

/// A fresh event of type `event_type` about `object` (the whole object, as `GET` returns it): a new `evt_…` id,
/// created now, test mode, no request.
pub fn envelope(event_type: &str, object: Value) -> Value {
    json!({
        "id": ids::random_id("evt_1", 23),
        "object": "event",
        "api_version": API_VERSION,
        "created": ids::now(),
        "data": { "object": object },
        "livemode": false,
        "pending_webhooks": 1,
        "request": { "id": null, "idempotency_key": null },
        "type": event_type,
    })
}

/// A sample event and every object it refers to.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The event envelope.
    pub event: Value,
    /// The event's own object, then the dispute, payment intent, charge and Checkout session involved, as `GET`
    /// would return them now (register them with `POST /_emulator/objects` before sending the event, for
    /// receivers that look them up).
    pub objects: Vec<Value>,
}

/// A realistic event of `event_type` (one of [`SAMPLE_TYPES`]) for order `order_id`: a 41.00 USD Checkout payment
/// with fresh ids, `metadata.orderId` on the session, payment intent and charge, and `client_reference_id` on the
/// session. `payment_intent.payment_failed` and `charge.failed` are a declined card attempt (the session stays
/// open); `checkout.session.async_payment_failed` a failed bank debit; the dispute events carry a `fraudulent`
/// dispute (`needs_response`, closed as `lost`) with no metadata, as Stripe's do: the order is found from its
/// charge.
///
/// # Panics
/// If `event_type` is not one of [`SAMPLE_TYPES`] (see [`try_sample`]).
pub fn sample(event_type: &str, order_id: &str) -> Sample {
    try_sample(event_type, order_id).unwrap_or_else(|| {
        panic!(
            "stripe-standin: no sample of {event_type:?}; known: {}",
            SAMPLE_TYPES.join(", ")
        )
    })
}

/// [`sample`], or `None` for a type not in [`SAMPLE_TYPES`].
pub fn try_sample(event_type: &str, order_id: &str) -> Option<Sample> {
    let mut metadata = Map::new();
    metadata.insert("orderId".into(), json!(order_id));
    let payment = Payment::new(FIXTURE_AMOUNT, FIXTURE_CURRENCY, metadata.clone());
    let mut session = sample_session(order_id, metadata);
    let paid = |session: &mut Value| payment::complete(session, &payment.intent_id, true);
    let (object, objects) = match event_type {
        "checkout.session.completed" | "checkout.session.async_payment_succeeded" => {
            paid(&mut session);
            let objects = vec![payment.intent(Intent::Succeeded), payment.charge()];
            (session, objects)
        }
        "checkout.session.async_payment_failed" => {
            payment::complete(&mut session, &payment.intent_id, false);
            (session, vec![payment.intent(Intent::DebitFailed)])
        }
        "checkout.session.expired" => {
            payment::expire(&mut session);
            (session, vec![])
        }
        "payment_intent.succeeded" => {
            paid(&mut session);
            (
                payment.intent(Intent::Succeeded),
                vec![payment.charge(), session],
            )
        }
        "payment_intent.payment_failed" | "charge.failed" => {
            let attempt = Attempt::new();
            session["payment_intent"] = json!(payment.intent_id);
            let intent = payment.declined_intent(&attempt);
            let charge = payment.declined_charge(&attempt);
            if event_type == "charge.failed" {
                (charge, vec![intent, session])
            } else {
                (intent, vec![charge, session])
            }
        }
        "charge.succeeded" => {
            paid(&mut session);
            (
                payment.charge(),
                vec![payment.intent(Intent::Succeeded), session],
            )
        }
        "charge.refunded" => {
            paid(&mut session);
            let mut charge = payment.charge();
            charge["amount_refunded"] = json!(payment.amount);
            charge["refunded"] = json!(true);
            let mut event = envelope(event_type, charge.clone());
            event["data"]["previous_attributes"] =
                json!({ "amount_refunded": 0, "refunded": false });
            let objects = vec![charge, payment.intent(Intent::Succeeded), session];
            return Some(Sample { event, objects });
        }
        "charge.dispute.created" | "charge.dispute.closed" => {
            paid(&mut session);
            let mut charge = payment.charge();
            charge["disputed"] = json!(true);
            let mut dispute = dispute_object(&charge, "fraudulent");
            let closed = event_type == "charge.dispute.closed";
            if closed {
                dispute["status"] = json!("lost");
            }
            let mut event = envelope(event_type, dispute.clone());
            if closed {
                event["data"]["previous_attributes"] = json!({ "status": "needs_response" });
            }
            let objects = vec![dispute, charge, payment.intent(Intent::Succeeded), session];
            return Some(Sample { event, objects });
        }
        _ => return None,
    };
    let mut all = vec![object.clone()];
    all.extend(objects);
    Some(Sample {
        event: envelope(event_type, object),
        objects: all,
    })
}

/// An open hosted session of two T-shirts at 20.50 USD for `order_id`.
fn sample_session(order_id: &str, metadata: Map<String, Value>) -> Value {
    let mut spec = SessionSpec::new(&ids::random_id("cs_test_a1", 56));
    spec.url = Some(format!("https://checkout.stripe.com/c/pay/{}", spec.id));
    spec.currency = Some(FIXTURE_CURRENCY.to_owned());
    spec.amount_subtotal = Some(FIXTURE_AMOUNT);
    spec.amount_total = Some(FIXTURE_AMOUNT);
    spec.success_url = Some("https://example.com/success?session_id={CHECKOUT_SESSION_ID}".into());
    spec.cancel_url = Some("https://example.com/cancel".into());
    spec.client_reference_id = Some(order_id.to_owned());
    spec.metadata = metadata;
    objects::checkout_session(&spec)
}
