//! The bodies of the emulator's admin routes ([`crate::admin`]): JSON documents of one object or an array of them,
//! and the single parameters of the after-payment routes, sent as a form or as a JSON object.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::errors::ApiError;
use crate::form;

/// The body as JSON, or a `400 invalid_request_error` saying why it is not.
pub(crate) fn json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            400,
            "invalid_request_error",
            format!("The body is not JSON: {e}"),
        )
    })
}

/// The items of an array, or the one value that is not an array.
pub(crate) fn one_or_many(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => vec![other],
    }
}

/// A request's parameters: a form body, or a JSON object body (`Content-Type: application/json`).
pub(crate) struct Params {
    json: bool,
    body: Bytes,
}

impl<S: Send + Sync> FromRequest<S> for Params {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("json"));
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        Ok(Params { json, body })
    }
}

impl Params {
    /// Parameter `name`, if given (of a JSON body, a number is taken as its text).
    pub(crate) fn get(&self, name: &str) -> Result<Option<String>, ApiError> {
        if !self.json {
            return Ok(form::pairs(&self.body)
                .into_iter()
                .rev()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v));
        }
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(None);
        }
        let Value::Object(object) = json(&self.body)? else {
            return Err(ApiError::new(
                400,
                "invalid_request_error",
                "The body must be a JSON object.",
            ));
        };
        match object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(text)) => Ok(Some(text.clone())),
            Some(other) => Ok(Some(other.to_string())),
        }
    }

    /// Parameter `name`, which must be given.
    pub(crate) fn required(&self, name: &str) -> Result<String, ApiError> {
        self.get(name)?.ok_or_else(|| ApiError::missing(name))
    }
}
