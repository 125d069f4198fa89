//! Refunds of a paid charge, as Stripe makes them: the charge's `amount_refunded` grows (`refunded` once nothing is
//! left), a `refund` object (`re_…`, `succeeded`, as card refunds are in test mode) is created, and Stripe sends
//! `charge.refunded` (with `previous_attributes`) then `refund.created`.

use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::after_payment::{ordering_key, paid_charge, ChargeError};
use crate::events::envelope;
use crate::ids;
use crate::state::Shared;
use crate::webhooks::emit;
use crate::StandIn;

impl StandIn {
    /// Refunds `amount` (minor units; all that is left when `None`) of paid charge `charge_id`; the refund.
    pub async fn refund(&self, charge_id: &str, amount: Option<i64>) -> Result<Value, ChargeError> {
        refund(&self.shared, charge_id, amount)
    }
}

pub(crate) fn refund(
    shared: &Arc<Shared>,
    charge_id: &str,
    amount: Option<i64>,
) -> Result<Value, ChargeError> {
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let charge = paid_charge(inner, charge_id)?;
    let total = charge["amount"].as_i64().unwrap_or(0);
    let before = charge["amount_refunded"].as_i64().unwrap_or(0);
    let refundable = total - before;
    if refundable <= 0 {
        return Err(ChargeError::AlreadyRefunded(charge_id.to_owned()));
    }
    let amount = amount.unwrap_or(refundable);
    if amount <= 0 || amount > refundable {
        return Err(ChargeError::InvalidAmount { amount, refundable });
    }
    let was_refunded = charge["refunded"].as_bool().unwrap_or(false);
    let now_refunded = before + amount == total;
    charge["amount_refunded"] = json!(before + amount);
    charge["refunded"] = json!(now_refunded);
    let charge = charge.clone();
    let refund = refund_object(&charge, amount);
    let id = refund["id"].as_str().unwrap_or_default().to_owned();
    inner.refunds.insert(id, refund.clone());
    let key = ordering_key(inner, &charge);
    // Stripe lists only the attributes that changed.
    let mut previous = Map::new();
    previous.insert("amount_refunded".into(), json!(before));
    if was_refunded != now_refunded {
        previous.insert("refunded".into(), json!(was_refunded));
    }
    let mut event = envelope("charge.refunded", charge);
    event["data"]["previous_attributes"] = Value::Object(previous);
    emit(shared, inner, &key, event);
    emit(
        shared,
        inner,
        &key,
        envelope("refund.created", refund.clone()),
    );
    Ok(refund)
}

/// A succeeded card refund of `amount` of `charge`.
pub(crate) fn refund_object(charge: &Value, amount: i64) -> Value {
    json!({
        "id": ids::random_id("re_3", 23),
        "object": "refund",
        "amount": amount,
        "balance_transaction": ids::random_id("txn_3", 23),
        "charge": charge["id"],
        "created": ids::now(),
        "currency": charge["currency"],
        "destination_details": {
            "card": {
                "reference": null,
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund"
            },
            "type": "card"
        },
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "reason": null,
        "receipt_number": null,
        "source_transfer_reversal": null,
        "status": "succeeded",
        "transfer_reversal": null,
    })
}
