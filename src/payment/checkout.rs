//! The create-session request (CONTRACT §2), the same object over HTTP and NATS: parsing with messages that name
//! the offending field, conversion to minor units, and the idempotency key derived from its canonical form.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::money::Currency;
use crate::{
    callback::{self, Callbacks, Target},
    error::Error,
    nats::connection::Nats,
    stripe::client::StripeApi,
};

mod claim;

pub use claim::conflict;

/// Creating sessions, as HTTP and NATS both offer it.
#[derive(Clone)]
pub struct Checkout {
    pub stripe: StripeApi,
    pub callbacks: Callbacks,
    /// Where idempotency keys are claimed (the `payment_idempotency` bucket).
    pub nats: Nats,
}

impl Checkout {
    /// Parses a create request (HTTP or NATS body), creates its Checkout Session, and keeps its callback.
    pub async fn create(
        &self,
        body: &[u8],
        idempotency_key: Option<&str>,
    ) -> Result<SessionCreated, Error> {
        let request = CreateSession::from_json(body)?;
        if let Some(key) = idempotency_key {
            claim::validate(key)?;
        }
        let key = idempotency_key.map_or_else(|| request.idempotency_key(), str::to_owned);
        let callback_id = match &request.callback {
            Some(callback) => {
                self.callbacks.check(callback).await?;
                Some(callback::callback_id(&key))
            }
            None => None,
        };
        // Derived keys are claimed too: a caller could send another request's derived key as its own. The claim
        // keeps the first request's trace context: Stripe must see the same metadata on every retry of a key.
        let traceparent = crate::telemetry::propagation::current();
        let traceparent =
            claim::claim(&self.nats, &key, &request.fingerprint(), traceparent).await?;
        let created = self
            .stripe
            .create_checkout_session(
                &request,
                &key,
                callback_id.as_deref(),
                traceparent.as_deref(),
            )
            .await?;
        if let (Some(id), Some(callback)) = (&callback_id, &request.callback) {
            let target = Target {
                url: callback.url.to_string(),
                method: callback.method.clone(),
                order_id: request.order_id.clone(),
                session_id: created.session_id.clone(),
                metadata: request.metadata.clone(),
            };
            // If this fails the caller gets a 503 and retries; the retry finds the same session (same key). The
            // target is written once: a later request cannot move it (CONTRACT §7).
            self.callbacks.save(id, &target, &key).await?;
        }
        Ok(created)
    }
}

/// A validated request to create a Checkout Session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSession {
    pub order_id: String,
    pub currency: Currency,
    pub items: Vec<LineItem>,
    /// Where to send the signed callback on each final outcome (CONTRACT §7).
    pub callback: Option<CallbackRequest>,
    /// Caller's values: passed to Stripe and returned in the callback.
    pub metadata: BTreeMap<String, String>,
}

/// A callback target as requested; the address is checked again when a callback is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackRequest {
    pub url: url::Url,
    /// `POST` or `PUT`.
    pub method: String,
}

/// Metadata keys the service itself writes to Stripe.
pub const RESERVED_METADATA: [&str; 3] = [
    crate::stripe::client::ORDER_ID_KEY,
    crate::stripe::client::CALLBACK_KEY,
    crate::telemetry::propagation::TRACEPARENT,
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    pub name: String,
    /// Price of one unit in the currency's minor units.
    pub unit_amount: i64,
    pub quantity: u64,
}

/// The reply to a successful create, over HTTP and NATS alike.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreated {
    pub session_id: String,
    pub url: Option<String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub expires_at: i64,
}

/// The JSON as sent; `price` stays raw text so it never passes through `f64`.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[schema(as = CreateSessionRequest)]
pub struct Wire {
    /// The order this payment is for; carried to Stripe and back in every event.
    order_id: String,
    /// ISO 4217 code of a currency Stripe supports, any case.
    #[schema(example = "usd")]
    currency: String,
    #[schema(min_items = 1, max_items = 100)]
    items: Vec<WireItem>,
    /// Optional: an HTTP callback on each final outcome, signed per Standard Webhooks.
    #[serde(default)]
    callback: Option<WireCallback>,
    /// Optional: at most 20 string values, passed to Stripe and returned in the callback.
    #[serde(default)]
    #[schema(value_type = Option<std::collections::HashMap<String, String>>)]
    metadata: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CallbackTarget)]
