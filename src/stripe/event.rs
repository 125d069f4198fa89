//! Lenient parsing of Stripe events: only the envelope (`id`, `type`, `data.object`) is required, and fields are
//! read by name from the object, so events of any API version (2017 shapes, or newer than the SDK) are accepted.
//! The typed SDK structs are deliberately not used here: a field they do not know must not reject a payment.

use serde::Deserialize;
use serde_json::{Map, Value};

/// The id and type of an event: all the webhook needs before storing it; and the trace it belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct EventHead {
    pub id: String,
    #[serde(rename = "type")]
    pub event_type: String,
    /// `data.object.metadata.traceparent`: the trace of the session the event is about (CONTRACT §10).
    #[serde(default, rename = "data", deserialize_with = "traceparent::of_data")]
    pub traceparent: Option<String>,
}

impl EventHead {
    /// Reads only `id` and `type` (cheap: the rest of the body is skipped, not built).
    pub fn parse(body: &[u8]) -> Result<EventHead, EventError> {
        let head: EventHead = serde_json::from_slice(body).map_err(|e| classify(&e))?;
        if !header_safe(&head.id) || !header_safe(&head.event_type) {
            return Err(EventError::NotAnEvent(
                "id or type empty or not printable ASCII",
            ));
        }
        Ok(head)
    }
}

/// Whether a value from an event can travel in a NATS header and subject: printable ASCII, at most 255 bytes.
pub fn header_safe(value: &str) -> bool {
    !value.is_empty() && value.len() <= 255 && value.bytes().all(|b| b.is_ascii_graphic())
}

/// An event with its `data.object`, for mapping to outcomes.
#[derive(Debug, Clone, PartialEq)]
pub struct StripeEvent {
    pub id: String,
    pub event_type: String,
    /// Whether the event is of live mode; `None` when the event does not say.
    pub livemode: Option<bool>,
    pub object: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventError {
    #[error("the body is not JSON")]
    NotJson,
    #[error("the body is not a Stripe event ({0})")]
    NotAnEvent(&'static str),
}

#[derive(Deserialize)]
struct Envelope {
    id: String,
    #[serde(rename = "type")]
    event_type: String,
    #[serde(default)]
    livemode: Option<bool>,
    data: Data,
}

#[derive(Deserialize)]
struct Data {
    #[serde(deserialize_with = "used_fields")]
    object: Map<String, Value>,
}

/// The fields of `data.object` the outcome mapping reads. The rest (billing details, payment method details…,
/// most of an event) is skipped without being built: it was most of the pipeline's allocation work.
const USED_FIELDS: &[&str] = &[
    "id",
    "object",
    "amount",
    "amount_refunded",
    "charge",
    "charges",
    "client_reference_id",
    "currency",
    "last_payment_error",
    "latest_charge",
    "metadata",
    "payment_intent",
    "payment_status",
    "reason",
    "receipt_url",
    "refunded",
    "status",
];

fn used_fields<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Map<String, Value>, D::Error> {
    struct Fields;
    impl<'de> serde::de::Visitor<'de> for Fields {
        type Value = Map<String, Value>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut fields = Map::new();
            while let Some(key) = map.next_key::<String>()? {
                if USED_FIELDS.contains(&key.as_str()) {
                    fields.insert(key, map.next_value()?);
                } else {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
            Ok(fields)
        }
    }
    deserializer.deserialize_map(Fields)
}

impl StripeEvent {
    pub fn parse(body: &[u8]) -> Result<StripeEvent, EventError> {
        let env: Envelope = serde_json::from_slice(body).map_err(|e| classify(&e))?;
        if env.id.is_empty() || env.event_type.is_empty() {
            return Err(EventError::NotAnEvent("empty id or type"));
        }
        Ok(StripeEvent {
            id: env.id,
            event_type: env.event_type,
            livemode: env.livemode,
            object: env.data.object,
        })
    }

    /// A string field of `data.object`.
    pub fn str(&self, key: &str) -> Option<&str> {
        self.object
            .get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    }

    /// An integer field of `data.object`.
    pub fn int(&self, key: &str) -> Option<i64> {
        self.object.get(key).and_then(Value::as_i64)
    }

    pub fn bool(&self, key: &str) -> Option<bool> {
        self.object.get(key).and_then(Value::as_bool)
    }

    /// The id of a field that Stripe sends either as an id or as an expanded object.
    pub fn id_of(&self, key: &str) -> Option<&str> {
        match self.object.get(key)? {
            Value::String(id) if !id.is_empty() => Some(id),
            Value::Object(obj) => obj.get("id").and_then(Value::as_str),
            _ => None,
        }
    }

    /// A string value of `data.object.metadata`.
    pub fn metadata(&self, key: &str) -> Option<&str> {
        self.object
            .get("metadata")?
            .get(key)?
            .as_str()
            .map(str::trim)
            .filter(|s| !s.is_empty())
    }

    /// A field nested under several keys, e.g. `["last_payment_error", "message"]`.
    pub fn path(&self, keys: &[&str]) -> Option<&Value> {
        let (first, rest) = keys.split_first()?;
        rest.iter()
            .try_fold(self.object.get(*first)?, |v, k| v.get(k))
    }
}

fn classify(err: &serde_json::Error) -> EventError {
    if err.is_syntax() || err.is_eof() {
        return EventError::NotJson;
    }
    let text = err.to_string();
    if text.contains("`data`") || text.contains("`object`") || text.contains("map") {
        EventError::NotAnEvent("no data.object")
    } else {
        EventError::NotAnEvent("no string id and type")
    }
}

mod traceparent;

#[cfg(test)]
mod tests;
