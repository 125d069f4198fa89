//! `POST /payments/create-session` (and its NestJS-era alias): creates a Stripe Checkout Session.

use axum::{extract::State, http::HeaderMap, Json};
use tracing::Instrument;

use super::{body::JsonBytes, error::HttpError, AppState};
use crate::{
    payment::checkout::SessionCreated,
    telemetry::{propagation::TRACEPARENT, spans},
    usecase::create_checkout::CreateCheckout,
};

/// Create a Stripe Checkout Session for an order.
#[utoipa::path(
    post,
    path = "/payments/create-session",
    tag = "sessions",
    request_body = super::schema::CreateSessionRequest,
    params(
        ("Idempotency-Key" = Option<String>, Header, description = "Replaces the key derived from the request"),
        ("traceparent" = Option<String>, Header, description = "W3C trace context: the session's trace continues it (an invalid value starts a new trace)"),
    ),
    responses(
        (status = 200, description = "Session created (or the same one again for an identical retry)", body = super::schema::SessionCreated),
        (status = 400, description = "Invalid request; the message names the field", body = super::error::ErrorBody),
        (status = 409, description = "The Idempotency-Key was used for another request; nothing was created or changed", body = super::error::ErrorBody),
        (status = 413, description = "Body over HTTP_BODY_LIMIT", body = super::error::ErrorBody),
        (status = 408, description = "Body not received within HTTP_BODY_TIMEOUT; the connection is closed", body = super::error::ErrorBody),
        (status = 415, description = "Body is not JSON", body = super::error::ErrorBody),
        (status = 502, description = "Stripe refused; its message is passed on", body = super::error::ErrorBody),
        (status = 503, description = "Stripe unreachable or too slow", body = super::error::ErrorBody),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> Result<Json<SessionCreated>, HttpError> {
    let idempotency_key = match headers.get("idempotency-key") {
        Some(value) => Some(
            value
                .to_str()
                .map_err(|_| HttpError::KeyNotAscii)?
                .to_owned(),
        ),
        None => None,
    };
    let input = CreateCheckout {
        idempotency_key,
        ..CreateCheckout::new(body)
    };
    // W3C: a traceparent that is not valid (or not ASCII) is ignored, and the request starts a new trace.
    let traceparent = headers.get(TRACEPARENT).and_then(|v| v.to_str().ok());
    let span = spans::create_session("http", traceparent);
    let created = state.checkout.create(input).instrument(span).await?;
    tracing::info!(session = %created.session_id, "session created");
    Ok(Json(created))
}

/// The same as `/payments/create-session`: the name the NestJS service once used.
#[utoipa::path(
    post,
    path = "/payments/create-payment-session",
    tag = "sessions",
    request_body = super::schema::CreateSessionRequest,
    responses(
        (status = 200, body = super::schema::SessionCreated),
        (status = "4XX", description = "As for /payments/create-session", body = super::error::ErrorBody),
        (status = "5XX", description = "As for /payments/create-session", body = super::error::ErrorBody),
    )
)]
pub async fn create_alias(
    state: State<AppState>,
    headers: HeaderMap,
    body: JsonBytes,
) -> Result<Json<SessionCreated>, HttpError> {
    create(state, headers, body).await
}
