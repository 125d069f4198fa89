//! The emulator's own routes (not Stripe's API, hence the `/_emulator` prefix, no API key and no recording):
//! `POST /_emulator/objects` stores Stripe objects so later `GET`s return them, e.g. the objects of an
//! [`crate::events::Sample`] before its event is sent; `GET /_emulator/events` and `GET /_emulator/deliveries`
//! show what was sent; `POST /_emulator/charges/{id}/refund` (`amount`), `POST /_emulator/charges/{id}/dispute`
//! (`reason`) and `POST /_emulator/disputes/{id}/close` (`status`: `won`/`lost`) play what happens after payment,
//! with parameters as a form or a JSON object; `POST /_emulator/events` records events as if
//! created here; `POST /_emulator/faults` withholds deliveries (events are only recorded and listed) or makes the
//! next event list calls fail.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};

use crate::admin_body::{self, one_or_many, Params};
use crate::errors::ApiError;
use crate::faults::ListFault;
use crate::state::{Inner, Shared, StoredSession};
use crate::{disputes, refunds};

/// The object types `POST /_emulator/objects` stores.
pub(crate) const STORABLE: [&str; 4] = ["payment_intent", "charge", "checkout.session", "dispute"];

pub(crate) fn router() -> Router<Arc<Shared>> {
    Router::new()
        .route("/_emulator/objects", post(store_objects))
        .route("/_emulator/charges/{id}/refund", post(refund))
        .route("/_emulator/charges/{id}/dispute", post(dispute))
        .route("/_emulator/disputes/{id}/close", post(close_dispute))
        .route("/_emulator/events", get(events).post(store_events))
        .route("/_emulator/deliveries", get(deliveries))
        .route("/_emulator/faults", get(faults).post(set_faults))
}

/// Records an event as if the stand-in had created it (`created` defaults to now), and delivers it unless
/// deliveries are withheld.
pub(crate) fn record_event(shared: &Arc<Shared>, inner: &mut Inner, mut event: Value) {
    let id = event["id"].as_str().unwrap_or_default().to_owned();
    if event.get("created").and_then(Value::as_i64).is_none() {
        event["created"] = json!(crate::ids::now());
    }
    if event.get("object").is_none() {
        event["object"] = json!("event");
    }
    if inner.events.remove(&id).is_some() {
        inner.event_order.retain(|e| e != &id);
    }
    crate::webhooks::emit(shared, inner, &id, event);
}

/// Body: one event, or an array of them, each with a string `id` and `type`. `201` with the count, or `400`
/// recording nothing.
async fn store_events(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let events = one_or_many(admin_body::json(&body)?);
    for event in &events {
        let text = |key: &str| event[key].as_str().is_some_and(|s| !s.is_empty());
        if !event.is_object() || !text("id") || !text("type") {
            return Err(ApiError::invalid(
                "event",
                "Each event needs a non-empty string `id` and `type`.",
            ));
        }
    }
    let count = events.len();
    let mut inner = shared.lock();
    for event in events {
        record_event(&shared, &mut inner, event);
    }
    Ok((StatusCode::CREATED, Json(json!({ "recorded": count }))))
}

/// `{"withhold_deliveries": bool, "event_list_failures": [429|500, …]}`: what is in force now.
async fn faults(State(shared): State<Arc<Shared>>) -> Json<Value> {
    Json(fault_state(&shared))
}

fn fault_state(shared: &Shared) -> Value {
    let pending: Vec<u16> = shared
        .lock()
        .list_faults
        .iter()
        .map(|f| match f {
            ListFault::RateLimited => 429,
            ListFault::ServerError => 500,
        })
        .collect();
    json!({
        "withhold_deliveries": shared.withhold.load(Ordering::SeqCst),
        "event_list_failures": pending,
    })
}

/// Body: `{"withhold_deliveries": true|false}` and/or `{"fail_event_lists": {"status": 429|500, "count": N}}`.
/// `200` with the state now in force, or `400` changing nothing.
async fn set_faults(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<Json<Value>, ApiError> {
    let invalid = |message: &str| ApiError::invalid("faults", message);
    let value: Value =
        serde_json::from_slice(&body).map_err(|_| invalid("The body is not a JSON object."))?;
    let withhold = match value.get("withhold_deliveries") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => return Err(invalid("`withhold_deliveries` must be true or false.")),
    };
    let failures = match value.get("fail_event_lists") {
        None => None,
        Some(spec) => {
            let fault = match spec["status"].as_u64() {
                Some(429) => ListFault::RateLimited,
                Some(500) => ListFault::ServerError,
                _ => return Err(invalid("`fail_event_lists.status` must be 429 or 500.")),
            };
            let count = spec["count"]
                .as_u64()
                .filter(|n| *n <= 1000)
                .ok_or_else(|| invalid("`fail_event_lists.count` must be a number up to 1000."))?;
            Some((fault, count as usize))
        }
    };
    if let Some(withhold) = withhold {
        shared.withhold.store(withhold, Ordering::SeqCst);
    }
    if let Some((fault, count)) = failures {
        shared
            .lock()
            .list_faults
            .extend(std::iter::repeat_n(fault, count));
    }
    Ok(Json(fault_state(&shared)))
}

