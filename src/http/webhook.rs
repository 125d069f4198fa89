//! `POST /payments/webhook`: verifies `Stripe-Signature` over the raw body, stores the event durably, and only
//! then answers 200. Verification never depends on parsing: any authentic event is kept, whatever its shape.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{extract::State, http::HeaderMap, Json};
use serde_json::{json, Value};

use super::{body::RawBody, AppState};
use crate::{error::Error, stripe::event::EventHead};

pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Value>, Error> {
    let signature = headers.get("stripe-signature").map(|v| v.as_bytes());
    state
        .verifier
        .verify(signature, &body, unix_now())
        .map_err(|e| {
            tracing::info!(reason = %e, "webhook refused");
            Error::Signature(e.to_string())
        })?;
    let head = match EventHead::parse(&body) {
        Ok(head) => head,
        Err(e) => {
            // Authentic, yet not an event: Stripe does not send these, so this is someone holding the secret
            // sending something odd. Refusing is safe (nothing is lost that could be processed).
            return Err(Error::Invalid(format!("Webhook Error: {e}")));
        }
    };
    let stored = state.inbox.store(&head, body).await?;
    tracing::info!(event_id = %head.id, event_type = %head.event_type, ?stored, "webhook stored");
    Ok(Json(json!({"received": true, "id": head.id})))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
