//! The lifecycle rules of one order's payments (CONTRACT §5, "Outcomes tell the truth about money, in order").
//!
//! Stripe sends events in any order and more than once; an orders service must never be told "unpaid" about a
//! paid order. Given what was already published for an order ([`History`]) and what a new event reports, [`decide`]
//! says what to publish now, in which order, or why nothing:
//! - nothing unpaid (`attempt_failed`, `failed`, `expired`) after the order's `succeeded`: superseded;
//! - per Checkout Session, at most one final outcome among `succeeded`, `failed`, `expired`;
//! - a refund or dispute only after its payment's `succeeded`: when it comes first, `succeeded` is published
//!   first, from the charge;
//! - each outcome once, for as long as the history is kept.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::outcome::{succeeded_id, Meaning, Message, News, Outcome, Payment};

/// What was published for one order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// Outcome ids published.
    #[serde(default)]
    pub published: BTreeSet<String>,
    /// Payments (payment intent ids, or charge ids without one) reported succeeded.
    #[serde(default)]
    pub paid: BTreeSet<String>,
    /// Checkout Sessions with a final outcome.
    #[serde(default)]
    pub finals: BTreeMap<String, Final>,
}

/// The final outcome of one Checkout Session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Final {
    pub paid: bool,
    /// The session's payment intent, when the event named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub intent: Option<String>,
}

/// What to do with an event's news, given the order's history.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Publish these, in this order.
    Publish(Vec<Outcome>),
    /// Already published.
    Duplicate(String),
    /// Contradicted by what the order's history says; kept for audit, not published.
    Superseded(Superseded),
    /// The payment's `succeeded` must be published and its charge is not known yet: look it up, then decide again.
    NeedReceipt,
}

/// Why an outcome is not published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Superseded {
    /// Unpaid news about an order already reported paid.
    OrderPaid,
    /// A second final outcome for one Checkout Session.
    SessionFinal,
}

impl std::fmt::Display for Superseded {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Superseded::OrderPaid => "the order was already reported paid",
            Superseded::SessionFinal => "the Checkout Session already has a final outcome",
        })
    }
}

/// Decides what `news` about `payment` of `order_id` publishes now.
pub fn decide(history: &History, order_id: &str, payment: &Payment, news: &News) -> Verdict {
    match news {
        News::Succeeded => {
            let id = succeeded_id(payment.intent.as_deref().unwrap_or_default());
            if history.published.contains(&id) {
                return Verdict::Duplicate(id);
            }
            with_success_first(history, order_id, payment, Vec::new())
        }
        News::Outcome(outcome) if history.published.contains(&outcome.id) => {
            Verdict::Duplicate(outcome.id.clone())
        }
        News::Outcome(outcome) => match outcome.message.meaning() {
            Meaning::Unpaid { .. } if !history.paid.is_empty() => {
                Verdict::Superseded(Superseded::OrderPaid)
            }
            Meaning::Unpaid { final_: true } if session_final(history, payment).is_some() => {
                Verdict::Superseded(Superseded::SessionFinal)
            }
            Meaning::Unpaid { .. } => Verdict::Publish(vec![outcome.clone()]),
            Meaning::AfterPayment | Meaning::Paid => {
                after_payment(history, order_id, payment, vec![outcome.clone()])
            }
        },
        News::Follows { then, .. } if history.published.contains(&then.id) => {
            Verdict::Duplicate(then.id.clone())
        }
        News::Follows { first, then } => {
            let first = (!history.published.contains(&first.id)).then(|| first.clone());
            let outcomes = first.into_iter().chain([then.clone()]).collect();
            after_payment(history, order_id, payment, outcomes)
        }
    }
}

/// `outcomes`, after the payment's `payment.succeeded` (published first when it was not).
fn after_payment(
    history: &History,
    order_id: &str,
    payment: &Payment,
    outcomes: Vec<Outcome>,
) -> Verdict {
    let paid_id = succeeded_id(payment.intent.as_deref().unwrap_or_default());
    if history.published.contains(&paid_id) {
        return Verdict::Publish(outcomes);
    }
    with_success_first(history, order_id, payment, outcomes)
}

/// `payment.succeeded`, then `then`; unless a final unpaid outcome of the same session or payment stands.
fn with_success_first(
    history: &History,
    order_id: &str,
    payment: &Payment,
    then: Vec<Outcome>,
) -> Verdict {
    if session_final(history, payment).is_some_and(|f| !f.paid) {
        return Verdict::Superseded(Superseded::SessionFinal);
    }
    let (Some(intent), Some(receipt)) = (&payment.intent, &payment.receipt) else {
        return Verdict::NeedReceipt;
    };
    let succeeded = Outcome {
        id: succeeded_id(intent),
        message: Message::Succeeded {
            stripe_payment_id: receipt.charge_id.clone(),
            order_id: order_id.to_owned(),
            receipt_url: receipt.receipt_url.clone(),
        },
    };
    Verdict::Publish(std::iter::once(succeeded).chain(then).collect())
}

/// The final outcome already recorded for this payment's session (by session id, or by payment intent).
fn session_final<'h>(history: &'h History, payment: &Payment) -> Option<&'h Final> {
    if let Some(found) = payment.session.as_ref().and_then(|s| history.finals.get(s)) {
        return Some(found);
    }
    let intent = payment.intent.as_ref()?;
    history
        .finals
        .values()
        .find(|f| f.intent.as_ref() == Some(intent))
}

impl History {
    /// Records that `outcomes` (a [`Verdict::Publish`] for `payment`) were published.
    pub fn record(&mut self, payment: &Payment, outcomes: &[Outcome]) {
        for outcome in outcomes {
            self.published.insert(outcome.id.clone());
            let paid = match outcome.message.meaning() {
                Meaning::Paid => {
                    if let Some(intent) = &payment.intent {
                        self.paid.insert(intent.clone());
                    }
                    true
                }
                Meaning::Unpaid { final_: true } => false,
                Meaning::Unpaid { final_: false } | Meaning::AfterPayment => continue,
            };
            if let Some(session) = &payment.session {
                self.finals.entry(session.clone()).or_insert(Final {
                    paid,
                    intent: payment.intent.clone(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests;
