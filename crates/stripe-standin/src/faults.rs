//! Injected faults: Stripe-shaped error responses and delays that [`crate::StandIn::inject`] queues up.

use std::time::Duration;

use axum::response::{IntoResponse, Response};

use crate::errors::ApiError;

/// What an injected fault does to a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Respond with this status and a Stripe error body `{"error":{"type":..,"message":..}}`.
    Error {
        status: u16,
        error_type: String,
        message: String,
    },
    /// Sleep this long before handling the request normally (to provoke client timeouts).
    Delay(Duration),
}

impl Fault {
    /// A 500 `api_error`, as Stripe answers when something went wrong on its side.
    pub fn server_error() -> Fault {
        Fault::Error {
            status: 500,
            error_type: "api_error".into(),
            message: "An unknown error occurred".into(),
        }
    }
}

/// Applies a fault: returns the response to send instead of normal handling, or `None` to go on (after a delay).
pub(crate) async fn apply(fault: Fault) -> Option<Response> {
    match fault {
        Fault::Error {
            status,
            error_type,
            message,
        } => Some(ApiError::new(status, &error_type, message).into_response()),
        Fault::Delay(duration) => {
            tokio::time::sleep(duration).await;
            None
        }
    }
}
