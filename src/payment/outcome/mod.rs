//! Payment outcomes (CONTRACT §5): what a Stripe event reports about an order's payment, under which stable
//! outcome id. Whether it is published, and after what, is the order's lifecycle's call (`payment::lifecycle`).
//!
//! The outcome id is the same for every event of one outcome: `checkout.session.completed`,
//! `payment_intent.succeeded` and `charge.succeeded` of one payment all report `succeeded.<payment intent>`,
//! so it is published once whichever arrives first.

mod message;
mod news;

pub use message::{outcome_id, succeeded_id, Meaning, Message, Outcome};
pub use news::{News, Payment, Receipt};

use super::{
    event::Event,
    metadata::{CALLBACK_KEY, ORDER_ID_KEY},
};

/// The event types the service acts on (the rest are kept for audit only).
pub const USED_EVENT_TYPES: &[&str] = &[
    "charge.succeeded",
    "payment_intent.succeeded",
    "checkout.session.completed",
    "checkout.session.async_payment_succeeded",
    "checkout.session.async_payment_failed",
    "payment_intent.payment_failed",
    "checkout.session.expired",
    "charge.refunded",
    "charge.dispute.created",
    "charge.dispute.closed",
];

/// What to do with a verified event.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// News about an order's payment, for its lifecycle to decide on.
    Report(Box<Report>),
    /// Nothing to publish; the reason is logged and counted.
    Ignore(Unused),
}

/// What one event says, and what is needed to act on it.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    /// The order; `None` when the event does not carry it (a dispute): found from the charge.
    pub order_id: Option<String>,
    pub payment: Payment,
    /// Where the payment's receipt can be found when the event does not carry it.
    pub lookup: Option<ChargeLookup>,
    /// The callback id from the event's metadata.
    pub callback_id: Option<String>,
    pub news: News,
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
    /// An event of a used type that cannot be used: no orderId, unexpected shape, another mode.
    Unusable(String),
}

/// Maps a verified event to what it reports.
pub fn plan(event: &Event) -> Plan {
    match event.event_type.as_str() {
        "charge.succeeded" => charge_succeeded(event),
        "payment_intent.succeeded" => intent_succeeded(event),
        "checkout.session.completed" => session_succeeded(event, true),
        "checkout.session.async_payment_succeeded" => session_succeeded(event, false),
        "checkout.session.async_payment_failed" => session_failed(event),
        "payment_intent.payment_failed" => attempt_failed(event),
        "checkout.session.expired" => session_expired(event),
        "charge.refunded" => charge_refunded(event),
        "charge.dispute.created" => dispute_created(event),
        "charge.dispute.closed" => dispute_closed(event),
        _ => Plan::Ignore(Unused::IrrelevantType),
    }
}

fn charge_succeeded(event: &Event) -> Plan {
    let (Some(charge), Some(order_id)) = (event.str("id"), order_id(event, false)) else {
        return unusable(event, "no charge id or no orderId in metadata");
    };
    let payment = Payment {
        intent: Some(event.id_of("payment_intent").unwrap_or(charge).to_owned()),
        session: None,
        receipt: receipt(charge, event.str("receipt_url")),
    };
    report(event, Some(order_id), payment, News::Succeeded)
        .lookup(ChargeLookup::Charge(charge.to_owned()))
}

fn intent_succeeded(event: &Event) -> Plan {
    let (Some(intent), Some(order_id)) = (event.str("id"), order_id(event, false)) else {
        return unusable(event, "no payment intent id or no orderId in metadata");
    };
    // API versions before 2022-11-15 embed the charges; newer ones name only `latest_charge`.
    let embedded = event
        .path(&["charges", "data"])
        .and_then(|d| d.as_array())
        .and_then(|charges| charges.last())
        .and_then(|charge| {
            let id = charge.get("id").and_then(|v| v.as_str())?;
            receipt(id, charge.get("receipt_url").and_then(|v| v.as_str()))
        });
    let lookup = match event.id_of("latest_charge") {
        Some(charge) => ChargeLookup::Charge(charge.to_owned()),
        None => ChargeLookup::LatestOf(intent.to_owned()),
    };
    let payment = Payment {
        intent: Some(intent.to_owned()),
        session: None,
        receipt: embedded,
    };
    report(event, Some(order_id), payment, News::Succeeded).lookup(lookup)
}

