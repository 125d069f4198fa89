//! The served endpoints and their handlers. Stripe's API (`/v1/…`, and any unknown path) sits behind
//! [`crate::gate`]; the hosted page ([`crate::page`]) and the emulator's admin routes ([`crate::admin`]) do not.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{Method, Uri};
use axum::routing::{get, post};
use axum::{middleware, Json, Router};
use serde_json::Value;

use crate::errors::ApiError;
use crate::flows::{self, FlowError};
use crate::form::{self, FormError, Node};
use crate::state::{Inner, Shared};
use crate::{admin, checkout, event_list, expand, gate, objects, page, result_page};

type Reply = Result<Json<Value>, ApiError>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v1/checkout/sessions", post(create_session))
        .route("/v1/checkout/sessions/{id}", get(retrieve_session))
        .route(
            "/v1/checkout/sessions/{id}/line_items",
            get(list_line_items),
        )
        .route("/v1/checkout/sessions/{id}/expire", post(expire_session))
        .route("/v1/payment_intents/{id}", get(retrieve_payment_intent))
        .route("/v1/charges/{id}", get(retrieve_charge))
        .route("/v1/refunds/{id}", get(retrieve_refund))
        .route("/v1/disputes/{id}", get(retrieve_dispute))
        .route("/v1/events", get(event_list::list))
        .route("/v1/events/{id}", get(retrieve_event))
        .fallback(unrecognized)
        .method_not_allowed_fallback(unrecognized)
        .layer(middleware::from_fn_with_state(shared.clone(), gate::gate))
        .merge(page::router())
        .merge(result_page::router())
        .merge(admin::router())
        .with_state(shared)
}

async fn create_session(State(shared): State<Arc<Shared>>, body: Bytes) -> Reply {
    let form = decode(&body)?;
    let paths = expand::paths(&form)?;
    let stored = checkout::create(&shared.public_url, &form)?;
    let id = stored.object["id"].as_str().unwrap_or_default().to_owned();
    let mut response = stored.object.clone();
    let mut inner = shared.lock();
    inner.sessions.insert(id.clone(), stored);
    if let Err(error) = expand::apply(&inner, &mut response, &paths) {
        inner.sessions.remove(&id);
        return Err(error);
    }
    inner.sessions_created += 1;
    Ok(Json(response))
}

async fn retrieve_session(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    retrieve(&shared, "checkout.session", &id, query, |inner, id| {
        inner.sessions.get(id).map(|s| s.object.clone())
    })
}

async fn retrieve_payment_intent(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    retrieve(&shared, "payment_intent", &id, query, |inner, id| {
        inner.payment_intents.get(id).cloned()
    })
}

async fn retrieve_charge(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    retrieve(&shared, "charge", &id, query, |inner, id| {
        inner.charges.get(id).cloned()
    })
}

async fn retrieve_refund(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    retrieve(&shared, "refund", &id, query, |inner, id| {
        inner.refunds.get(id).cloned()
    })
}

async fn retrieve_dispute(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Reply {
    retrieve(&shared, "dispute", &id, query, |inner, id| {
        inner.disputes.get(id).cloned()
    })
}

/// `POST /v1/checkout/sessions/{id}/expire`: the session, now `expired` (event `checkout.session.expired`).
async fn expire_session(
    State(shared): State<Arc<Shared>>,
    Path(id): Path<String>,
    body: Bytes,
) -> Reply {
    let paths = expand::paths(&decode(&body)?)?;
    let mut session = flows::expire(&shared, &id).map_err(|error| match error {
        FlowError::NotOpen { status, .. } => ApiError::new(
            400,
            "invalid_request_error",
            format!(
                "Only Checkout Sessions with a status in [\"open\"] can be expired. This Checkout Session has a \
                 status of `{status}`."
            ),
        ),
        _ => ApiError::no_such("checkout.session", &id, "session"),
    })?;
    expand::apply(&shared.lock(), &mut session, &paths)?;
    Ok(Json(session))
}

async fn retrieve_event(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Reply {
    let inner = shared.lock();
    let event = inner.events.get(&id).cloned();
    event
        .map(Json)
        .ok_or_else(|| ApiError::no_such("event", &id, "id"))
}

async fn list_line_items(State(shared): State<Arc<Shared>>, Path(id): Path<String>) -> Reply {
    let inner = shared.lock();
    let session = inner
        .sessions
        .get(&id)
        .ok_or_else(|| ApiError::no_such("checkout.session", &id, "id"))?;
    let data = session.line_items.iter().map(objects::line_item).collect();
    Ok(Json(objects::list(
        &format!("/v1/checkout/sessions/{id}/line_items"),
        data,
    )))
}

/// `GET` of one stored object, with `expand[]` applied.
fn retrieve(
    shared: &Shared,
    kind: &str,
    id: &str,
    query: Option<String>,
    lookup: impl Fn(&Inner, &str) -> Option<Value>,
) -> Reply {
    let query = decode(query.unwrap_or_default().as_bytes())?;
    let paths = expand::paths(&query)?;
    let inner = shared.lock();
    let mut object = lookup(&inner, id).ok_or_else(|| ApiError::no_such(kind, id, "id"))?;
    expand::apply(&inner, &mut object, &paths)?;
    Ok(Json(object))
}

fn decode(raw: &[u8]) -> Result<Node, ApiError> {
    form::decode(&form::pairs(raw))
        .map_err(|FormError { param, message }| ApiError::invalid(&param, message))
}

async fn unrecognized(method: Method, uri: Uri) -> ApiError {
    ApiError::unrecognized(method.as_str(), uri.path())
}
