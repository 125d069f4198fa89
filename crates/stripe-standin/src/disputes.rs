//! Disputes (chargebacks) of a paid charge, as Stripe plays them: opening one creates a `dispute` (`du_…`,
//! `needs_response`, no metadata of the merchant's, the charge becomes `disputed`) and sends
//! `charge.dispute.created` then `charge.dispute.funds_withdrawn` (the amount and the dispute fee leave the
//! balance); closing it sends `charge.dispute.closed` (`won` or `lost`), then `charge.dispute.funds_reinstated`
//! when won.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::after_payment::{ordering_key, paid_charge, ChargeError};
use crate::events::envelope;
use crate::ids;
use crate::state::Shared;
use crate::webhooks::emit;
use crate::StandIn;

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

impl StandIn {
    /// The customer's bank disputes paid charge `charge_id` for `reason` (one of [`REASONS`]); the dispute.
    pub async fn dispute(&self, charge_id: &str, reason: &str) -> Result<Value, ChargeError> {
        open(&self.shared, charge_id, reason)
    }

    /// Open dispute `dispute_id` ends: `outcome` is `won` or `lost`; the dispute.
    pub async fn close_dispute(
        &self,
        dispute_id: &str,
        outcome: &str,
    ) -> Result<Value, ChargeError> {
        close(&self.shared, dispute_id, outcome)
    }

    /// The stored dispute with this id, as `GET /v1/disputes/{id}` would return it.
    pub fn dispute_object(&self, id: &str) -> Option<Value> {
        self.shared.lock().disputes.get(id).cloned()
    }
}

pub(crate) fn open(
    shared: &Arc<Shared>,
    charge_id: &str,
    reason: &str,
) -> Result<Value, ChargeError> {
    if !REASONS.contains(&reason) {
        return Err(ChargeError::UnknownReason(reason.to_owned()));
    }
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let existing = inner
        .disputes
        .values()
        .find(|d| d["charge"].as_str() == Some(charge_id));
    if let Some(dispute) = existing {
        return Err(ChargeError::AlreadyDisputed {
            charge: charge_id.to_owned(),
            dispute: dispute["id"].as_str().unwrap_or_default().to_owned(),
        });
    }
    let charge = paid_charge(inner, charge_id)?;
    charge["disputed"] = json!(true);
    let charge = charge.clone();
    let dispute = dispute_object(&charge, reason);
    let id = dispute["id"].as_str().unwrap_or_default().to_owned();
    inner.disputes.insert(id, dispute.clone());
    let key = ordering_key(inner, &charge);
    emit(
        shared,
        inner,
        &key,
        envelope("charge.dispute.created", dispute.clone()),
    );
    let event = envelope("charge.dispute.funds_withdrawn", dispute.clone());
    emit(shared, inner, &key, event);
    Ok(dispute)
}

pub(crate) fn close(shared: &Arc<Shared>, id: &str, outcome: &str) -> Result<Value, ChargeError> {
    let won = match outcome {
        "won" => true,
        "lost" => false,
        other => return Err(ChargeError::UnknownOutcome(other.to_owned())),
    };
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let dispute = inner
        .disputes
        .get_mut(id)
        .ok_or_else(|| ChargeError::NoSuchDispute(id.to_owned()))?;
    let before = dispute["status"].as_str().unwrap_or_default().to_owned();
    if !matches!(
        before.as_str(),
        "needs_response" | "under_review" | "warning_needs_response" | "warning_under_review"
    ) {
        return Err(ChargeError::DisputeClosed {
            id: id.to_owned(),
            status: before,
        });
    }
    dispute["status"] = json!(outcome);
    if won {
        // Winning takes evidence; the money comes back.
        dispute["evidence_details"]["has_evidence"] = json!(true);
        dispute["evidence_details"]["submission_count"] = json!(1);
        let reinstated = balance_transaction(dispute, true);
        if let Some(list) = dispute["balance_transactions"].as_array_mut() {
            list.push(reinstated);
        }
    }
    let dispute = dispute.clone();
    let charge = inner
        .charges
        .get(dispute["charge"].as_str().unwrap_or_default())
        .cloned()
        .unwrap_or_else(|| json!({ "id": dispute["charge"] }));
    let key = ordering_key(inner, &charge);
    let mut event = envelope("charge.dispute.closed", dispute.clone());
    event["data"]["previous_attributes"] = json!({ "status": before });
    emit(shared, inner, &key, event);
    if won {
        let event = envelope("charge.dispute.funds_reinstated", dispute.clone());
        emit(shared, inner, &key, event);
    }
    Ok(dispute)
}

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
fn balance_transaction(dispute: &Value, reinstated: bool) -> Value {
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
