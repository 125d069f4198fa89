//! Why a create request is refused before anything is done: each variant names the offending field, in the words
//! NestJS's class-validator used, so callers written for `payments-ms` read the same messages.

use super::super::money::AmountError;

#[derive(Debug, thiserror::Error)]
pub enum Invalid {
    #[error("body is not valid JSON: {0}")]
    NotJson(#[source] serde_json::Error),
    #[error("body must be a JSON object")]
    NotAnObject,
    /// A property the request has no use for, at this path (`items[0].sku`).
    #[error("property {0} should not exist")]
    UnknownField(String),
    /// A required property missing, at this path (`items[0].quantity`).
    #[error("{0} is required")]
    Missing(String),
    /// A field that breaks its rule: `items[0].name must be a non-empty string`.
    #[error("{field} {rule}")]
    Field { field: String, rule: &'static str },
    /// A price that cannot be charged exactly in its currency.
    #[error("{field} {source}")]
    Amount {
        field: String,
        #[source]
        source: AmountError,
    },
    #[error("callback.url must not carry credentials")]
    CallbackCredentials,
    #[error("metadata keys must be 1 to {max} characters without [ or ] (got {key:?})")]
    MetadataKey { key: String, max: usize },
    #[error("metadata.{0} is reserved for the service")]
    ReservedMetadata(String),
    #[error("metadata.{key} must be at most {max} characters")]
    MetadataValue { key: String, max: usize },
    #[error("Idempotency-Key must be 1 to {max} visible ASCII characters")]
    IdempotencyKey { max: usize },
}

impl Invalid {
    /// `field` broke its rule (see [`rule_text`]).
    pub(super) fn field(field: &str) -> Invalid {
        Invalid::Field {
            field: field.to_owned(),
            rule: rule_text(&strip_indices(field)),
        }
    }
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
