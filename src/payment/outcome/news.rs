//! What one event reports about an order's payment, before the order's lifecycle decides what of it is
//! published: the payment it is about, and the news (succeeded, or an outcome).

use super::Outcome;

/// The payment an event is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Payment {
    /// The payment intent (or the charge, for a charge without one); names the payment's `succeeded`.
    pub intent: Option<String>,
    pub session: Option<String>,
    /// The succeeded charge and its receipt, when known.
    pub receipt: Option<Receipt>,
}

/// A succeeded charge, as `payment.succeeded` carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub charge_id: String,
    pub receipt_url: String,
}

/// What an event reports.
#[derive(Debug, Clone, PartialEq)]
pub enum News {
    /// The payment succeeded.
    Succeeded,
    /// An outcome that is not a success: unpaid, or money moving after the payment.
    Outcome(Outcome),
    /// An after-payment outcome that only follows another (a dispute closes after it was opened): when `first` was
    /// not published, it is, before `then`.
    Follows { first: Outcome, then: Outcome },
}

impl News {
    /// Whether the news says the order is not paid (yet).
    pub fn is_unpaid(&self) -> bool {
        matches!(self, News::Outcome(o) if o.message.meaning().is_unpaid())
    }

    /// The outcomes the news carries, for filling in their order once it is known.
    pub fn outcomes_mut(&mut self) -> Vec<&mut Outcome> {
        match self {
            News::Succeeded => Vec::new(),
            News::Outcome(outcome) => vec![outcome],
            News::Follows { first, then } => vec![first, then],
        }
    }
}
