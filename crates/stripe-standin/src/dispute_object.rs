//! The `dispute` object Stripe creates when a customer's bank disputes a charge (a card chargeback): its reasons,
//! the Visa reason code, and the balance transactions of its withdrawal and reinstatement. Pure builders, used by
//! the dispute flows ([`crate::disputes`]) and the sample events ([`crate::events`]).

use serde_json::{json, Value};

use crate::ids;

/// Stripe's dispute reasons.
pub const REASONS: [&str; 15] = [
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "noncompliant",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
];

/// Stripe's dispute fee (15.00 in the charge's currency, as for USD).
const DISPUTE_FEE: i64 = 1500;

const DISPUTE: &str = include_str!("../fixtures/dispute.json");

/// A new `needs_response` card dispute of the whole of `charge`, evidence due in 21 days, its funds withdrawn.
pub(crate) fn dispute_object(charge: &Value, reason: &str) -> Value {
    let mut dispute: Value = serde_json::from_str(DISPUTE).unwrap_or_else(|_| json!({}));
    let created = ids::now();
    let due_by = (created / 86_400 + 21) * 86_400 + 86_399;
    let code = network_reason_code(reason);
    let brand = charge["payment_method_details"]["card"]["brand"]
        .as_str()
        .unwrap_or("visa");
    let fields = json!({
        "id": ids::random_id("du_1", 23),
        "amount": charge["amount"],
        "charge": charge["id"],
        "created": created,
        "currency": charge["currency"],
        "livemode": false,
        "metadata": {},
        "network_reason_code": code,
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": { "brand": brand, "case_type": "chargeback", "network": brand, "network_reason_code": code },
            "type": "card"
        },
        "reason": reason,
        "status": "needs_response",
    });
    if let (Some(object), Value::Object(fields)) = (dispute.as_object_mut(), fields) {
        object.extend(fields);
    }
    dispute["evidence_details"]["due_by"] = json!(due_by);
    let withdrawal = balance_transaction(&dispute, false);
    dispute["balance_transactions"] = json!([withdrawal]);
    dispute
}

/// Visa's reason code of the common reasons (the emulator's cards are Visa).
fn network_reason_code(reason: &str) -> Value {
    let code = match reason {
        "fraudulent" => "10.4",
        "duplicate" => "12.6.1",
        "subscription_canceled" => "13.2",
        "product_unacceptable" => "13.3",
        "credit_not_processed" => "13.6",
        "product_not_received" => "13.1",
        _ => return Value::Null,
    };
    json!(code)
}

/// The balance transaction of a dispute's withdrawal (the amount and the dispute fee), or of its reinstatement.
pub(crate) fn balance_transaction(dispute: &Value, reinstated: bool) -> Value {
    let amount = dispute["amount"].as_i64().unwrap_or(0);
    let currency = dispute["currency"].clone();
    let charge = dispute["charge"].as_str().unwrap_or_default();
    let (amount, fee, description, category) = if reinstated {
        (
            amount,
            0,
            format!("Chargeback reversal for {charge}"),
            "dispute_reversal",
        )
    } else {
        (
            -amount,
            DISPUTE_FEE,
            format!("Chargeback withdrawal for {charge}"),
            "dispute",
        )
    };
    let fee_details = if fee == 0 {
        json!([])
    } else {
        json!([{
            "amount": fee, "application": null, "currency": currency, "description": "Dispute fee", "type": "stripe_fee"
        }])
    };
    let now = ids::now();
    json!({
        "id": ids::random_id("txn_1", 23),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": now,
        "balance_type": "payments",
        "created": now,
        "currency": currency,
        "description": description,
        "exchange_rate": null,
        "fee": fee,
        "fee_details": fee_details,
        "net": amount - fee,
        "reporting_category": category,
        "source": dispute["id"],
        "status": "available",
        "type": "adjustment",
    })
}
