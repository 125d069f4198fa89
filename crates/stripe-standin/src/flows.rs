//! The Checkout emulator's payment flows: what happens when a customer pays a session (by card, by a card that is
//! declined once before a good one, or by a delayed method that later succeeds or fails), cancels, or lets it
//! expire; the objects Stripe creates and changes, and
//! the events it sends, in Stripe's order. The hosted page's buttons and [`StandIn::pay`] run the same code.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde_json::Value;

use crate::events::envelope;
use crate::payment::{self, Attempt, Intent, Payment};
use crate::state::{Inner, Shared};
use crate::webhooks::emit;
use crate::StandIn;

/// How the customer pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// Succeeds at once: `charge.succeeded`, `payment_intent.succeeded`, `checkout.session.completed` (paid).
    Card,
    /// A card that is declined (Stripe's test card 4000 0000 0000 0002), then a good card in the same session:
    /// `charge.failed`, `payment_intent.payment_failed` (back to `requires_payment_method`, `last_payment_error`
    /// of the declined charge), then as [`Method::Card`] with the same payment intent.
    DeclinedThenCard,
    /// `checkout.session.completed` (unpaid), then after the settle delay `payment_intent.succeeded`,
    /// `charge.succeeded`, `checkout.session.async_payment_succeeded`.
    DelayedSuccess,
    /// `checkout.session.completed` (unpaid), then after the settle delay `payment_intent.payment_failed`,
    /// `checkout.session.async_payment_failed`; the reason is a bank debit's ([`crate::FAILURE_MESSAGE`]).
    DelayedFailure,
}

impl Method {
    /// `card`, `declined_then_card`, `delayed_success`, `delayed_failure` (the hosted page's `method` parameter).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Card => "card",
            Method::DeclinedThenCard => "declined_then_card",
            Method::DelayedSuccess => "delayed_success",
            Method::DelayedFailure => "delayed_failure",
        }
    }
}

impl FromStr for Method {
    type Err = FlowError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "card" => Ok(Method::Card),
            "declined_then_card" => Ok(Method::DeclinedThenCard),
            "delayed_success" => Ok(Method::DelayedSuccess),
            "delayed_failure" => Ok(Method::DelayedFailure),
            other => Err(FlowError::UnknownMethod(other.to_owned())),
        }
    }
}

/// Why a session cannot be paid, cancelled or expired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FlowError {
    NoSuchSession(String),
    /// Only `open` sessions can be paid, cancelled or expired.
    NotOpen {
        id: String,
        status: String,
    },
    /// Only `payment` mode sessions can be paid here.
    NotPayable {
        id: String,
        mode: String,
    },
    UnknownMethod(String),
}

impl fmt::Display for FlowError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FlowError::NoSuchSession(id) => write!(f, "No such checkout.session: '{id}'"),
            FlowError::NotOpen { status, .. } => write!(
                f,
                "This Checkout Session is no longer active: only Checkout Sessions with a status in [\"open\"] can be \
                 paid, cancelled or expired. This Checkout Session has a status of `{status}`."
            ),
            FlowError::NotPayable { mode, .. } => write!(
                f,
                "The Checkout emulator pays only sessions in `payment` mode, not `{mode}`."
            ),
            FlowError::UnknownMethod(m) => write!(
                f,
                "Unknown payment method {m:?}: use card, declined_then_card, delayed_success or delayed_failure."
            ),
        }
    }
}

impl std::error::Error for FlowError {}

/// What paying a session created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paid {
    pub session_id: String,
    pub payment_intent_id: String,
    /// The charge, once the payment succeeds (at once by card, after the settle delay for delayed success).
    pub charge_id: Option<String>,
    /// The failed charge of the declined attempt ([`Method::DeclinedThenCard`]).
    pub declined_charge_id: Option<String>,
    /// Where the customer goes next: `success_url` (or `return_url`) with `{CHECKOUT_SESSION_ID}` replaced.
    pub redirect_url: Option<String>,
}

impl StandIn {
    /// Pays open session `session_id` with `method`, as the hosted page's buttons do.
    pub async fn pay(&self, session_id: &str, method: Method) -> Result<Paid, FlowError> {
        pay(&self.shared, session_id, method)
    }

    /// The customer goes back without paying: no event (Stripe sends none) and the session stays open; the
    /// session's `cancel_url`, if it has one.
    pub async fn cancel(&self, session_id: &str) -> Result<Option<String>, FlowError> {
        cancel(&self.shared, session_id)
    }

    /// Expires open session `session_id` (status `expired`, event `checkout.session.expired`); the session.
    pub async fn expire(&self, session_id: &str) -> Result<Value, FlowError> {
        expire(&self.shared, session_id)
    }
}

/// The session, if it is open.
fn open<'a>(inner: &'a mut Inner, id: &str) -> Result<&'a mut Value, FlowError> {
    let stored = inner
        .sessions
        .get_mut(id)
        .ok_or_else(|| FlowError::NoSuchSession(id.to_owned()))?;
    match stored.object["status"].as_str().unwrap_or_default() {
        "open" => Ok(&mut stored.object),
        status => Err(FlowError::NotOpen {
            id: id.to_owned(),
            status: status.to_owned(),
        }),
    }
}

