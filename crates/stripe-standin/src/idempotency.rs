//! `Idempotency-Key` on POST requests, as Stripe does it: the first successful result of a key is saved and replayed
//! (with `Idempotent-Replayed: true`) to later requests with the same key and parameters; other parameters get a
//! 400 `idempotency_error`, and a request racing one still in progress with the same key a 409. Results of requests
//! that did not start executing (validation errors) are not saved.
//!
//! The keys live in a [`Keys`] store of their own (the stand-in's state holds one), behind their own lock: the
//! module needs nothing else of the state.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Mutex, MutexGuard};

use axum::body::{to_bytes, Body, Bytes};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::errors::ApiError;

/// Every key seen, and what became of its request.
#[derive(Default)]
pub(crate) struct Keys(Mutex<HashMap<String, Entry>>);

impl Keys {
    /// A panic while the lock was held does not poison it for later requests.
    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What a POST is compared by: method, path and its form pairs, sorted (Stripe compares parameters, not bytes:
/// clients serialize hash maps such as `metadata` in any order).
pub(crate) type Fingerprint = (String, String, Vec<(String, String)>);

pub(crate) fn fingerprint(method: &str, path: &str, form: &[(String, String)]) -> Fingerprint {
    let mut pairs = form.to_vec();
    pairs.sort();
    (method.to_owned(), path.to_owned(), pairs)
}

/// One key's state: its request's fingerprint, and its saved result once there is one.
struct Entry {
    fingerprint: Fingerprint,
    saved: Option<Saved>,
}

#[derive(Clone)]
struct Saved {
    status: StatusCode,
    body: Bytes,
    request_id: String,
}

enum Begin {
    Fresh,
    Replay(Saved),
    Mismatch,
    InProgress,
}

/// Runs `handle` under idempotency key `key`, or answers from the key's saved result.
pub(crate) async fn run(
    keys: &Keys,
    key: &str,
    fingerprint: Fingerprint,
    request_id: &str,
    handle: impl Future<Output = Response>,
) -> Response {
    match begin(keys, key, fingerprint) {
        Begin::Replay(saved) => replay(saved),
        Begin::Mismatch => ApiError::new(
            400,
            "idempotency_error",
            format!(
                "Keys for idempotent requests can only be used with the same parameters they were first used \
                 with. Try using a key other than '{key}' if you meant to execute a different request."
            ),
        )
        .into_response(),
        Begin::InProgress => ApiError::new(
            409,
            "idempotency_error",
            "There is currently another in-progress request using this Idempotent Key (that probably means you \
             submitted twice, and the other request is still going through): "
                .to_owned()
                + key
                + ". Please try again later.",
        )
        .with_code("idempotency_key_in_use")
        .into_response(),
        Begin::Fresh => {
            let response = handle.await;
            let (parts, body) = response.into_parts();
            let body = to_bytes(body, usize::MAX).await.unwrap_or_default();
            let saved = parts.status.is_success().then(|| Saved {
                status: parts.status,
                body: body.clone(),
                request_id: request_id.to_owned(),
            });
            finish(keys, key, saved);
            Response::from_parts(parts, Body::from(body))
        }
    }
}

fn begin(keys: &Keys, key: &str, fingerprint: Fingerprint) -> Begin {
    let mut keys = keys.lock();
    match keys.get(key) {
        None => {
            keys.insert(
                key.to_owned(),
                Entry {
                    fingerprint,
                    saved: None,
                },
            );
            Begin::Fresh
        }
        Some(entry) if entry.fingerprint != fingerprint => Begin::Mismatch,
        Some(Entry {
            saved: Some(saved), ..
        }) => Begin::Replay(saved.clone()),
        Some(_) => Begin::InProgress,
    }
}

/// Saves the key's result, or forgets the key when the request did not execute.
fn finish(keys: &Keys, key: &str, saved: Option<Saved>) {
    let mut keys = keys.lock();
    match saved {
        Some(saved) => {
            if let Some(entry) = keys.get_mut(key) {
                entry.saved = Some(saved);
            }
        }
        None => {
            keys.remove(key);
        }
    }
}

fn replay(saved: Saved) -> Response {
    let mut response = (saved.status, saved.body).into_response();
    let headers = response.headers_mut();
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    if let Ok(original) = HeaderValue::from_str(&saved.request_id) {
        headers.insert("original-request", original);
    }
    response
}