/// Body: one object, or an array of them. Each is a `payment_intent`, `charge`, `checkout.session` or `dispute`
/// (by its `object` field) with a string `id`; storing an id again replaces the object. `201` with what was stored, or
/// `400` (Stripe's error shape) storing nothing.
async fn store_objects(
    State(shared): State<Arc<Shared>>,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let value = admin_body::json(&body)?;
    let objects = one_or_many(value.clone());
    for object in &objects {
        kind(object)?;
    }
    let mut inner = shared.lock();
    for object in &objects {
        insert(&mut inner, object.clone());
    }
    Ok((StatusCode::CREATED, Json(value)))
}

/// The object's type, if it is one the stand-in stores and it has an id.
fn kind(object: &Value) -> Result<&str, ApiError> {
    let invalid = |message: &str| ApiError::invalid("object", message);
    let kind = object["object"]
        .as_str()
        .ok_or_else(|| invalid("Each object needs a string `object` field."))?;
    if !STORABLE.contains(&kind) {
        return Err(invalid(&format!(
            "Objects of type `{kind}` cannot be stored: only {}.",
            STORABLE.join(", ")
        )));
    }
    if object["id"].as_str().is_none_or(str::is_empty) {
        return Err(invalid("Each object needs a non-empty string `id`."));
    }
    Ok(kind)
}

/// Stores an object [`kind`] accepted. A session gets no line items; paying it gives the payment intent the
/// session's own metadata (there is no `payment_intent_data` to take it from).
pub(crate) fn insert(inner: &mut Inner, object: Value) {
    let id = object["id"].as_str().unwrap_or_default().to_owned();
    match object["object"].as_str().unwrap_or_default() {
        "payment_intent" => {
            inner.payment_intents.insert(id, object);
        }
        "charge" => {
            inner.charges.insert(id, object);
        }
        "dispute" => {
            inner.disputes.insert(id, object);
        }
        "checkout.session" => {
            let metadata = object["metadata"]
                .as_object()
                .cloned()
                .unwrap_or_else(Map::new);
            let stored = StoredSession {
                object,
                line_items: Vec::new(),
                payment_intent_metadata: metadata,
            };
            inner.sessions.insert(id, stored);
        }
        _ => {}
    }
}

/// `amount` (optional, minor units): the refund, `200`.
async fn refund(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let amount = match params.get("amount")? {
        Some(text) => Some(
            text.parse::<i64>()
                .map_err(|_| ApiError::invalid_integer("amount", &text))?,
        ),
        None => None,
    };
    Ok(Json(refunds::refund(&shared, &id, amount)?))
}

/// `reason` (default `fraudulent`): the dispute, `200`.
async fn dispute(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let reason = params
        .get("reason")?
        .unwrap_or_else(|| "fraudulent".to_owned());
    Ok(Json(disputes::open(&shared, &id, &reason)?))
}

/// `status` (`won` or `lost`, required): the dispute, `200`.
async fn close_dispute(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    params: Params,
) -> Result<Json<Value>, ApiError> {
    let status = params.required("status")?;
    Ok(Json(disputes::close(&shared, &id, &status)?))
}

/// Every event created so far, oldest first.
async fn events(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let inner = shared.lock();
    let data: Vec<Value> = inner
        .event_order
        .iter()
        .filter_map(|id| inner.events.get(id).cloned())
        .collect();
    Json(json!({ "object": "list", "data": data, "has_more": false, "url": "/_emulator/events" }))
}

/// The webhook deliveries so far: `[{"event_id","event_type","attempts","last_status","last_error","delivered",
/// "gave_up"}]`.
async fn deliveries(State(shared): State<Arc<Shared>>) -> Json<Value> {
    let inner = shared.lock();
    let data: Vec<Value> = inner
        .deliveries
        .iter()
        .map(|d| {
            json!({
                "event_id": d.event_id,
                "event_type": d.event_type,
                "attempts": d.attempts,
                "last_status": d.last_status,
                "last_error": d.last_error,
                "delivered": d.delivered,
                "gave_up": d.gave_up,
            })
        })
        .collect();
    Json(json!({ "webhook_url": shared.webhook_url, "data": data }))
}