pub struct WireCallback {
    /// http(s); private, loopback and link-local addresses are refused unless CALLBACK_ALLOW_PRIVATE=true.
    #[schema(example = "https://orders.example.com/hooks/payments")]
    url: String,
    /// `POST` (default) or `PUT`.
    #[serde(default)]
    #[schema(example = "POST")]
    method: Option<String>,
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateSessionItem)]
pub struct WireItem {
    name: String,
    /// Unit price in the currency's major unit; no more decimals than the currency has.
    #[schema(value_type = f64, example = 20.5)]
    price: Box<RawValue>,
    #[schema(minimum = 1)]
    quantity: u64,
}

/// Longest accepted text field; Stripe's own limits are of this order and anything longer is a mistake.
const MAX_TEXT: usize = 500;
const MAX_ITEMS: usize = 100;
/// Stripe's metadata limits: 50 keys (20 are the caller's here), 40-character keys, 500-character values.
const MAX_METADATA: usize = 20;
const MAX_METADATA_KEY: usize = 40;
const MAX_METADATA_VALUE: usize = 500;
/// A callback URL is stored and sent as-is; longer ones are mistakes or abuse.
const MAX_URL: usize = 2048;

impl CreateSession {
    /// Parses and validates a JSON body.
    pub fn from_json(body: &[u8]) -> Result<CreateSession, Error> {
        // serde would also read a struct from a JSON array; the contract wants an object.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(
                match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                    Ok(_) => Error::Invalid("body must be a JSON object".into()),
                    Err(e) => Error::Invalid(format!("body is not valid JSON: {e}")),
                },
            );
        }
        let de = &mut serde_json::Deserializer::from_slice(body);
        let wire: Wire = serde_path_to_error::deserialize(de).map_err(describe)?;
        Self::validate(wire)
    }

    fn validate(wire: Wire) -> Result<CreateSession, Error> {
        let invalid = |msg: String| Err(Error::Invalid(msg));
        let order_id = wire.order_id.trim();
        if order_id.is_empty() || order_id.len() > MAX_TEXT {
            return invalid(rule("orderId"));
        }
        let Some(currency) = Currency::parse(wire.currency.trim()) else {
            return invalid(rule("currency"));
        };
        if wire.items.is_empty() || wire.items.len() > MAX_ITEMS {
            return invalid(rule("items"));
        }
        let mut items = Vec::with_capacity(wire.items.len());
        for (i, item) in wire.items.into_iter().enumerate() {
            let name = item.name.trim();
            if name.is_empty() || name.len() > MAX_TEXT {
                return invalid(format!("items[{i}].name {}", rule_text("items[].name")));
            }
            let price = item.price.get();
            if !price.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                return invalid(format!("items[{i}].price {}", rule_text("items[].price")));
            }
            let unit_amount = currency
                .to_minor_units(price)
                .map_err(|e| Error::Invalid(format!("items[{i}].price {e}")))?;
            if item.quantity == 0 {
                return invalid(format!(
                    "items[{i}].quantity {}",
                    rule_text("items[].quantity")
                ));
            }
            items.push(LineItem {
                name: name.to_owned(),
                unit_amount,
                quantity: item.quantity,
            });
        }
        Ok(CreateSession {
            order_id: order_id.to_owned(),
            currency,
            items,
            callback: wire.callback.map(validate_callback).transpose()?,
            metadata: validate_metadata(wire.metadata.unwrap_or_default())?,
        })
    }

    /// A Stripe idempotency key derived from the canonical request: the same order, currency and items (after
    /// conversion, so `20.5` and `20.50` agree) give the same key, so a retried request returns the same session.
    pub fn idempotency_key(&self) -> String {
        format!("create-session-{}", self.fingerprint())
    }

    /// The canonical fingerprint of the request (order, currency, items, callback, metadata), as hex: two requests
    /// that mean the same have the same fingerprint whatever their JSON looked like.
    pub fn fingerprint(&self) -> String {
        let mut hash = Sha256::new();
        let mut field = |s: &str| {
            hash.update((s.len() as u64).to_be_bytes());
            hash.update(s.as_bytes());
        };
        field(&self.order_id);
        field(self.currency.code());
        for item in &self.items {
            field(&item.name);
            field(&item.unit_amount.to_string());
            field(&item.quantity.to_string());
        }
        if let Some(callback) = &self.callback {
            field(callback.url.as_str());
            field(&callback.method);
        }
        for (key, value) in &self.metadata {
            field(key);
            field(value);
        }
        hex::encode(hash.finalize())
    }
}

