//! `data.object.metadata.traceparent` of a webhook body, read in the same pass as the event's id and type: the
//! webhook intake continues the trace that created the session without parsing the event twice. Lenient by design:
//! whatever shape `data` has, the answer is a value or `None`, never an error (the event must still be stored).

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// Where the value sits below `data`.
const PATH: &[&str] = &["object", "metadata", "traceparent"];

/// Deserialises `data` into the traceparent its object's metadata carries, if any.
pub fn of_data<'de, D: Deserializer<'de>>(data: D) -> Result<Option<String>, D::Error> {
    Path(PATH).deserialize(data)
}

/// The rest of the path to follow; at its end, a string is the answer.
struct Path(&'static [&'static str]);

impl<'de> DeserializeSeed<'de> for Path {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Path {
    type Value = Option<String>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(next) = map.next_key_seed(Is(self.0.first().copied()))? {
            if next {
                found = map.next_value_seed(Path(&self.0[1..]))?;
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }

    fn visit_str<E>(self, value: &str) -> Result<Self::Value, E> {
        Ok(self.0.is_empty().then(|| value.to_owned()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Whether a map key is the next step of the path, compared without allocating.
struct Is(Option<&'static str>);

impl<'de> DeserializeSeed<'de> for Is {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Is {
    type Value = bool;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a map key")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(self.0 == Some(key))
    }
}

#[cfg(test)]
mod tests {
    use crate::stripe::event::EventHead;

    fn traceparent(body: &str) -> Option<String> {
        EventHead::parse(body.as_bytes()).unwrap().traceparent
    }

    #[test]
    fn found_in_the_object_metadata_and_nowhere_else() {
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let event = |data: &str| format!(r#"{{"id":"evt_1","type":"t","data":{data}}}"#);
        assert_eq!(
            traceparent(&event(&format!(
                r#"{{"object":{{"id":"cs_1","metadata":{{"orderId":"o","traceparent":"{tp}"}},"x":[1,{{"a":null}}]}}}}"#
            )))
            .as_deref(),
            Some(tp)
        );
        // Escaped keys are keys too.
        assert_eq!(
            traceparent(&event(&format!(
                r#"{{"object":{{"metadata":{{"tracep\u0061rent":"{tp}"}}}}}}"#
            )))
            .as_deref(),
            Some(tp)
        );
        for data in [
            r#"{"object":{"metadata":{}}}"#,
            r#"{"object":{"traceparent":"x"}}"#,
            r#"{"traceparent":"x","object":null}"#,
            r#"{"object":{"metadata":{"traceparent":7}}}"#,
            r#"{"object":{"metadata":{"traceparent":{"a":"b"}}}}"#,
            r#"{"object":{"metadata":["traceparent"]}}"#,
            r#"{"object":"cs_1"}"#,
            r#"null"#,
            r#"[1,2]"#,
        ] {
            assert_eq!(traceparent(&event(data)), None, "{data}");
        }
        assert_eq!(traceparent(r#"{"id":"evt_1","type":"t"}"#), None);
    }
}
