//! `GET /v1/events` with Stripe's list semantics over every event the stand-in created or was given: newest first
//! (by `created`, then by order of creation), `limit` 1–100 (default 10), `starting_after` / `ending_before`
//! cursors, `created` (exact, or `[gt]`, `[gte]`, `[lt]`, `[lte]`), `types[]` (at most 20) or `type` (a trailing
//! `*` matches a prefix), and `{"object":"list","url":"/v1/events","has_more":…,"data":[…]}`.
//!
//! [`crate::ListFault`]s queued with [`crate::StandIn::fail_event_lists`] answer the next list calls with a 429
//! (`Retry-After: 1`) or a 500 instead, so clients' retries can be tested.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Value};

use crate::errors::ApiError;
use crate::form;
use crate::state::{Inner, Shared};

/// The parsed query of one list call.
#[derive(Default)]
struct Query {
    limit: usize,
    starting_after: Option<String>,
    ending_before: Option<String>,
    gt: Option<i64>,
    gte: Option<i64>,
    lt: Option<i64>,
    lte: Option<i64>,
    types: Vec<String>,
}

pub(crate) async fn list(State(shared): State<Arc<Shared>>, RawQuery(raw): RawQuery) -> Response {
    let fault = shared.lock().list_faults.pop_front();
    if let Some(fault) = fault {
        return fault.response();
    }
    let list = parse(raw.as_deref().unwrap_or("")).and_then(|q| page(&shared.lock(), &q));
    match list {
        Ok(list) => Json(list).into_response(),
        Err(error) => error.into_response(),
    }
}

fn parse(raw: &str) -> Result<Query, ApiError> {
    let mut query = Query {
        limit: 10,
        ..Query::default()
    };
    let int = |key: &str, value: &str| {
        value
            .parse::<i64>()
            .map_err(|_| ApiError::invalid_integer(key, value))
    };
    let mut type_ = None;
    for (key, value) in form::pairs(raw.as_bytes()) {
        match key.as_str() {
            "limit" => {
                let limit = int(&key, &value)?;
                if !(1..=100).contains(&limit) {
                    return Err(ApiError::invalid(
                        "limit",
                        "This value must be greater than or equal to 1 and less than or equal to 100.",
                    ));
                }
                query.limit = limit as usize;
            }
            "starting_after" => query.starting_after = Some(value),
            "ending_before" => query.ending_before = Some(value),
            "created" => {
                let at = int(&key, &value)?;
                (query.gte, query.lte) = (Some(at), Some(at));
            }
            "created[gt]" => query.gt = Some(int(&key, &value)?),
            "created[gte]" => query.gte = Some(int(&key, &value)?),
            "created[lt]" => query.lt = Some(int(&key, &value)?),
            "created[lte]" => query.lte = Some(int(&key, &value)?),
            "type" => type_ = Some(value),
            k if k == "types[]" || (k.starts_with("types[") && k.ends_with(']')) => {
                query.types.push(value);
            }
            // Accepted and ignored, as the stand-in tracks no per-endpoint delivery state.
            "delivery_success" | "expand[]" => {}
            other => {
                return Err(ApiError::invalid(
                    other,
                    format!("Received unknown parameter: {other}"),
                ))
            }
        }
    }
    if query.types.len() > 20 {
        return Err(ApiError::invalid(
            "types",
            "You may pass at most 20 event types.",
        ));
    }
    if query.starting_after.is_some() && query.ending_before.is_some() {
        return Err(ApiError::invalid(
            "ending_before",
            "You may only specify one of these parameters: ending_before, starting_after.",
        ));
    }
    if let Some(type_) = type_ {
        if !query.types.is_empty() {
            return Err(ApiError::invalid(
                "types",
                "You may only specify one of these parameters: type, types.",
            ));
        }
        query.types.push(type_);
    }
    Ok(query)
}

/// The list order of an event: newer first; among events of one second, the later created first.
fn key(event: &Value, position: usize) -> (i64, usize) {
    (event["created"].as_i64().unwrap_or(0), position)
}

fn matches(query: &Query, event: &Value) -> bool {
    let created = event["created"].as_i64().unwrap_or(0);
    let event_type = event["type"].as_str().unwrap_or_default();
    let typed = query.types.is_empty()
        || query.types.iter().any(|t| match t.strip_suffix('*') {
            Some(prefix) => event_type.starts_with(prefix),
            None => event_type == t,
        });
    typed
        && query.gt.is_none_or(|v| created > v)
        && query.gte.is_none_or(|v| created >= v)
        && query.lt.is_none_or(|v| created < v)
        && query.lte.is_none_or(|v| created <= v)
}

fn page(inner: &Inner, query: &Query) -> Result<Value, ApiError> {
    let position = |id: &str, param: &str| {
        inner
            .event_order
            .iter()
            .position(|e| e == id)
            .and_then(|p| Some(key(inner.events.get(id)?, p)))
            .ok_or_else(|| ApiError::no_such("event", id, param))
    };
    let after = query
        .starting_after
        .as_deref()
        .map(|id| position(id, "starting_after"))
        .transpose()?;
    let before = query
        .ending_before
        .as_deref()
        .map(|id| position(id, "ending_before"))
        .transpose()?;
    // Newest first.
    let mut listed: Vec<((i64, usize), &Value)> = inner
        .event_order
        .iter()
        .enumerate()
        .filter_map(|(p, id)| inner.events.get(id).map(|e| (key(e, p), e)))
        .filter(|(k, e)| {
            after.is_none_or(|a| *k < a) && before.is_none_or(|b| *k > b) && matches(query, e)
        })
        .collect();
    listed.sort_by_key(|(key, _)| std::cmp::Reverse(*key));
    let total = listed.len();
    let chosen: Vec<Value> = if before.is_some() {
        // The `limit` events just newer than the cursor, still newest first.
        listed[total.saturating_sub(query.limit)..]
            .iter()
            .map(|(_, e)| (*e).clone())
            .collect()
    } else {
        listed
            .iter()
            .take(query.limit)
            .map(|(_, e)| (*e).clone())
            .collect()
    };
    Ok(json!({
        "object": "list",
        "url": "/v1/events",
        "has_more": total > chosen.len(),
        "data": chosen,
    }))
}