pub(crate) fn pay(shared: &Arc<Shared>, id: &str, method: Method) -> Result<Paid, FlowError> {
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let session = open(inner, id)?;
    let mode = session["mode"].as_str().unwrap_or_default();
    if mode != "payment" {
        return Err(FlowError::NotPayable {
            id: id.to_owned(),
            mode: mode.to_owned(),
        });
    }
    let amount = session["amount_total"].as_i64().unwrap_or(0);
    let currency = session["currency"].as_str().unwrap_or("usd").to_owned();
    let redirect_url = ["success_url", "return_url"]
        .iter()
        .find_map(|field| session[*field].as_str())
        .map(|url| url.replace("{CHECKOUT_SESSION_ID}", id));
    let metadata = inner.sessions[id].payment_intent_metadata.clone();
    let payment = Payment::new(amount, &currency, metadata);
    let mut paid = Paid {
        session_id: id.to_owned(),
        payment_intent_id: payment.intent_id.clone(),
        charge_id: Some(payment.charge_id.clone()),
        declined_charge_id: None,
        redirect_url,
    };
    if method == Method::DeclinedThenCard {
        paid.declined_charge_id = Some(decline(shared, inner, id, &payment));
    }
    let session = open(inner, id)?;
    if matches!(method, Method::Card | Method::DeclinedThenCard) {
        payment::complete(session, &payment.intent_id, true);
        let session = session.clone();
        let (intent, charge) = (payment.intent(Intent::Succeeded), payment.charge());
        store(inner, &intent, Some(&charge));
        emit(shared, inner, id, envelope("charge.succeeded", charge));
        emit(
            shared,
            inner,
            id,
            envelope("payment_intent.succeeded", intent),
        );
        emit(
            shared,
            inner,
            id,
            envelope("checkout.session.completed", session),
        );
        return Ok(paid);
    }
    payment::complete(session, &payment.intent_id, false);
    let session = session.clone();
    store(inner, &payment.intent(Intent::Processing), None);
    emit(
        shared,
        inner,
        id,
        envelope("checkout.session.completed", session),
    );
    let succeed = method == Method::DelayedSuccess;
    if !succeed {
        paid.charge_id = None;
    }
    let (shared, id, delay) = (shared.clone(), id.to_owned(), shared.settle_delay);
    inner.tasks.spawn(async move {
        tokio::time::sleep(delay).await;
        settle(&shared, &id, &payment, succeed);
    });
    Ok(paid)
}

/// A declined card attempt on session `id`: the session stays open; the failed charge's id.
fn decline(shared: &Arc<Shared>, inner: &mut Inner, id: &str, payment: &Payment) -> String {
    let attempt = Attempt::new();
    let (intent, charge) = (
        payment.declined_intent(&attempt),
        payment.declined_charge(&attempt),
    );
    store(inner, &intent, Some(&charge));
    emit(shared, inner, id, envelope("charge.failed", charge));
    let event = envelope("payment_intent.payment_failed", intent);
    emit(shared, inner, id, event);
    attempt.charge_id
}

/// A delayed payment of session `id` succeeds or fails.
fn settle(shared: &Arc<Shared>, id: &str, payment: &Payment, succeed: bool) {
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let Some(stored) = inner.sessions.get_mut(id) else {
        return;
    };
    if succeed {
        payment::settle(&mut stored.object);
    }
    let session = stored.object.clone();
    if succeed {
        let (intent, charge) = (payment.intent(Intent::Succeeded), payment.charge());
        store(inner, &intent, Some(&charge));
        emit(
            shared,
            inner,
            id,
            envelope("payment_intent.succeeded", intent),
        );
        emit(shared, inner, id, envelope("charge.succeeded", charge));
        let event = envelope("checkout.session.async_payment_succeeded", session);
        emit(shared, inner, id, event);
    } else {
        let intent = payment.intent(Intent::DebitFailed);
        store(inner, &intent, None);
        emit(
            shared,
            inner,
            id,
            envelope("payment_intent.payment_failed", intent),
        );
        let event = envelope("checkout.session.async_payment_failed", session);
        emit(shared, inner, id, event);
    }
}

fn store(inner: &mut Inner, intent: &Value, charge: Option<&Value>) {
    let id = |o: &Value| o["id"].as_str().unwrap_or_default().to_owned();
    inner.payment_intents.insert(id(intent), intent.clone());
    if let Some(charge) = charge {
        inner.charges.insert(id(charge), charge.clone());
    }
}

pub(crate) fn cancel(shared: &Shared, id: &str) -> Result<Option<String>, FlowError> {
    let mut inner = shared.lock();
    let session = open(&mut inner, id)?;
    Ok(session["cancel_url"].as_str().map(str::to_owned))
}

pub(crate) fn expire(shared: &Arc<Shared>, id: &str) -> Result<Value, FlowError> {
    let mut guard = shared.lock();
    let inner = &mut *guard;
    let session = open(inner, id)?;
    payment::expire(session);
    let session = session.clone();
    emit(
        shared,
        inner,
        id,
        envelope("checkout.session.expired", session.clone()),
    );
    Ok(session)
}
