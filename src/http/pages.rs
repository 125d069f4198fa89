//! The Checkout redirect targets, answering as the NestJS service did.

use axum::Json;
use serde_json::{json, Value};

pub async fn success() -> Json<Value> {
    Json(json!({"ok": true, "message": "Payment successful"}))
}

pub async fn cancel() -> Json<Value> {
    Json(json!({"ok": false, "message": "Payment cancelled"}))
}
