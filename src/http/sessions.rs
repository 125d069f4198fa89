//! `POST /payments/create-session` (and its NestJS-era alias): creates a Stripe Checkout Session.

use axum::{extract::State, http::HeaderMap, Json};

use super::{body::JsonBytes, AppState};
use crate::{error::Error, payment::checkout::SessionCreated};

pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBytes(body): JsonBytes,
) -> Result<Json<SessionCreated>, Error> {
    let key =
        match headers.get("idempotency-key") {
            Some(value) => Some(value.to_str().map_err(|_| {
                Error::Invalid("Idempotency-Key header must be visible ASCII".into())
            })?),
            None => None,
        };
    let created = crate::payment::checkout::create(&state.stripe, &body, key).await?;
    tracing::info!(session = %created.session_id, "session created");
    Ok(Json(created))
}