fn validate_callback(wire: WireCallback) -> Result<CallbackRequest, Error> {
    let url = url::Url::parse(wire.url.trim())
        .ok()
        .filter(|u| {
            matches!(u.scheme(), "http" | "https")
                && u.host().is_some()
                && wire.url.len() <= MAX_URL
        })
        .ok_or_else(|| Error::Invalid(rule("callback.url")))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::Invalid(
            "callback.url must not carry credentials".into(),
        ));
    }
    let method = wire
        .method
        .as_deref()
        .unwrap_or("POST")
        .trim()
        .to_ascii_uppercase();
    if method != "POST" && method != "PUT" {
        return Err(Error::Invalid(rule("callback.method")));
    }
    Ok(CallbackRequest { url, method })
}

fn validate_metadata(
    metadata: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Error> {
    if metadata.len() > MAX_METADATA {
        return Err(Error::Invalid(rule("metadata")));
    }
    for (key, value) in &metadata {
        if key.is_empty() || key.chars().count() > MAX_METADATA_KEY || key.contains(['[', ']']) {
            return Err(Error::Invalid(format!(
                "metadata keys must be 1 to {MAX_METADATA_KEY} characters without [ or ] (got {key:?})"
            )));
        }
        if RESERVED_METADATA.contains(&key.as_str()) {
            return Err(Error::Invalid(format!(
                "metadata.{key} is reserved for the service"
            )));
        }
        if value.chars().count() > MAX_METADATA_VALUE {
            return Err(Error::Invalid(format!(
                "metadata.{key} must be at most {MAX_METADATA_VALUE} characters"
            )));
        }
    }
    Ok(metadata)
}

/// What each field must be, for messages such as `items[0].price must be a positive number`.
fn rule_text(field: &str) -> &'static str {
    match field {
        "orderId" => "must be a non-empty string",
        "currency" => "must be a three-letter ISO 4217 code of a currency Stripe supports",
        "items" => "must be a non-empty array of at most 100 items",
        "items[].name" => "must be a non-empty string",
        "items[].price" => "must be a positive number",
        "items[].quantity" => "must be a positive integer",
        "callback" => "must be an object with url and method",
        "callback.url" => "must be an http(s) URL",
        "callback.method" => "must be POST or PUT",
        "metadata" => "must be an object of at most 20 string values",
        f if f.starts_with("metadata.") => "must be a string",
        _ => "is invalid",
    }
}

fn rule(field: &str) -> String {
    format!("{field} {}", rule_text(field))
}

/// Turns a deserialisation error into a message that names the field, as class-validator did for NestJS.
fn describe(err: serde_path_to_error::Error<serde_json::Error>) -> Error {
    let path = err.path().to_string();
    let inner = err.inner();
    if inner.is_syntax() || inner.is_eof() {
        return Error::Invalid(format!("body is not valid JSON: {inner}"));
    }
    let text = inner.to_string();
    let prefix = if path == "." {
        String::new()
    } else {
        format!("{path}.")
    };
    if text.starts_with("unknown field") {
        // The path already ends with the unknown key.
        return Error::Invalid(format!("property {path} should not exist"));
    }
    if let Some(name) = quoted_after(&text, "missing field `") {
        return Error::Invalid(format!("{prefix}{name} is required"));
    }
    Error::Invalid(format!("{path} {}", rule_text(&strip_indices(&path))))
}

fn quoted_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let rest = &text[text.find(marker)? + marker.len()..];
    Some(&rest[..rest.find('`')?])
}

/// `items[3].price` → `items[].price`.
fn strip_indices(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_index = false;
    for c in path.chars() {
        match c {
            '[' => {
                in_index = true;
                out.push('[');
            }
            ']' => {
                in_index = false;
                out.push(']');
            }
            _ if in_index => {}
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
