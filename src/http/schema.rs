//! The OpenAPI schemas of the create-session request and reply: descriptions of the JSON that the payment core
//! reads (`payment::checkout`) and answers, kept at the HTTP edge so the core knows nothing of OpenAPI. Nothing
//! builds these types (serde's derives are here for the attributes utoipa reads: names, no unknown fields);
//! `tests/openapi.rs` checks the document they make.
#![allow(dead_code)]

use std::collections::HashMap;

/// A request to create a Checkout Session.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateSessionRequest {
    /// The order this payment is for; carried to Stripe and back in every event.
    order_id: String,
    /// ISO 4217 code of a currency Stripe supports, any case.
    #[schema(example = "usd")]
    currency: String,
    #[schema(min_items = 1, max_items = 100)]
    items: Vec<CreateSessionItem>,
    /// Optional: an HTTP callback on each final outcome, signed per Standard Webhooks.
    #[serde(default)]
    callback: Option<CallbackTarget>,
    /// Optional: at most 20 string values, passed to Stripe and returned in the callback.
    #[serde(default)]
    metadata: Option<HashMap<String, String>>,
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackTarget {
    /// http(s); private, loopback and link-local addresses are refused unless CALLBACK_ALLOW_PRIVATE=true.
    #[schema(example = "https://orders.example.com/hooks/payments")]
    url: String,
    /// `POST` (default) or `PUT`.
    #[serde(default)]
    #[schema(example = "POST")]
    method: Option<String>,
}

#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateSessionItem {
    name: String,
    /// Unit price in the currency's major unit; no more decimals than the currency has.
    #[schema(example = 20.5)]
    price: f64,
    #[schema(minimum = 1)]
    quantity: u64,
}

/// The reply to a successful create, over HTTP and NATS alike.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreated {
    session_id: String,
    url: Option<String>,
    success_url: Option<String>,
    cancel_url: Option<String>,
    expires_at: i64,
}