fn session_succeeded(event: &Event, at_completion: bool) -> Plan {
    if at_completion && event.str("payment_status") != Some("paid") {
        return Plan::Ignore(Unused::NotYet(
            "session completed unpaid: the outcome comes with async_payment_succeeded or _failed",
        ));
    }
    let (Some(session), Some(intent), Some(order_id)) = (
        event.str("id"),
        event.id_of("payment_intent"),
        order_id(event, true),
    ) else {
        return unusable(event, "session without id, payment intent or orderId");
    };
    report(
        event,
        Some(order_id),
        session_payment(session, Some(intent)),
        News::Succeeded,
    )
    .lookup(ChargeLookup::LatestOf(intent.to_owned()))
}

fn session_failed(event: &Event) -> Plan {
    let (Some(session), Some(intent), Some(order_id)) = (
        event.str("id"),
        event.id_of("payment_intent"),
        order_id(event, true),
    ) else {
        return unusable(event, "session without id, payment intent or orderId");
    };
    let message = Message::Failed {
        order_id: order_id.clone(),
        stripe_payment_id: intent.to_owned(),
        reason: "the delayed payment failed".into(),
    };
    let payment = session_payment(session, Some(intent));
    report_outcome(
        event,
        order_id,
        payment,
        outcome_id("failed", &[intent]),
        message,
    )
}

/// A declined attempt: the customer can still pay in the same session, so it is not final.
fn attempt_failed(event: &Event) -> Plan {
    let (Some(intent), Some(order_id)) = (event.str("id"), order_id(event, false)) else {
        return unusable(event, "no payment intent id or no orderId in metadata");
    };
    let reason = event
        .path(&["last_payment_error", "message"])
        .and_then(|v| v.as_str())
        .unwrap_or("the payment attempt failed");
    let message = Message::AttemptFailed {
        order_id: order_id.clone(),
        stripe_payment_id: intent.to_owned(),
        reason: reason.to_owned(),
    };
    let payment = Payment {
        intent: Some(intent.to_owned()),
        ..Payment::default()
    };
    // One per attempt: each declined attempt is its own event.
    let id = outcome_id("attempt_failed", &[intent, &event.id]);
    report_outcome(event, order_id, payment, id, message)
}

fn session_expired(event: &Event) -> Plan {
    let (Some(session), Some(order_id)) = (event.str("id"), order_id(event, true)) else {
        return unusable(event, "session without id or orderId");
    };
    let message = Message::Expired {
        order_id: order_id.clone(),
        session_id: session.to_owned(),
    };
    let payment = session_payment(session, event.id_of("payment_intent"));
    report_outcome(
        event,
        order_id,
        payment,
        outcome_id("expired", &[session]),
        message,
    )
}

fn charge_refunded(event: &Event) -> Plan {
    let fields = (
        event.str("id"),
        event.int("amount_refunded"),
        event.str("currency"),
    );
    let (Some(charge), Some(refunded), Some(currency)) = fields else {
        return unusable(
            event,
            "refund without charge id, amount_refunded or currency",
        );
    };
    let fully = event.bool("refunded").unwrap_or(false)
        || event.int("amount").is_some_and(|amount| refunded >= amount);
    let order_id = order_id(event, false);
    let message = Message::Refunded {
        order_id: order_id.clone().unwrap_or_default(),
        stripe_payment_id: charge.to_owned(),
        amount_refunded: refunded,
        currency: currency.to_owned(),
        fully_refunded: fully,
    };
    let payment = Payment {
        intent: Some(event.id_of("payment_intent").unwrap_or(charge).to_owned()),
        session: None,
        receipt: receipt(charge, event.str("receipt_url")),
    };
    // Each partial refund raises the cumulative amount: one outcome per amount reached.
    let id = outcome_id("refunded", &[charge, &refunded.to_string()]);
    let outcome = Outcome { id, message };
    report(event, order_id, payment, News::Outcome(outcome))
        .lookup(ChargeLookup::Charge(charge.to_owned()))
}

