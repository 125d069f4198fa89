//! `POST /payments/webhook`: verifies `Stripe-Signature` over the raw body, stores the event durably, and only
//! then answers 200. Verification never depends on parsing: any authentic event is kept, whatever its shape.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{extract::State, http::HeaderMap, Json};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::{body::RawBody, AppState};
use crate::{error::Error, metrics, pipeline::inbox::Stored, stripe::event::EventHead};

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
            metrics::webhook_event("unknown", "rejected_signature");
            Error::Signature(e.to_string())
        })?;
    let (head, reply_id) = match EventHead::parse(&body) {
        Ok(head) => {
            let id = Value::String(head.id.clone());
            (head, id)
        }
        Err(e) => {
            // Authentic but not an event Stripe would send: kept for audit under an id derived from its bytes,
            // answered 200 so it is never retried, and reported by the pipeline as unusable.
            tracing::warn!(reason = %e, "authentic webhook body is not a Stripe event");
            let digest = hex::encode(&Sha256::digest(&body)[..16]);
            let head = EventHead {
                id: format!("unparsed_{digest}"),
                event_type: "unparsed".into(),
            };
            (head, Value::Null)
        }
    };
    tracing::Span::current().record("event_id", head.id.as_str());
    let stored = state.inbox.store(&head, body).await.inspect_err(|_| {
        metrics::webhook_event(&head.event_type, "unavailable");
    })?;
    if stored == Stored::Duplicate {
        metrics::webhook_event(&head.event_type, "duplicate");
    }
    tracing::info!(event_id = %head.id, event_type = %head.event_type, ?stored, "webhook stored");
    Ok(Json(json!({"received": true, "id": reply_id})))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
