//! The HTTP API (CONTRACT §2): the router, its shared state, and JSON answers for unknown routes and methods.

mod body;
pub mod error;
mod observe;
mod pages;
mod schema;
pub mod server;
mod sessions;
mod status;
mod webhook;

use std::sync::Arc;

use crate::{
    nats::connection::Nats, pipeline::inbox::Inbox, stripe::signature::Verifier,
    usecase::create_checkout::Checkout,
};
use axum::{
    extract::{DefaultBodyLimit, Request},
    Router,
};
use error::HttpError;
use utoipa::OpenApi;
use utoipa_axum::{router::OpenApiRouter, routes};

/// What every handler may use; cheap to clone.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

pub struct Shared {
    pub checkout: Checkout,
    pub nats: Nats,
    pub inbox: Inbox,
    pub verifier: Verifier,
    pub body_limit: usize,
    /// `HTTP_BODY_TIMEOUT`: the whole body must arrive within it.
    pub body_timeout: std::time::Duration,
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

/// Every route, declared once: the router and the OpenAPI document are both built from this.
pub fn api() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(sessions::create))
        .routes(routes!(sessions::create_alias))
        .routes(routes!(pages::success))
        .routes(routes!(pages::cancel))
        .routes(routes!(webhook::receive))
        .routes(routes!(status::health))
        .routes(routes!(status::ready))
        .routes(routes!(status::metrics))
        .routes(routes!(status::openapi))
}

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "payments",
        description = "Stripe Checkout sessions and verified Stripe webhooks, published as payment events on NATS JetStream."
    ),
    components(schemas(error::ErrorBody))
)]
struct ApiDoc;

pub fn router(state: AppState) -> Router {
    let (routes, _) = api().split_for_parts();
    let routes = routes
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        // The extractor in `body` enforces the limit and answers 413 in our format.
        .layer(DefaultBodyLimit::max(state.body_limit))
        .with_state(state);
    observe::layer(routes)
}

async fn not_found(request: Request) -> HttpError {
    HttpError::NotFound {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
    }
}

async fn method_not_allowed(request: Request) -> HttpError {
    HttpError::MethodNotAllowed {
        method: request.method().to_string(),
        path: request.uri().path().to_owned(),
    }
}
