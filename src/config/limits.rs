//! Byte limits of the JetStream streams and key-value buckets the service creates (CONTRACT §9): a flood of
//! events or requests fills a stream up to its limit, never the NATS server's disk. Sizes are written as bytes or
//! with a unit: `512MiB`, `4GiB` (powers of 1024), `500MB`, `4GB` (powers of 1000).

use serde::{de::Error as _, Deserialize, Deserializer};

/// Every stream and bucket refuses new messages once this full (discard `new`): a full stream is a transient
/// failure (a webhook answered 503 and sent again by Stripe, a publish retried), never a silent loss of old data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct StreamLimits {
    /// `EVENTS_MAX_BYTES`: the events stream (`STRIPE_EVENTS`). Default `2GiB`.
    #[serde(rename = "events_max_bytes", deserialize_with = "bytes")]
    pub events: i64,
    /// `PAYMENTS_MAX_BYTES`: the `PAYMENTS` stream. Default `512MiB`.
    #[serde(rename = "payments_max_bytes", deserialize_with = "bytes")]
    pub payments: i64,
    /// `CALLBACKS_MAX_BYTES`: the `PAYMENT_CALLBACKS` work queue. Default `128MiB`.
    #[serde(rename = "callbacks_max_bytes", deserialize_with = "bytes")]
    pub callbacks: i64,
    /// `KV_MAX_BYTES`: each key-value bucket. Default `256MiB`.
    #[serde(rename = "kv_max_bytes", deserialize_with = "bytes")]
    pub kv: i64,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            events: 2 << 30,
            payments: 512 << 20,
            callbacks: 128 << 20,
            kv: 256 << 20,
        }
    }
}

/// The smallest limit accepted: below it a stream would refuse ordinary traffic.
const MIN_BYTES: i64 = 1 << 20;

/// A size of at least [`MIN_BYTES`].
fn bytes<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    parse_bytes(&String::deserialize(d)?)
        .filter(|n| *n >= MIN_BYTES)
        .ok_or_else(|| D::Error::custom("not a size of at least 1MiB"))
}

/// `1073741824`, `1GiB`, `1 GB`, `512mib`; None for anything else, zero, or more than `i64::MAX` bytes.
fn parse_bytes(text: &str) -> Option<i64> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: i64 = number.parse().ok()?;
    let scale: i64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        "kib" => 1 << 10,
        "mib" => 1 << 20,
        "gib" => 1 << 30,
        "tib" => 1 << 40,
        _ => return None,
    };
    number.checked_mul(scale).filter(|n| *n > 0)
}
