//! A Stripe event as the outcome mapping reads it: its id, type, mode and the fields of its `data.object`, read
//! by name so events of any API version map alike. The Stripe adapter (`stripe::event`) fills it from a body.

use serde_json::{Map, Value};

/// An event with the fields of its `data.object` that the mapping may read.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: String,
    pub event_type: String,
    /// Whether the event is of live mode; `None` when the event does not say.
    pub livemode: Option<bool>,
    pub object: Map<String, Value>,
}

impl Event {
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
