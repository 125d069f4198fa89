//! The create-session request (CONTRACT §2), the same object over HTTP and NATS: parsing with messages that name
//! the offending field, conversion to minor units, and the idempotency key derived from its canonical form.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sha2::{Digest, Sha256};

use super::money::Currency;
use crate::{error::Error, stripe::client::StripeApi};

/// Parses a create request (HTTP or NATS body) and creates its Checkout Session.
pub async fn create(
    stripe: &StripeApi,
    body: &[u8],
    idempotency_key: Option<&str>,
) -> Result<SessionCreated, Error> {
    let request = CreateSession::from_json(body)?;
    stripe
        .create_checkout_session(&request, idempotency_key)
        .await
}

/// A validated request to create a Checkout Session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSession {
    pub order_id: String,
    pub currency: Currency,
    pub items: Vec<LineItem>,
}

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
    /// ISO 4217 code, any case.
    #[schema(example = "usd")]
    currency: String,
    #[schema(min_items = 1, max_items = 100)]
    items: Vec<WireItem>,
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
        })
    }

    /// A Stripe idempotency key derived from the canonical request: the same order, currency and items (after
    /// conversion, so `20.5` and `20.50` agree) give the same key, so a retried request returns the same session.
    pub fn idempotency_key(&self) -> String {
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
        format!("create-session-{}", hex::encode(hash.finalize()))
    }
}

/// What each field must be, for messages such as `items[0].price must be a positive number`.
fn rule_text(field: &str) -> &'static str {
    match field {
        "orderId" => "must be a non-empty string",
        "currency" => "must be a three-letter ISO 4217 currency code",
        "items" => "must be a non-empty array of at most 100 items",
        "items[].name" => "must be a non-empty string",
        "items[].price" => "must be a positive number",
        "items[].quantity" => "must be a positive integer",
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
