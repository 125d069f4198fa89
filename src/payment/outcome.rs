//! Payment outcomes (CONTRACT §5): which NATS message a Stripe event means, under which stable outcome id.
//!
//! The outcome id is the same for every event of one outcome: `checkout.session.completed`,
//! `payment_intent.succeeded` and `charge.succeeded` of one payment all map to `succeeded.<payment intent>`,
//! so the ledger and JetStream de-duplication publish it once whichever arrives first.

use serde::Serialize;

use crate::stripe::{client::ORDER_ID_KEY, event::StripeEvent};

/// What to do with a verified event.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Publish this message.
    Publish(Outcome),
    /// Publish `payment.succeeded` once the charge (id and receipt URL) has been looked up in the Stripe API.
    SucceededAfterLookup {
        outcome_id: String,
        order_id: String,
        lookup: ChargeLookup,
    },
    /// Nothing to publish; the reason is logged and counted.
    Ignore(Unused),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeLookup {
    /// The latest charge of this payment intent.
    LatestOf(String),
    /// This charge.
    Charge(String),
}

/// Why an authentic event leads to no message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unused {
    /// Not an event type this service acts on (a normal, quiet case).
    IrrelevantType,
    /// Not settled yet: a later event will carry the outcome.
    NotYet(&'static str),
    /// An event of a used type that cannot be used: no orderId, unexpected shape.
    Unusable(String),
}

/// A message for stream `PAYMENTS`.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// Stable id of the outcome: ledger key and `Nats-Msg-Id`.
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
}

impl Message {
    pub fn subject(&self) -> &'static str {
        match self {
            Message::Succeeded { .. } => "payment.succeeded",
            Message::Failed { .. } => "payment.failed",
            Message::Expired { .. } => "payment.expired",
            Message::Refunded { .. } => "payment.refunded",
        }
    }

    /// The `status` of the callback this outcome causes (CONTRACT §7).
    pub fn status(&self) -> &'static str {
        match self {
            Message::Succeeded { .. } => "succeeded",
            Message::Failed { .. } => "failed",
            Message::Expired { .. } => "expired",
            Message::Refunded { .. } => "refunded",
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("outcome serialises")
    }
}

/// Maps a verified event to what it means.
pub fn plan(event: &StripeEvent) -> Plan {
    match event.event_type.as_str() {
        "charge.succeeded" => charge_succeeded(event),
        "payment_intent.succeeded" => intent_succeeded(event),
        "checkout.session.completed" => session_succeeded(event, true),
        "checkout.session.async_payment_succeeded" => session_succeeded(event, false),
        "checkout.session.async_payment_failed" => session_failed(event),
        "payment_intent.payment_failed" => intent_failed(event),
        "checkout.session.expired" => session_expired(event),
        "charge.refunded" => charge_refunded(event),
        _ => Plan::Ignore(Unused::IrrelevantType),
    }
}

fn charge_succeeded(event: &StripeEvent) -> Plan {
    let (Some(charge), Some(order_id)) = (event.str("id"), order_id(event, false)) else {
        return unusable(event, "no charge id or no orderId in metadata");
    };
    let outcome_id = succeeded_id(event.id_of("payment_intent").unwrap_or(charge));
    match event.str("receipt_url") {
        Some(url) => publish(
            outcome_id,
            Message::Succeeded {
                stripe_payment_id: charge.to_owned(),
                order_id,
                receipt_url: url.to_owned(),
            },
        ),
        None => Plan::SucceededAfterLookup {
            outcome_id,
            order_id,
            lookup: ChargeLookup::Charge(charge.to_owned()),
        },
    }
}

fn intent_succeeded(event: &StripeEvent) -> Plan {
    let (Some(intent), Some(order_id)) = (event.str("id"), order_id(event, false)) else {
        return unusable(event, "no payment intent id or no orderId in metadata");
    };
    // API versions before 2022-11-15 embed the charges; newer ones name only `latest_charge`.
    let embedded = event
        .path(&["charges", "data"])
        .and_then(|d| d.as_array())
        .and_then(|charges| charges.last());
    if let Some(charge) = embedded {
        if let (Some(id), Some(url)) = (
            charge.get("id").and_then(|v| v.as_str()),
            charge.get("receipt_url").and_then(|v| v.as_str()),
        ) {
            return publish(
                succeeded_id(intent),
                Message::Succeeded {
                    stripe_payment_id: id.to_owned(),
                    order_id,
                    receipt_url: url.to_owned(),
                },
            );
        }
    }
    let lookup = match event.id_of("latest_charge") {
        Some(charge) => ChargeLookup::Charge(charge.to_owned()),
        None => ChargeLookup::LatestOf(intent.to_owned()),
    };
    Plan::SucceededAfterLookup {
        outcome_id: succeeded_id(intent),
        order_id,
        lookup,
    }
}

