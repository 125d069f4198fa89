//! Liveness, readiness, metrics and the OpenAPI document.

use std::sync::OnceLock;

use axum::{
    extract::State,
    http::{header::CONTENT_TYPE, HeaderName, StatusCode},
    Json,
};
use serde::Serialize;

use super::AppState;

#[derive(Serialize, utoipa::ToSchema)]
pub struct Probe {
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'static str>,
}

/// Liveness: 200 while the process serves, whatever NATS is doing.
#[utoipa::path(get, path = "/health", tag = "operations", responses((status = 200, body = Probe)))]
pub async fn health() -> Json<Probe> {
    Json(Probe {
        status: "ok",
        message: None,
    })
}

/// Readiness: 200 only while NATS is connected and the streams exist (a webhook could be stored now).
#[utoipa::path(
    get,
    path = "/ready",
    tag = "operations",
    responses((status = 200, body = Probe), (status = 503, description = "NATS JetStream not usable", body = Probe))
)]
pub async fn ready(State(state): State<AppState>) -> (StatusCode, Json<Probe>) {
    if state.nats.is_ready() {
        (
            StatusCode::OK,
            Json(Probe {
                status: "ready",
                message: None,
            }),
        )
    } else {
        let body = Probe {
            status: "unavailable",
            message: Some("NATS JetStream is not usable"),
        };
        (StatusCode::SERVICE_UNAVAILABLE, Json(body))
    }
}

/// Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses((status = 200, description = "Prometheus text exposition format", content_type = "text/plain", body = String))
)]
pub async fn metrics() -> ([(HeaderName, &'static str); 1], String) {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::metrics::handle().render(),
    )
}

/// The document is built once from the same declarations as the router (see `super::api`).
static DOCUMENT: OnceLock<String> = OnceLock::new();

/// This document: the OpenAPI 3 description of the HTTP API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "operations",
    responses((status = 200, description = "OpenAPI 3 document", content_type = "application/json", body = Object))
)]
pub async fn openapi() -> ([(HeaderName, &'static str); 1], String) {
    let document = DOCUMENT.get_or_init(|| {
        super::api()
            .into_openapi()
            .to_pretty_json()
            .expect("the OpenAPI document serialises")
    });
    ([(CONTENT_TYPE, "application/json")], document.clone())
}
