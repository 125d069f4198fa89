//! The create request's JSON as it arrives, read without deciding anything on serde's message texts: unknown
//! properties are collected by `serde_ignored` (where they stand), missing ones are `None`, and a value of the
//! wrong type is named by its path (`serde_path_to_error`).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use super::Invalid;

/// The JSON as sent; `price` stays raw text so it never passes through `f64`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct Wire {
    #[serde(default, deserialize_with = "present")]
    pub order_id: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub currency: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub items: Option<Vec<WireItem>>,
    #[serde(default)]
    pub callback: Option<WireCallback>,
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
pub(super) struct WireCallback {
    #[serde(default, deserialize_with = "present")]
    pub url: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct WireItem {
    #[serde(default, deserialize_with = "present")]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    pub price: Option<Box<RawValue>>,
    #[serde(default, deserialize_with = "present")]
    pub quantity: Option<u64>,
}

/// A property that is there, `null` included: only an absent one is `None` (and "required"); a `null` is a
/// value of the wrong type, refused by the field's own rule.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

impl Wire {
    /// Reads a JSON object; the first problem in the body's order, as NestJS reported it.
    pub fn parse(body: &[u8]) -> Result<Wire, Invalid> {
        // serde would also read a struct from a JSON array; the contract wants an object.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(
                match serde_json::from_slice::<serde::de::IgnoredAny>(body) {
                    Ok(_) => Invalid::NotAnObject,
                    Err(e) => Invalid::NotJson(e),
                },
            );
        }
        let mut unknown: Option<String> = None;
        let mut note = |path: serde_ignored::Path| {
            unknown.get_or_insert_with(|| path_text(&path));
        };
        let de = &mut serde_json::Deserializer::from_slice(body);
        let parsed: Result<Wire, _> =
            serde_path_to_error::deserialize(serde_ignored::Deserializer::new(de, &mut note));
        // An unknown property is reported where it stands: before whatever comes after it in the body.
        if let Some(path) = unknown {
            return Err(Invalid::UnknownField(path));
        }
        let wire = parsed.map_err(|e| {
            if e.inner().is_syntax() || e.inner().is_eof() {
                Invalid::NotJson(e.into_inner())
            } else {
                Invalid::field(&e.path().to_string())
            }
        })?;
        match wire.missing() {
            Some(path) => Err(Invalid::Missing(path)),
            None => Ok(wire),
        }
    }

    /// The first required property that is absent: in the items and the callback (which close first in a
    /// body), then at the top level.
    fn missing(&self) -> Option<String> {
        let mut items = self.items.iter().flatten().enumerate();
        let in_items = items.find_map(|(i, item)| {
            let field = if item.name.is_none() {
                "name"
            } else if item.price.is_none() {
                "price"
            } else if item.quantity.is_none() {
                "quantity"
            } else {
                return None;
            };
            Some(format!("items[{i}].{field}"))
        });
        let in_callback = self
            .callback
            .as_ref()
            .filter(|c| c.url.is_none())
            .map(|_| "callback.url".to_owned());
        let top = [
            ("orderId", self.order_id.is_none()),
            ("currency", self.currency.is_none()),
            ("items", self.items.is_none()),
        ];
        let at_top = top
            .into_iter()
            .find(|(_, absent)| *absent)
            .map(|(field, _)| field.to_owned());
        in_items.or(in_callback).or(at_top)
    }
}

/// `items[0].sku`, as `serde_path_to_error` writes paths (`serde_ignored` writes `items.0.sku`).
fn path_text(path: &serde_ignored::Path) -> String {
    use serde_ignored::Path;
    match path {
        Path::Root => String::new(),
        Path::Seq { parent, index } => format!("{}[{index}]", path_text(parent)),
        Path::Map { parent, key } => match path_text(parent) {
            parent if parent.is_empty() => key.clone(),
            parent => format!("{parent}.{key}"),
        },
        Path::Some { parent }
        | Path::NewtypeStruct { parent }
        | Path::NewtypeVariant { parent } => path_text(parent),
    }
}
