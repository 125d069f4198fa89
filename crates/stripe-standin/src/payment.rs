//! The objects a Checkout payment creates or changes, in each state Stripe puts them in: the payment intent
//! (processing, succeeded, declined, debit failed), its charges (the succeeded one, a declined attempt), and the
//! session (complete paid or unpaid, settled, expired). Shared by the payment flows and by
//! [`crate::events::sample`].

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
    /// A delayed payment (a bank debit) failed; the intent wants another payment method.
    DebitFailed,
    /// A card attempt was declined (the declined charge is `latest_charge`); the customer can try again.
    Declined,
}

/// The message of a failed bank debit's `last_payment_error` (the "bank debit fails later" flow): Stripe's
/// wording of an ACH/SEPA return for insufficient funds, not a card decline.
pub const FAILURE_MESSAGE: &str =
    "The customer's account has insufficient funds to cover this payment.";

/// The message of a declined card attempt's `last_payment_error` and the failed charge's `failure_message`.
pub const DECLINE_MESSAGE: &str = "Your card was declined.";

/// A declined card attempt of a payment: its own charge and payment method.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub charge_id: String,
    pub method_id: String,
}

impl Attempt {
    pub fn new() -> Attempt {
        Attempt {
            charge_id: ids::random_id("ch_3", 23),
            method_id: ids::random_id("pm_1", 23),
        }
    }
}

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

    /// The payment intent in state `state` (for [`Intent::Declined`], see [`Payment::declined_intent`]).
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
            Intent::DebitFailed => merge(
                &mut pi,
                json!({
                    "status": "requires_payment_method",
                    "last_payment_error": {
                        "code": "insufficient_funds",
                        "doc_url": "https://stripe.com/docs/error-codes/insufficient-funds",
                        "message": FAILURE_MESSAGE,
                        "type": "invalid_request_error",
                    },
                }),
            ),
            Intent::Declined => {}
        }
        pi
    }

    /// The payment intent right after `attempt` was declined: back to `requires_payment_method`, the declined
    /// charge as `latest_charge` and in `last_payment_error`, as Stripe leaves it when Checkout lets the customer
    /// try another card.
    pub fn declined_intent(&self, attempt: &Attempt) -> Value {
        let mut pi = self.intent(Intent::Declined);
        merge(
            &mut pi,
            json!({
                "status": "requires_payment_method",
                "latest_charge": attempt.charge_id,
                "payment_method": null,
                "last_payment_error": {
                    "charge": attempt.charge_id,
                    "code": "card_declined",
                    "decline_code": "generic_decline",
                    "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                    "message": DECLINE_MESSAGE,
                    "type": "card_error",
                },
            }),
        );
        pi
    }

    /// The failed charge of a declined attempt (Stripe's test card 4000 0000 0000 0002): not paid, not captured,
    /// `failure_code: card_declined`, an `issuer_declined` outcome, no receipt.
    pub fn declined_charge(&self, attempt: &Attempt) -> Value {
        let mut charge = self.charge();
        merge(
            &mut charge,
            json!({
                "id": attempt.charge_id,
                "payment_method": attempt.method_id,
                "status": "failed",
                "paid": false,
                "captured": false,
                "amount_captured": 0,
                "balance_transaction": null,
                "receipt_url": null,
                "failure_code": "card_declined",
                "failure_message": DECLINE_MESSAGE,
                "outcome": {
                    "advice_code": "try_again_later",
                    "network_advice_code": null,
                    "network_decline_code": "05",
                    "network_status": "declined_by_network",
                    "reason": "generic_decline",
                    "risk_level": "normal",
                    "risk_score": 34,
                    "seller_message": "The bank did not return any further details with this decline.",
                    "type": "issuer_declined",
                },
            }),
        );
        if let Some(card) = charge["payment_method_details"]["card"].as_object_mut() {
            card.insert("amount_authorized".into(), Value::Null);
            card.insert("last4".into(), json!("0002"));
            card.insert("fingerprint".into(), json!("ZPyE6bGoA3jD2Gd7"));
            card.insert("network_transaction_id".into(), Value::Null);
        }
        charge
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