fn session_succeeded(event: &StripeEvent, at_completion: bool) -> Plan {
    if at_completion && event.str("payment_status") != Some("paid") {
        return Plan::Ignore(Unused::NotYet(
            "session completed unpaid: the outcome comes with async_payment_succeeded or _failed",
        ));
    }
    let (Some(intent), Some(order_id)) = (event.id_of("payment_intent"), order_id(event, true))
    else {
        return unusable(event, "session without payment intent or orderId");
    };
    Plan::SucceededAfterLookup {
        outcome_id: succeeded_id(intent),
        order_id,
        lookup: ChargeLookup::LatestOf(intent.to_owned()),
    }
}

fn session_failed(event: &StripeEvent) -> Plan {
    let (Some(intent), Some(order_id)) = (event.id_of("payment_intent"), order_id(event, true))
    else {
        return unusable(event, "session without payment intent or orderId");
    };
    publish(
        outcome_id("failed", &[intent]),
        Message::Failed {
            order_id,
            stripe_payment_id: intent.to_owned(),
            reason: "the delayed payment failed".into(),
        },
    )
}

fn intent_failed(event: &StripeEvent) -> Plan {
    let (Some(intent), Some(order_id)) = (event.str("id"), order_id(event, false)) else {
        return unusable(event, "no payment intent id or no orderId in metadata");
    };
    let reason = event
        .path(&["last_payment_error", "message"])
        .and_then(|v| v.as_str())
        .unwrap_or("the payment failed");
    publish(
        outcome_id("failed", &[intent]),
        Message::Failed {
            order_id,
            stripe_payment_id: intent.to_owned(),
            reason: reason.to_owned(),
        },
    )
}

fn session_expired(event: &StripeEvent) -> Plan {
    let (Some(session), Some(order_id)) = (event.str("id"), order_id(event, true)) else {
        return unusable(event, "session without id or orderId");
    };
    publish(
        outcome_id("expired", &[session]),
        Message::Expired {
            order_id,
            session_id: session.to_owned(),
        },
    )
}

fn charge_refunded(event: &StripeEvent) -> Plan {
    let fields = (
        event.str("id"),
        order_id(event, false),
        event.int("amount_refunded"),
        event.str("currency"),
    );
    let (Some(charge), Some(order_id), Some(refunded), Some(currency)) = fields else {
        return unusable(
            event,
            "refund without charge id, orderId, amount_refunded or currency",
        );
    };
    let fully = event.bool("refunded").unwrap_or(false)
        || event.int("amount").is_some_and(|amount| refunded >= amount);
    // Each partial refund raises the cumulative amount: one outcome per amount reached.
    publish(
        outcome_id("refunded", &[charge, &refunded.to_string()]),
        Message::Refunded {
            order_id,
            stripe_payment_id: charge.to_owned(),
            amount_refunded: refunded,
            currency: currency.to_owned(),
            fully_refunded: fully,
        },
    )
}

/// `metadata.orderId` (what this service sets), `metadata.order_id` (a common hand-made variant), and for
/// Checkout Sessions `client_reference_id` (also set by this service).
fn order_id(event: &StripeEvent, is_session: bool) -> Option<String> {
    event
        .metadata(ORDER_ID_KEY)
        .or_else(|| event.metadata("order_id"))
        .or_else(|| {
            is_session
                .then(|| event.str("client_reference_id"))
                .flatten()
        })
        .map(str::to_owned)
}

fn succeeded_id(payment: &str) -> String {
    outcome_id("succeeded", &[payment])
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

fn publish(id: String, message: Message) -> Plan {
    Plan::Publish(Outcome { id, message })
}

fn unusable(event: &StripeEvent, why: &str) -> Plan {
    Plan::Ignore(Unused::Unusable(format!("{}: {why}", event.event_type)))
}

#[cfg(test)]
mod tests;
