//! Liveness and readiness probes.

use axum::{
    extract::State,
    http::{header::CONTENT_TYPE, StatusCode},
    Json,
};
use serde_json::{json, Value};

use super::AppState;

/// 200 while the process serves, whatever NATS is doing.
pub async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

/// 200 only while NATS is connected and the streams exist: a webhook could be stored durably now.
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    if state.nats.is_ready() {
        (StatusCode::OK, Json(json!({"status": "ready"})))
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Json(json!({"status": "unavailable", "message": "NATS JetStream is not usable"})),
        )
    }
}

/// Prometheus text format.
pub async fn metrics() -> ([(axum::http::HeaderName, &'static str); 1], String) {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::metrics::handle().render(),
    )
}
