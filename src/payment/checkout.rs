//! The create-session request (CONTRACT §2), the same object over HTTP and NATS: parsing with messages that name
//! the offending field, conversion to minor units, and the canonical fingerprint idempotency is decided on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{metadata, money::Currency};

mod invalid;
mod wire;

pub use invalid::Invalid;
use wire::{Wire, WireCallback};

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineItem {
    pub name: String,
    /// Price of one unit in the currency's minor units.
    pub unit_amount: i64,
    pub quantity: u64,
}

/// The reply to a successful create, over HTTP and NATS alike.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct SessionCreated {
    pub session_id: String,
    pub url: Option<String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub expires_at: i64,
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
    pub fn from_json(body: &[u8]) -> Result<CreateSession, Invalid> {
        Self::validate(Wire::parse(body)?)
    }

    fn validate(wire: Wire) -> Result<CreateSession, Invalid> {
        // `Wire::parse` found every required property; these are its `Some`s.
        let required = |field: &str| Invalid::Missing(field.to_owned());
        let order_id = wire.order_id.ok_or_else(|| required("orderId"))?;
        let order_id = order_id.trim();
        if order_id.is_empty() || order_id.len() > MAX_TEXT {
            return Err(Invalid::field("orderId"));
        }
        let currency = wire.currency.ok_or_else(|| required("currency"))?;
        let currency =
            Currency::parse(currency.trim()).ok_or_else(|| Invalid::field("currency"))?;
        let wire_items = wire.items.ok_or_else(|| required("items"))?;
        if wire_items.is_empty() || wire_items.len() > MAX_ITEMS {
            return Err(Invalid::field("items"));
        }
        let mut items = Vec::with_capacity(wire_items.len());
        for (i, item) in wire_items.into_iter().enumerate() {
            let field = |name: &str| format!("items[{i}].{name}");
            let name = item.name.ok_or_else(|| required(&field("name")))?;
            let name = name.trim();
            if name.is_empty() || name.len() > MAX_TEXT {
                return Err(Invalid::field(&field("name")));
            }
            let price = item.price.ok_or_else(|| required(&field("price")))?;
            let price = price.get();
            if !price.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
                return Err(Invalid::field(&field("price")));
            }
            let unit_amount = currency
                .to_minor_units(price)
                .map_err(|source| Invalid::Amount {
                    field: field("price"),
                    source,
                })?;
            let quantity = item.quantity.ok_or_else(|| required(&field("quantity")))?;
            if quantity == 0 {
                return Err(Invalid::field(&field("quantity")));
            }
            items.push(LineItem {
                name: name.to_owned(),
                unit_amount,
                quantity,
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

fn validate_callback(wire: WireCallback) -> Result<CallbackRequest, Invalid> {
    let text = wire
        .url
        .ok_or_else(|| Invalid::Missing("callback.url".into()))?;
    let url = url::Url::parse(text.trim())
        .ok()
        .filter(|u| {
            matches!(u.scheme(), "http" | "https") && u.host().is_some() && text.len() <= MAX_URL
        })
        .ok_or_else(|| Invalid::field("callback.url"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Invalid::CallbackCredentials);
    }
    let method = wire
        .method
        .as_deref()
        .unwrap_or("POST")
        .trim()
        .to_ascii_uppercase();
    if method != "POST" && method != "PUT" {
        return Err(Invalid::field("callback.method"));
    }
    Ok(CallbackRequest { url, method })
}

fn validate_metadata(
    metadata: BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, Invalid> {
    if metadata.len() > MAX_METADATA {
        return Err(Invalid::field("metadata"));
    }
    for (key, value) in &metadata {
        if key.is_empty() || key.chars().count() > MAX_METADATA_KEY || key.contains(['[', ']']) {
            return Err(Invalid::MetadataKey {
                key: key.clone(),
                max: MAX_METADATA_KEY,
            });
        }
        if metadata::RESERVED.contains(&key.as_str()) {
            return Err(Invalid::ReservedMetadata(key.clone()));
        }
        if value.chars().count() > MAX_METADATA_VALUE {
            return Err(Invalid::MetadataValue {
                key: key.clone(),
                max: MAX_METADATA_VALUE,
            });
        }
    }
    Ok(metadata)
}

#[cfg(test)]
mod tests;
