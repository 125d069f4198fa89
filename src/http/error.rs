//! The one mapping of errors to HTTP: a status and the `{"status","message"}` body. Handlers and extractors
//! return [`HttpError`]: the errors of the use cases, and those only HTTP has (body size, content type, slow
//! body, routing, the webhook signature).

use std::time::Duration;

use axum::{
    http::StatusCode,
    response::{IntoResponse, Response},
    Json,
};
use serde::Serialize;

use crate::{
    error::Error,
    nats::idempotency::ClaimError,
    stripe::{client::StripeError, signature::SignatureError},
};

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(transparent)]
    App(#[from] Error),
    /// The body is not declared as JSON.
    #[error("Content-Type must be application/json")]
    UnsupportedMediaType,
    /// The body is larger than `HTTP_BODY_LIMIT`.
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    /// The body did not arrive within `HTTP_BODY_TIMEOUT` (a slow or stalled client); the connection is closed.
    #[error("the request body did not arrive within {}", humantime::format_duration(*.0))]
    BodyTimeout(Duration),
    #[error("could not read the request body: {0}")]
    BodyUnreadable(#[source] axum::Error),
    #[error("Idempotency-Key header must be visible ASCII")]
    KeyNotAscii,
    /// A webhook whose `Stripe-Signature` does not verify.
    #[error("Webhook Error: {0}")]
    Signature(#[source] SignatureError),
    #[error("Cannot {method} {path}")]
    NotFound { method: String, path: String },
    #[error("{method} is not allowed on {path}")]
    MethodNotAllowed { method: String, path: String },
}

/// `{"status":400,"message":"…"}`: the error body of every HTTP error.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct ErrorBody {
    pub status: u16,
    pub message: String,
}

impl HttpError {
    pub fn status(&self) -> StatusCode {
        match self {
            HttpError::App(error) => match error {
                Error::Invalid(_) | Error::Callback(_) => StatusCode::BAD_REQUEST,
                Error::Claim(ClaimError::Conflict(_)) => StatusCode::CONFLICT,
                Error::Stripe(StripeError::Unavailable { .. })
                | Error::Claim(ClaimError::Unavailable(_))
                | Error::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                Error::Stripe(_) => StatusCode::BAD_GATEWAY,
                Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            HttpError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            HttpError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            HttpError::BodyTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            HttpError::BodyUnreadable(_) | HttpError::KeyNotAscii | HttpError::Signature(_) => {
                StatusCode::BAD_REQUEST
            }
            HttpError::NotFound { .. } => StatusCode::NOT_FOUND,
            HttpError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        }
    }

    pub fn body(&self) -> ErrorBody {
        let message = match self {
            HttpError::App(error) => error.client_message(),
            other => crate::causes::chain(other),
        };
        ErrorBody {
            status: self.status().as_u16(),
            message,
        }
    }
}

impl IntoResponse for HttpError {
    fn into_response(self) -> Response {
        if let HttpError::App(Error::Internal(detail)) = &self {
            tracing::error!(%detail, "internal error");
        }
        (self.status(), Json(self.body())).into_response()
    }
}
