//! Why a call to the Stripe API failed, in the terms callers decide on: Stripe refused (its message is passed
//! on), has no such object (a look-up for an event of another account or mode: retrying cannot help), or could
//! not be reached in time (retrying can).

use super::transport::TransportError;

#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error; `message` is Stripe's own (without the secret key, should it quote it).
    #[error("Stripe refused the request: {message}")]
    Rejected { message: String },
    /// Stripe answered 404: it has no such object.
    #[error("Stripe has no such object: {message}")]
    NotFound { message: String },
    /// Stripe did not answer, or not in time.
    #[error("Stripe is unavailable: {source}")]
    Unavailable {
        #[source]
        source: TransportError,
    },
    /// Stripe (or whatever answered in its place) sent something that is not a Stripe answer.
    #[error("Stripe refused the request: {source}")]
    Unexpected {
        #[source]
        source: TransportError,
    },
}

impl StripeError {
    /// Whether a later attempt may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StripeError::Unavailable { .. })
    }
}
