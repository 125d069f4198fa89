//! Disputes (chargebacks) of a paid charge, as Stripe plays them: opening one creates a `dispute` (`du_…`,
//! `needs_response`, no metadata of the merchant's, the charge becomes `disputed`) and sends
//! `charge.dispute.created` then `charge.dispute.funds_withdrawn` (the amount and the dispute fee leave the
//! balance); closing it sends `charge.dispute.closed` (`won` or `lost`), then `charge.dispute.funds_reinstated`
//! when won.

use std::sync::Arc;

use serde_json::{json, Value};

use crate::after_payment::{ordering_key, paid_charge, ChargeError};
pub use crate::dispute_object::REASONS;
use crate::dispute_object::{balance_transaction, dispute_object};
use crate::events::envelope;
use crate::state::Shared;
use crate::webhooks::emit;
use crate::StandIn;

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
