//! Request-body extractors that turn every rejection (too large, wrong content type, unreadable, too slow) into
//! the service's JSON error, instead of axum's plain-text defaults.
//!
//! The whole body must arrive within `HTTP_BODY_TIMEOUT`. tower-http's `RequestBodyTimeoutLayer` does not fit: its
//! timer restarts with every chunk, so a client sending one byte per second would never trip it. Past the
//! deadline the answer is 408 and hyper closes the connection (the unread rest of the body is not drained).

use axum::{
    body::Bytes,
    extract::{FromRequest, Request},
    http::header::{CONTENT_LENGTH, CONTENT_TYPE},
};
use bytes::BytesMut;
use futures::StreamExt;

use super::error::HttpError;
use super::AppState;

/// The raw bytes of a body that must be JSON (by `Content-Type` when one is given).
pub struct JsonBytes(pub Bytes);

/// The raw bytes of any body, untouched (the webhook signature covers them exactly).
pub struct RawBody(pub Bytes);

impl FromRequest<AppState> for JsonBytes {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, HttpError> {
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
                return Err(HttpError::UnsupportedMediaType);
            }
        }
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        Ok(JsonBytes(bytes))
    }
}

impl FromRequest<AppState> for RawBody {
    type Rejection = HttpError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, HttpError> {
        let read = tokio::time::timeout(state.body_timeout, read_body(req, state.body_limit));
        read.await
            .map_err(|_| HttpError::BodyTimeout(state.body_timeout))?
            .map(RawBody)
    }
}

/// Reads the whole body, up to `limit` bytes.
///
/// Not axum's `Bytes` extractor: it keeps every chunk as hyper handed it over until the body is complete, and a
/// chunk shares hyper's whole read buffer (8 KiB or more). A client trickling one byte per second thus pinned 8 KiB
/// per byte (the slow-clients bench: 200 MB for 1,000 such clients). Here a body that arrives in one chunk (the
/// usual case) is kept as it is, and one in several chunks is copied, so only the bytes received are held.
async fn read_body(req: Request, limit: usize) -> Result<Bytes, HttpError> {
    let declared = req
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(HttpError::PayloadTooLarge(limit));
    }
    let mut chunks = req.into_body().into_data_stream();
    let mut first: Option<Bytes> = None;
    let mut copied = BytesMut::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(HttpError::BodyUnreadable)?;
        let received = first.as_ref().map_or(0, Bytes::len) + copied.len() + chunk.len();
        if received > limit {
            return Err(HttpError::PayloadTooLarge(limit));
        }
        match first.take() {
            None if copied.is_empty() => first = Some(chunk),
            earlier => {
                if let Some(earlier) = earlier {
                    copied.extend_from_slice(&earlier);
                }
                copied.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| copied.freeze()))
}