fn dispute_created(event: &Event) -> Plan {
    let fields = (
        event.str("id"),
        event.id_of("charge"),
        event.int("amount"),
        event.str("currency"),
    );
    let (Some(dispute), Some(charge), Some(amount), Some(currency)) = fields else {
        return unusable(event, "dispute without id, charge, amount or currency");
    };
    let message = Message::Disputed {
        order_id: String::new(),
        stripe_payment_id: charge.to_owned(),
        dispute_id: dispute.to_owned(),
        amount,
        currency: currency.to_owned(),
        reason: event.str("reason").unwrap_or("general").to_owned(),
    };
    dispute_report(event, charge, outcome_id("disputed", &[dispute]), message)
}

/// The closing of a dispute; the dispute object is whole in it, so its opening is published first if it was not.
fn dispute_closed(event: &Event) -> Plan {
    let (Some(dispute), Some(charge), Some(status)) =
        (event.str("id"), event.id_of("charge"), event.str("status"))
    else {
        return unusable(event, "dispute without id, charge or status");
    };
    let message = Message::DisputeClosed {
        order_id: String::new(),
        stripe_payment_id: charge.to_owned(),
        dispute_id: dispute.to_owned(),
        status: status.to_owned(),
    };
    let then = Outcome {
        id: outcome_id("dispute_closed", &[dispute]),
        message: message.for_order(order_id(event, false).as_deref().unwrap_or_default()),
    };
    match dispute_created(event) {
        Plan::Report(mut opened) => {
            if let News::Outcome(first) = opened.news {
                opened.news = News::Follows { first, then };
            }
            Plan::Report(opened)
        }
        ignored => ignored,
    }
}

/// A dispute carries no metadata of ours: its order and payment are found from the charge.
fn dispute_report(event: &Event, charge: &str, id: String, message: Message) -> Plan {
    let payment = Payment {
        intent: event.id_of("payment_intent").map(str::to_owned),
        ..Payment::default()
    };
    let order_id = order_id(event, false);
    let message = message.for_order(order_id.as_deref().unwrap_or_default());
    report(
        event,
        order_id,
        payment,
        News::Outcome(Outcome { id, message }),
    )
    .lookup(ChargeLookup::Charge(charge.to_owned()))
}

fn session_payment(session: &str, intent: Option<&str>) -> Payment {
    Payment {
        intent: intent.map(str::to_owned),
        session: Some(session.to_owned()),
        receipt: None,
    }
}

fn receipt(charge: &str, url: Option<&str>) -> Option<Receipt> {
    Some(Receipt {
        charge_id: charge.to_owned(),
        receipt_url: url?.to_owned(),
    })
}

fn report(event: &Event, order_id: Option<String>, payment: Payment, news: News) -> Report {
    Report {
        order_id,
        payment,
        lookup: None,
        callback_id: event.metadata(CALLBACK_KEY).map(str::to_owned),
        news,
    }
}

fn report_outcome(
    event: &Event,
    order_id: String,
    payment: Payment,
    id: String,
    message: Message,
) -> Plan {
    Plan::Report(Box::new(report(
        event,
        Some(order_id),
        payment,
        News::Outcome(Outcome { id, message }),
    )))
}

impl Report {
    fn lookup(mut self, lookup: ChargeLookup) -> Plan {
        self.lookup = Some(lookup);
        Plan::Report(Box::new(self))
    }
}

/// `metadata.orderId` (what this service sets), `metadata.order_id` (a common hand-made variant), and for
/// Checkout Sessions `client_reference_id` (also set by this service).
pub fn order_id(event: &Event, is_session: bool) -> Option<String> {
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

fn unusable(event: &Event, why: &str) -> Plan {
    Plan::Ignore(Unused::Unusable(format!("{}: {why}", event.event_type)))
}

#[cfg(test)]
mod tests;
