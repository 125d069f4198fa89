//! Stripe-shaped error responses: `{"error":{"type":…,"message":…,"code":…,"param":…}}` with the status Stripe uses.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// An error the stand-in answers with, in Stripe's format.
#[derive(Debug, Clone)]
pub(crate) struct ApiError {
    status: StatusCode,
    error: Map<String, Value>,
}

impl ApiError {
    /// An error with just a status, a `type` and a `message`.
    pub fn new(status: u16, error_type: &str, message: impl Into<String>) -> Self {
        let mut error = Map::new();
        error.insert("message".into(), Value::String(message.into()));
        error.insert("type".into(), Value::String(error_type.into()));
        ApiError {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            error,
        }
    }

    /// A 400 `invalid_request_error` about request parameter `param`.
    pub fn invalid(param: &str, message: impl Into<String>) -> Self {
        Self::new(400, "invalid_request_error", message).with("param", param)
    }

    /// `Missing required param: <param>.` (code `parameter_missing`).
    pub fn missing(param: &str) -> Self {
        Self::invalid(param, format!("Missing required param: {param}."))
            .with_code("parameter_missing")
    }

    /// `Invalid integer: <value>` (code `parameter_invalid_integer`).
    pub fn invalid_integer(param: &str, value: &str) -> Self {
        Self::invalid(param, format!("Invalid integer: {value}"))
            .with_code("parameter_invalid_integer")
    }

    /// 404 `No such <kind>: '<id>'` (code `resource_missing`).
    pub fn no_such(kind: &str, id: &str, param: &str) -> Self {
        Self::new(
            404,
            "invalid_request_error",
            format!("No such {kind}: '{id}'"),
        )
        .with_code("resource_missing")
        .with("param", param)
    }

    /// 404 for a path the stand-in does not serve, worded as Stripe words it.
    pub fn unrecognized(method: &str, path: &str) -> Self {
        Self::new(
            404,
            "invalid_request_error",
            format!(
                "Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs or we can help at \
                 https://support.stripe.com/."
            ),
        )
    }

    /// Sets `code` and the matching `doc_url`.
    pub fn with_code(self, code: &str) -> Self {
        let doc = format!(
            "https://stripe.com/docs/error-codes/{}",
            code.replace('_', "-")
        );
        self.with("code", code).with("doc_url", &doc)
    }

    /// Sets one more string field of the error object.
    pub fn with(mut self, key: &str, value: &str) -> Self {
        self.error.insert(key.into(), Value::String(value.into()));
        self
    }

    pub fn body(&self) -> Value {
        json!({ "error": self.error })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body())).into_response()
    }
}
