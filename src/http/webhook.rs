//! `POST /payments/webhook`: verifies `Stripe-Signature` over the raw body, stores the event durably, and only
//! then answers 200. Verification never depends on parsing: any authentic event is kept, whatever its shape.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::{extract::State, http::HeaderMap, Json};
use sha2::{Digest, Sha256};

use tracing::Instrument;

use super::{body::RawBody, error::HttpError, AppState};
use crate::{metrics, pipeline::inbox::Stored, stripe::event::EventHead, telemetry::spans};

#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Received {
    received: bool,
    /// The Stripe event id; null for an authentic body that is not a Stripe event (kept for audit).
    #[schema(example = "evt_1RTqw0RMEOaIvYpU1k2TFajH")]
    id: Option<String>,
}

/// Stripe's webhook endpoint: a verified event is answered 200 once JetStream has stored it.
#[utoipa::path(
    post,
    path = "/payments/webhook",
    tag = "webhooks",
    request_body(content = Object, description = "A Stripe event, exactly as Stripe sent it (any API version)", content_type = "application/json"),
    params(("Stripe-Signature" = String, Header, description = "t=<unix>,v1=<hex HMAC-SHA256>[,v1=…]")),
    responses(
        (status = 200, description = "Stored durably (or one already stored)", body = Received),
        (status = 400, description = "Webhook Error: the signature does not verify (reason given)", body = super::error::ErrorBody),
        (status = 413, description = "Body over HTTP_BODY_LIMIT", body = super::error::ErrorBody),
        (status = 408, description = "Body not received within HTTP_BODY_TIMEOUT; the connection is closed", body = super::error::ErrorBody),
        (status = 503, description = "Could not be stored durably now; Stripe will deliver it again", body = super::error::ErrorBody),
    )
)]
pub async fn receive(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawBody(body): RawBody,
) -> Result<Json<Received>, HttpError> {
    let signature = headers.get("stripe-signature").map(|v| v.as_bytes());
    state
        .verifier
        .verify(signature, &body, unix_now())
        .map_err(|e| {
            tracing::info!(reason = %e, "webhook refused");
            metrics::webhook_event("unknown", "rejected_signature");
            HttpError::Signature(e)
        })?;
    let (head, reply_id) = match EventHead::parse(&body) {
        Ok(head) => {
            let id = Some(head.id.clone());
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
                traceparent: None,
            };
            (head, None)
        }
    };
    tracing::Span::current().record("event_id", head.id.as_str());
    let span = spans::webhook_intake(&head.id, &head.event_type, head.traceparent.as_deref());
    let stored = state
        .inbox
        .store(&head, body)
        .instrument(span)
        .await
        .inspect_err(|_| metrics::webhook_event(&head.event_type, "unavailable"))?;
    if stored == Stored::Duplicate {
        metrics::webhook_event(&head.event_type, "duplicate");
    }
    tracing::info!(event_id = %head.id, event_type = %head.event_type, ?stored, "webhook stored");
    Ok(Json(Received {
        received: true,
        id: reply_id,
    }))
}

fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
