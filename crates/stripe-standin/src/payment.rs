//! The objects a Checkout payment creates or changes, in each state Stripe puts them in: the payment intent
//! (processing, succeeded, failed), its charge, and the session (complete paid or unpaid, settled, expired). Shared
//! by the payment flows and by [`crate::events::sample`].

use serde_json::{json, Map, Value};

use crate::ids;
use crate::objects;

/// The amount, currency and metadata of a payment, and the ids of what paying creates.
#[derive(Debug, Clone)]
pub(crate) struct Payment {
    pub amount: i64,
    pub currency: String,
    /// The metadata of the payment intent and its charge.
    pub metadata: Map<String, Value>,
    pub intent_id: String,
    pub charge_id: String,
    pub method_id: String,
    pub receipt_url: String,
}

/// The state of a payment intent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Intent {
    /// A delayed payment method, not settled yet.
    Processing,
    /// Paid: its charge is `latest_charge`.
    Succeeded,
    /// The payment failed; the intent wants another payment method.
    Failed,
}

/// The message of a failed payment's `last_payment_error` (what the service passes on as the reason).
pub const FAILURE_MESSAGE: &str = "Your card has insufficient funds.";

impl Payment {
    pub fn new(amount: i64, currency: &str, metadata: Map<String, Value>) -> Payment {
        Payment {
            amount,
            currency: currency.to_owned(),
            metadata,
            intent_id: ids::random_id("pi_3", 23),
            charge_id: ids::random_id("ch_3", 23),
            method_id: ids::random_id("pm_1", 23),
            receipt_url: receipt_url(),
        }
    }

    /// The payment intent in state `state`.
    pub fn intent(&self, state: Intent) -> Value {
        let charge = (state == Intent::Succeeded).then_some(self.charge_id.as_str());
        let mut pi = objects::payment_intent(&self.intent_id, charge, &self.metadata);
        let received = if state == Intent::Succeeded {
            self.amount
        } else {
            0
        };
        merge(
            &mut pi,
            json!({
                "amount": self.amount,
                "amount_received": received,
                "currency": self.currency,
            }),
        );
        match state {
            Intent::Succeeded => merge(&mut pi, json!({ "payment_method": self.method_id })),
            Intent::Processing => merge(
                &mut pi,
                json!({ "status": "processing", "payment_method": self.method_id }),
            ),
            Intent::Failed => merge(
                &mut pi,
                json!({
                    "status": "requires_payment_method",
                    "last_payment_error": {
                        "code": "card_declined",
                        "decline_code": "insufficient_funds",
                        "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                        "message": FAILURE_MESSAGE,
                        "type": "card_error",
                    },
                }),
            ),
        }
        pi
    }

    /// The succeeded, captured charge of the payment.
    pub fn charge(&self) -> Value {
        let mut charge = objects::charge(
            &self.charge_id,
            &self.intent_id,
            &self.metadata,
            &self.receipt_url,
        );
        merge(
            &mut charge,
            json!({
                "amount": self.amount,
                "amount_captured": self.amount,
                "currency": self.currency,
                "payment_method": self.method_id,
            }),
        );
        if let Some(card) = charge["payment_method_details"]["card"].as_object_mut() {
            card.insert("amount_authorized".into(), json!(self.amount));
            card["overcapture"]["maximum_amount_capturable"] = json!(self.amount);
        }
        charge
    }
}

/// `https://pay.stripe.com/receipts/payment/<random>`, as a charge's `receipt_url`.
pub(crate) fn receipt_url() -> String {
    ids::random_id("https://pay.stripe.com/receipts/payment/CAcaFwoV", 96)
}

/// The session once the customer submitted payment: `complete`, `paid` or (delayed methods) `unpaid`, with its
/// payment intent and the customer's details; the hosted page URL is gone, as at Stripe.
pub(crate) fn complete(session: &mut Value, intent_id: &str, paid: bool) {
    let email = session["customer_email"]
        .as_str()
        .unwrap_or("jenny.rosen@example.com")
        .to_owned();
    merge(
        session,
        json!({
            "status": "complete",
            "payment_status": if paid { "paid" } else { "unpaid" },
            "payment_intent": intent_id,
            "url": null,
            "customer_details": {
                "address": {
                    "city": null, "country": "US", "line1": null, "line2": null, "postal_code": null, "state": null
                },
                "email": email,
                "name": "Jenny Rosen",
                "phone": null,
                "tax_exempt": "none",
                "tax_ids": [],
            },
        }),
    );
}

/// A completed session whose delayed payment succeeded.
pub(crate) fn settle(session: &mut Value) {
    session["payment_status"] = json!("paid");
}

/// The session expired unpaid.
pub(crate) fn expire(session: &mut Value) {
    merge(session, json!({ "status": "expired", "url": null }));
}

fn merge(object: &mut Value, fields: Value) {
    if let (Value::Object(object), Value::Object(fields)) = (object, fields) {
        object.extend(fields);
    }
}
