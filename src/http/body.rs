//! Request-body extractors that turn every rejection (too large, wrong content type, unreadable, too slow) into
//! the service's JSON error, instead of axum's plain-text defaults.
//!
//! The whole body must arrive within `HTTP_BODY_TIMEOUT`. tower-http's `RequestBodyTimeoutLayer` does not fit: its
//! timer restarts with every chunk, so a client sending one byte per second would never trip it. Past the
//! deadline the answer is 408 and hyper closes the connection (the unread rest of the body is not drained).

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::{header::CONTENT_TYPE, StatusCode},
};

use super::AppState;
use crate::error::Error;

/// The raw bytes of a body that must be JSON (by `Content-Type` when one is given).
pub struct JsonBytes(pub Bytes);

/// The raw bytes of any body, untouched (the webhook signature covers them exactly).
pub struct RawBody(pub Bytes);

impl FromRequest<AppState> for JsonBytes {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        if let Some(content_type) = req.headers().get(CONTENT_TYPE) {
            let essence = content_type
                .to_str()
                .unwrap_or("")
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            if essence != "application/json" && !essence.ends_with("+json") {
                return Err(Error::UnsupportedMediaType(
                    "Content-Type must be application/json".into(),
                ));
            }
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        Ok(JsonBytes(bytes))
    }
}

impl FromRequest<AppState> for RawBody {
    type Rejection = Error;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Error> {
        let read = tokio::time::timeout(state.body_timeout, Bytes::from_request(req, state));
        read.await
            .map_err(|_| Error::BodyTimeout(state.body_timeout))?
            .map(RawBody)
            .map_err(|rejection| match rejection.status() {
                StatusCode::PAYLOAD_TOO_LARGE => Error::PayloadTooLarge(state.body_limit),
                _ => Error::Invalid(format!("could not read the request body: {rejection}")),
            })
    }
}
