//! The errors an operation of the service (creating a session, storing or processing an event) can end with, one
//! variant per cause, each keeping its cause as a `source`. What a caller is told is decided at the edges, once:
//! the HTTP status and body in `http::error`, the NATS error headers and NestJS envelope in `nats::envelope`.
//! Both show [`Error::client_message`].

use std::borrow::Cow;

use crate::nats::idempotency::ClaimError;
pub use crate::nats::unavailable::{BoxError, Unavailable};
use crate::{callback::CallbackRefused, payment::checkout::Invalid, stripe::client::StripeError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is invalid; the message names the field.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    /// A callback target the service cannot call.
    #[error(transparent)]
    Callback(#[from] CallbackRefused),
    /// The idempotency key (or the callback target kept under it) belongs to another request (CONTRACT §2;
    /// nothing was created or changed), or could not be checked now.
    #[error(transparent)]
    Claim(#[from] ClaimError),
    /// The Stripe API refused, has no such object, or could not be reached.
    #[error(transparent)]
    Stripe(#[from] StripeError),
    /// NATS JetStream cannot take the work now; the caller should retry.
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    /// A bug or an impossible state; details are logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    /// [`Unavailable::new`], as an [`Error`].
    pub fn unavailable(doing: impl Into<Cow<'static, str>>) -> Self {
        Error::Unavailable(Unavailable::new(doing))
    }

    /// The one line a caller is shown: the error and its causes, except the details of an internal error.
    pub fn client_message(&self) -> String {
        match self {
            Error::Internal(_) => self.to_string(),
            other => crate::causes::chain(other),
        }
    }
}
