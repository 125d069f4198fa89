//! Why a reconciliation failed. Every variant says which side (Stripe or NATS) and why, in words an operator can
//! act on; none carries a secret.

use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("Stripe could not be reached after {attempts} attempts: {source}")]
    StripeUnreachable {
        attempts: u32,
        #[source]
        source: crate::stripe::transport::TransportError,
    },
    #[error("Stripe kept answering HTTP {status} after {attempts} attempts")]
    StripeUnavailable { status: u16, attempts: u32 },
    #[error("Stripe refused to list events (HTTP {status}): {message}")]
    StripeRefused { status: u16, message: String },
    #[error("Stripe's event list could not be read: {0}")]
    BadList(String),
    #[error("NATS could not be reached within {0:?}")]
    NatsUnreachable(Duration),
    #[error("NATS JetStream failed: {0}")]
    Nats(#[source] crate::error::Error),
    #[error("the reconciliation lease was taken over by another replica")]
    LeaseLost,
}
