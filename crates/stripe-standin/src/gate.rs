//! The pipeline every request goes through before its route: record it, apply an injected fault, check the API
//! key, apply `Idempotency-Key`; and after: stamp `Request-Id` (and the other headers Stripe sends) on the response.
//!
//! Handling runs in its own task, so a request whose client gave up (timed out during an injected delay) is still
//! handled to the end, as it would be at Stripe: tests see deterministic state afterwards.

use std::sync::Arc;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::errors::ApiError;
use crate::state::{RecordedRequest, Shared};
use crate::{auth, faults, form, idempotency, ids};

/// Largest request body accepted (Stripe's own limit is far below this).
const BODY_LIMIT: usize = 16 * 1024 * 1024;

pub(crate) async fn gate(
    State(shared): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let request_id = ids::random_id("req_", 14);
    let (parts, body) = request.into_parts();
    let body = match to_bytes(body, BODY_LIMIT).await {
        Ok(body) => body,
        Err(_) => Bytes::new(),
    };
    let recorded = record(&parts, &body);
    let form = recorded.form.clone();
    let fault = shared.lock().record(recorded);
    let stripe_version = parts.headers.get("stripe-version").cloned();
    let request = Request::from_parts(parts, Body::from(body));

    let task_request_id = request_id.clone();
    let task =
        tokio::spawn(
            async move { process(shared, request, form, fault, next, &task_request_id).await },
        );
    let mut response = match task.await {
        Ok(response) => response,
        Err(_) => ApiError::new(500, "api_error", "An unknown error occurred").into_response(),
    };

    let headers = response.headers_mut();
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert("request-id", id);
    }
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store"),
    );
    if let Some(version) = stripe_version {
        headers.insert("stripe-version", version);
    }
    response
}

async fn process(
    shared: Arc<Shared>,
    request: Request,
    form: Vec<(String, String)>,
    fault: Option<faults::Fault>,
    next: Next,
    request_id: &str,
) -> Response {
    if let Some(fault) = fault {
        if let Some(response) = faults::apply(fault).await {
            return response;
        }
    }
    if request.uri().path().starts_with("/v1/") {
        if let Err(error) = auth::check(request.headers(), shared.api_key.as_deref()) {
            let mut response = error.into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"Stripe\""),
            );
            return response;
        }
    }
    let key = request
        .headers()
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match key {
        Some(key) if request.method() == Method::POST => {
            let fingerprint = idempotency::fingerprint("POST", request.uri().path(), &form);
            let mut response = idempotency::run(
                &shared.idempotency,
                &key,
                fingerprint,
                request_id,
                next.run(request),
            )
            .await;
            if let Ok(value) = HeaderValue::from_str(&key) {
                response.headers_mut().insert("idempotency-key", value);
            }
            response
        }
        _ => next.run(request).await,
    }
}

fn record(parts: &axum::http::request::Parts, body: &[u8]) -> RecordedRequest {
    let headers = parts
        .headers
        .iter()
        .map(|(name, value)| {
            let value = String::from_utf8_lossy(value.as_bytes()).into_owned();
            (name.as_str().to_ascii_lowercase(), value)
        })
        .collect();
    RecordedRequest {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: form::pairs(parts.uri.query().unwrap_or("").as_bytes()),
        headers,
        form: form::pairs(body),
    }
}
