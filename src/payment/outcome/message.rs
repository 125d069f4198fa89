//! The messages of stream `PAYMENTS` (CONTRACT §5): their subjects and bodies, and what each means for an
//! order's lifecycle (see `payment::lifecycle`).

use serde::Serialize;

/// A message for stream `PAYMENTS`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Stable id of the outcome: the journal's record of it and `Nats-Msg-Id`.
    pub id: String,
    pub message: Message,
}

/// The bodies of CONTRACT §5, with exactly these keys (orders-ms rejects any other).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged, rename_all_fields = "camelCase")]
pub enum Message {
    Succeeded {
        stripe_payment_id: String,
        order_id: String,
        receipt_url: String,
    },
    AttemptFailed {
        order_id: String,
        stripe_payment_id: String,
        reason: String,
    },
    Failed {
        order_id: String,
        stripe_payment_id: String,
        reason: String,
    },
    Expired {
        order_id: String,
        session_id: String,
    },
    Refunded {
        order_id: String,
        stripe_payment_id: String,
        amount_refunded: i64,
        currency: String,
        fully_refunded: bool,
    },
    Disputed {
        order_id: String,
        stripe_payment_id: String,
        dispute_id: String,
        amount: i64,
        currency: String,
        reason: String,
    },
    DisputeClosed {
        order_id: String,
        stripe_payment_id: String,
        dispute_id: String,
        status: String,
    },
}

/// What a message says about the money of an order, which decides where it may stand in the order's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Meaning {
    /// The order is paid.
    Paid,
    /// Not paid (yet): a declined attempt (`final_ == false`), a failed or expired session.
    Unpaid { final_: bool },
    /// Money moved after the payment (refund, dispute): only after that payment's `payment.succeeded`.
    AfterPayment,
}

impl Meaning {
    pub fn is_unpaid(self) -> bool {
        matches!(self, Meaning::Unpaid { .. })
    }
}

impl Message {
    pub fn subject(&self) -> &'static str {
        match self {
            Message::Succeeded { .. } => "payment.succeeded",
            Message::AttemptFailed { .. } => "payment.attempt_failed",
            Message::Failed { .. } => "payment.failed",
            Message::Expired { .. } => "payment.expired",
            Message::Refunded { .. } => "payment.refunded",
            Message::Disputed { .. } => "payment.disputed",
            Message::DisputeClosed { .. } => "payment.dispute_closed",
        }
    }

    pub fn meaning(&self) -> Meaning {
        match self {
            Message::Succeeded { .. } => Meaning::Paid,
            Message::AttemptFailed { .. } => Meaning::Unpaid { final_: false },
            Message::Failed { .. } | Message::Expired { .. } => Meaning::Unpaid { final_: true },
            Message::Refunded { .. } | Message::Disputed { .. } | Message::DisputeClosed { .. } => {
                Meaning::AfterPayment
            }
        }
    }

    /// The `status` of the callback this outcome causes (CONTRACT §7): final outcomes only; a declined attempt
    /// and disputes call nobody back.
    pub fn callback_status(&self) -> Option<&'static str> {
        match self {
            Message::Succeeded { .. } => Some("succeeded"),
            Message::Failed { .. } => Some("failed"),
            Message::Expired { .. } => Some("expired"),
            Message::Refunded { .. } => Some("refunded"),
            Message::AttemptFailed { .. }
            | Message::Disputed { .. }
            | Message::DisputeClosed { .. } => None,
        }
    }

    pub fn order_id(&self) -> &str {
        match self {
            Message::Succeeded { order_id, .. }
            | Message::AttemptFailed { order_id, .. }
            | Message::Failed { order_id, .. }
            | Message::Expired { order_id, .. }
            | Message::Refunded { order_id, .. }
            | Message::Disputed { order_id, .. }
            | Message::DisputeClosed { order_id, .. } => order_id,
        }
    }

    /// The same message for `order` (a dispute learns its order only from the charge).
    pub fn for_order(mut self, order: &str) -> Message {
        match &mut self {
            Message::Succeeded { order_id, .. }
            | Message::AttemptFailed { order_id, .. }
            | Message::Failed { order_id, .. }
            | Message::Expired { order_id, .. }
            | Message::Refunded { order_id, .. }
            | Message::Disputed { order_id, .. }
            | Message::DisputeClosed { order_id, .. } => order.clone_into(order_id),
        }
        self
    }

    pub fn to_json(&self) -> Vec<u8> {
        // Strings, integers and booleans only: serialising cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// `kind.part.part`, restricted to the characters valid in KV keys and message ids.
pub fn outcome_id(kind: &str, parts: &[&str]) -> String {
    let mut id = kind.to_owned();
    for part in parts {
        id.push('.');
        id.extend(part.chars().map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        }));
    }
    id
}

/// The id of a payment's `payment.succeeded`: one per payment intent (or charge, for a charge without one).
pub fn succeeded_id(payment: &str) -> String {
    outcome_id("succeeded", &[payment])
}
