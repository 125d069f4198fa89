//! Injected faults: Stripe-shaped error responses and delays that [`crate::StandIn::inject`] queues up, and the
//! failures of `GET /v1/events` that [`crate::StandIn::fail_event_lists`] queues up ([`ListFault`]).

use std::time::Duration;

use axum::http::HeaderValue;
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

/// How one list call fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListFault {
    /// 429 `rate_limit_error` with `Retry-After: 1`.
    RateLimited,
    /// 500 `api_error`.
    ServerError,
}

impl ListFault {
    pub(crate) fn response(self) -> Response {
        match self {
            ListFault::RateLimited => {
                let mut response = ApiError::new(
                    429,
                    "rate_limit_error",
                    "Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.",
                )
                .with_code("rate_limit")
                .into_response();
                response
                    .headers_mut()
                    .insert("retry-after", HeaderValue::from_static("1"));
                response
            }
            ListFault::ServerError => {
                ApiError::new(500, "api_error", "An unknown error occurred").into_response()
            }
        }
    }
}
