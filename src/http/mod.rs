//! The HTTP API (CONTRACT §2): the router, its shared state, and JSON answers for unknown routes and methods.

mod body;
mod observe;
mod pages;
mod sessions;
mod status;
mod webhook;

use std::sync::Arc;

use crate::{
    error::Error,
    nats::connection::Nats,
    pipeline::inbox::Inbox,
    stripe::{client::StripeApi, signature::Verifier},
};
use axum::{
    extract::{DefaultBodyLimit, Request},
    routing::{get, post},
    Router,
};

/// What every handler may use; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub stripe: StripeApi,
    pub nats: Nats,
    pub inbox: Inbox,
    pub verifier: Verifier,
    pub body_limit: usize,
}

impl AppState {
    pub fn new(shared: Shared) -> Self {
        Self(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

pub fn router(state: AppState) -> Router {
    let routes = Router::new()
        .route("/payments/create-session", post(sessions::create))
        .route("/payments/create-payment-session", post(sessions::create))
        .route("/payments/success", get(pages::success))
        .route("/payments/cancel", get(pages::cancel))
        .route("/payments/webhook", post(webhook::receive))
        .route("/health", get(status::health))
        .route("/ready", get(status::ready))
        .route("/metrics", get(status::metrics))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The extractor in `body` enforces the limit and answers 413 in our format.
        .layer(DefaultBodyLimit::max(state.body_limit))
        .with_state(state);
    observe::layer(routes)
}

async fn not_found(request: Request) -> Error {
    Error::NotFound(format!(
        "Cannot {} {}",
        request.method(),
        request.uri().path()
    ))
}

async fn method_not_allowed(request: Request) -> axum::response::Response {
    use axum::response::IntoResponse;
    let body = crate::error::ErrorBody {
        status: 405,
        message: format!(
            "{} is not allowed on {}",
            request.method(),
            request.uri().path()
        ),
    };
    (axum::http::StatusCode::METHOD_NOT_ALLOWED, axum::Json(body)).into_response()
}
