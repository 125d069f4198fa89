//! Lenient parsing of Stripe events: only the envelope (`id`, `type`, `data.object`) is required, and fields are
//! read by name from the object, so events of any API version (2017 shapes, or newer than the SDK) are accepted.
//! The typed SDK structs are deliberately not used here: a field they do not know must not reject a payment.

use serde::Deserialize;
use serde_json::{Map, Value};

use crate::payment::event::Event;

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
        let head: EventHead = serde_json::from_slice(body).map_err(|_| classify(body))?;
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

/// Reads an event for the outcome mapping: its envelope and the fields of `data.object` that the mapping uses.
pub fn parse(body: &[u8]) -> Result<Event, EventError> {
    let env: Envelope = serde_json::from_slice(body).map_err(|_| classify(body))?;
    if env.id.is_empty() || env.event_type.is_empty() {
        return Err(EventError::NotAnEvent("empty id or type"));
    }
    Ok(Event {
        id: env.id,
        event_type: env.event_type,
        livemode: env.livemode,
        object: env.data.object,
    })
}

/// Why a body is not an event, from where reading it stopped (read again: only refused bodies pay for it).
fn classify(body: &[u8]) -> EventError {
    let de = &mut serde_json::Deserializer::from_slice(body);
    let Err(err) = serde_path_to_error::deserialize::<_, Head>(de) else {
        return EventError::NotAnEvent("no data.object");
    };
    if err.inner().is_syntax() || err.inner().is_eof() {
        return EventError::NotJson;
    }
    match err.path().iter().next() {
        Some(serde_path_to_error::Segment::Map { key }) if key == "data" => {
            EventError::NotAnEvent("no data.object")
        }
        _ => EventError::NotAnEvent("no string id and type"),
    }
}

/// The envelope with `data` optional, to tell a body without `data.object` from one without an id or type. Read
/// only to find where a body stops being an event, so its fields are never used.
#[derive(Deserialize)]
struct Head {
    #[serde(rename = "id")]
    _id: String,
    #[serde(rename = "type")]
    _event_type: String,
    #[serde(default, rename = "data")]
    _data: Option<HeadData>,
}

#[derive(Deserialize)]
struct HeadData {
    #[serde(rename = "object")]
    _object: Map<String, Value>,
}

mod traceparent;

#[cfg(test)]
mod tests;
