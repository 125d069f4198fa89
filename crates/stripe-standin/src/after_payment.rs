//! What is shared by the flows that move money after a payment ([`crate::refunds`], [`crate::disputes`]): why
//! one is refused, finding the paid charge, and the ordering key of their events (the charge's Checkout session,
//! so a refund's or dispute's events are first delivered after the payment's own).

use std::fmt;

use serde_json::Value;

use crate::errors::ApiError;
use crate::state::Inner;

/// Why a refund, a dispute or a dispute's closing is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeError {
    NoSuchCharge(String),
    /// Only a succeeded (paid) charge can be refunded or disputed.
    NotPaid {
        id: String,
        status: String,
    },
    /// Nothing is left to refund.
    AlreadyRefunded(String),
    /// The amount is not positive, or more than what is left to refund.
    InvalidAmount {
        amount: i64,
        refundable: i64,
    },
    /// A charge has at most one dispute.
    AlreadyDisputed {
        charge: String,
        dispute: String,
    },
    /// Not one of Stripe's dispute reasons.
    UnknownReason(String),
    NoSuchDispute(String),
    /// Only an open dispute can be closed.
    DisputeClosed {
        id: String,
        status: String,
    },
    /// A dispute closes as `won` or `lost`.
    UnknownOutcome(String),
}

impl fmt::Display for ChargeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChargeError::NoSuchCharge(id) => write!(f, "No such charge: '{id}'"),
            ChargeError::NotPaid { id, status } => write!(
                f,
                "Charge {id} has a status of `{status}`: only succeeded charges can be refunded or disputed."
            ),
            ChargeError::AlreadyRefunded(id) => write!(f, "Charge {id} has already been refunded."),
            ChargeError::InvalidAmount { amount, refundable } => write!(
                f,
                "Refund amount ({amount}) must be positive and at most the amount left to refund ({refundable})."
            ),
            ChargeError::AlreadyDisputed { charge, dispute } => {
                write!(f, "Charge {charge} is already disputed ({dispute}).")
            }
            ChargeError::UnknownReason(reason) => write!(
                f,
                "Unknown dispute reason {reason:?}: use one of {}.",
                crate::dispute_object::REASONS.join(", ")
            ),
            ChargeError::NoSuchDispute(id) => write!(f, "No such dispute: '{id}'"),
            ChargeError::DisputeClosed { id, status } => {
                write!(f, "Dispute {id} is already closed (status `{status}`).")
            }
            ChargeError::UnknownOutcome(status) => {
                write!(f, "A dispute closes as `won` or `lost`, not {status:?}.")
            }
        }
    }
}

impl std::error::Error for ChargeError {}

impl From<ChargeError> for ApiError {
    fn from(error: ChargeError) -> Self {
        let message = error.to_string();
        match error {
            ChargeError::NoSuchCharge(id) => ApiError::no_such("charge", &id, "charge"),
            ChargeError::NoSuchDispute(id) => ApiError::no_such("dispute", &id, "dispute"),
            ChargeError::InvalidAmount { .. } => ApiError::invalid("amount", message),
            ChargeError::UnknownReason(_) => ApiError::invalid("reason", message),
            ChargeError::UnknownOutcome(_) => ApiError::invalid("status", message),
            ChargeError::AlreadyRefunded(_) => {
                ApiError::invalid("charge", message).with_code("charge_already_refunded")
            }
            ChargeError::AlreadyDisputed { .. } => {
                ApiError::invalid("charge", message).with_code("charge_disputed")
            }
            ChargeError::NotPaid { .. } => ApiError::invalid("charge", message),
            ChargeError::DisputeClosed { .. } => ApiError::invalid("dispute", message),
        }
    }
}

/// The stored charge `id`, if it succeeded.
pub(crate) fn paid_charge<'a>(
    inner: &'a mut Inner,
    id: &str,
) -> Result<&'a mut Value, ChargeError> {
    let charge = inner
        .charges
        .get_mut(id)
        .ok_or_else(|| ChargeError::NoSuchCharge(id.to_owned()))?;
    match charge["status"].as_str().unwrap_or_default() {
        "succeeded" => Ok(charge),
        status => Err(ChargeError::NotPaid {
            id: id.to_owned(),
            status: status.to_owned(),
        }),
    }
}

/// The ordering key of events about `charge`: the Checkout session paid by its payment intent, else the charge.
pub(crate) fn ordering_key(inner: &Inner, charge: &Value) -> String {
    let intent = charge["payment_intent"].as_str();
    intent
        .and_then(|pi| {
            inner
                .sessions
                .iter()
                .find(|(_, s)| s.object["payment_intent"].as_str() == Some(pi))
                .map(|(id, _)| id.clone())
        })
        .unwrap_or_else(|| charge["id"].as_str().unwrap_or_default().to_owned())
}
