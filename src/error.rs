//! The service's one error type, and its mapping to HTTP statuses and to the `{"status","message"}` body.
//!
//! HTTP handlers and NATS handlers both return [`Error`]; each transport renders it from [`Error::status`] and
//! [`Error::message`], so a failure reads the same to a REST client, a NestJS gateway and a plain NATS client.

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is invalid; the message names the field.
    #[error("{0}")]
    Invalid(String),
    /// The body is not JSON (or not declared as JSON).
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body is larger than `HTTP_BODY_LIMIT`.
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// An idempotency key already used for another request (CONTRACT §2); nothing was created or changed.
    #[error("{0}")]
    Conflict(String),
    /// The body did not arrive within `HTTP_BODY_TIMEOUT` (a slow or stalled client); the connection is closed.
    #[error("the request body did not arrive within {}", humantime::format_duration(*.0))]
    BodyTimeout(std::time::Duration),
    /// A webhook whose `Stripe-Signature` does not verify.
    #[error("Webhook Error: {0}")]
    Signature(String),
    /// Stripe answered with an error: its message is passed on.
    #[error("Stripe refused the request: {0}")]
    StripeRejected(String),
    /// Stripe has no such object (a look-up for an event of another account or mode): retrying cannot help.
    #[error("Stripe has no such object: {0}")]
    StripeNotFound(String),
    /// Stripe could not be reached or did not answer in time.
    #[error("Stripe is unavailable: {0}")]
    StripeUnavailable(String),
    /// NATS/JetStream cannot take the work now; the caller should retry.
    #[error("{0}")]
    Unavailable(String),
    /// No such route.
    #[error("{0}")]
    NotFound(String),
    /// The route exists, not with this method.
    #[error("{0}")]
    MethodNotAllowed(String),
    /// A bug or an impossible state; details are logged, not returned.
    #[error("internal error")]
    Internal(String),
}

impl Error {
    pub fn status(&self) -> StatusCode {
        match self {
            Error::Invalid(_) | Error::Signature(_) => StatusCode::BAD_REQUEST,
            Error::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Error::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Conflict(_) => StatusCode::CONFLICT,
            Error::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            Error::StripeRejected(_) | Error::StripeNotFound(_) => StatusCode::BAD_GATEWAY,
            Error::StripeUnavailable(_) | Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The one line a caller sees.
    pub fn message(&self) -> String {
        self.to_string()
    }

    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            status: self.status().as_u16(),
            message: self.message(),
        }
    }
}

/// `{"status":400,"message":"…"}`: the error body of HTTP responses, NestJS `err` replies and plain NATS replies.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ErrorBody {
    pub status: u16,
    pub message: String,
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        if let Error::Internal(detail) = &self {
            tracing::error!(%detail, "internal error");
        }
        (self.status(), Json(self.body())).into_response()
    }
}
