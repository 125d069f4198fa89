//! Per-request observability: a request id (`x-request-id` honoured, or a new UUID, and returned), one span per
//! request carrying it, and request counts and latencies by matched route, never by raw path.
//!
//! Metric labels come from fixed sets (CONTRACT §9): the route is one of the router's own patterns, the method one
//! of HTTP's standard methods, and anything else is counted as `other`, so no request can create a new series.

use std::time::Instant;

use axum::{
    extract::{MatchedPath, Request},
    http::Method,
    middleware::Next,
    response::Response,
    Router,
};
use tower_http::{
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    trace::{DefaultOnFailure, TraceLayer},
};

use crate::metrics::{HTTP_DURATION, HTTP_REQUESTS};

const REQUEST_ID: &str = "x-request-id";

/// Wraps the router: request id outermost, so the span and the response both see it.
pub fn layer(router: Router) -> Router {
    let header = axum::http::HeaderName::from_static(REQUEST_ID);
    router
        .layer(axum::middleware::from_fn(record))
        .layer(
            TraceLayer::new_for_http()
                // Handlers log why a request failed; a 503 storm (NATS down, Stripe retrying) must not also become
                // one ERROR line per request.
                .on_failure(DefaultOnFailure::new().level(tracing::Level::DEBUG))
                .make_span_with(|request: &Request| {
                    let request_id = request
                        .headers()
                        .get(REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    tracing::info_span!(
                        "http",
                        method = %request.method(),
                        path = %request.uri().path(),
                        request_id,
                        event_id = tracing::field::Empty,
                    )
                }),
        )
        .layer(PropagateRequestIdLayer::new(header.clone()))
        .layer(SetRequestIdLayer::new(header, MakeRequestUuid))
}

async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| OTHER.to_owned(), |p| p.as_str().to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    // Statuses are the ones our handlers and hyper produce: a bounded set.
    let status = response.status().as_u16().to_string();
    metrics::counter!(HTTP_REQUESTS, "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!(HTTP_DURATION, "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The label for anything outside a fixed set.
const OTHER: &str = "other";

/// HTTP's standard methods by name; any extension method (a client may send any token) is `other`.
fn method_label(method: &Method) -> &'static str {
    const STANDARD: [&str; 9] = [
        "GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "CONNECT", "TRACE",
    ];
    STANDARD
        .into_iter()
        .find(|known| *known == method.as_str())
        .unwrap_or(OTHER)
}
