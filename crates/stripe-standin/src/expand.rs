//! `expand[]`: replaces ids of related objects by the objects themselves, for the fields Stripe lets you expand,
//! including dotted paths such as `payment_intent.latest_charge`.

use serde_json::Value;

use crate::errors::ApiError;
use crate::form::Node;
use crate::objects;
use crate::state::Inner;

/// Where an expandable field's object comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    Charge,
    PaymentIntent,
    LineItems,
    /// Expandable at Stripe, but the stand-in stores no such objects: the id stays.
    NotStored,
}

use Source::{Charge, LineItems, NotStored, PaymentIntent};

/// `(object type, field, source)`.
const EXPANDABLE: &[(&str, &str, Source)] = &[
    ("checkout.session", "payment_intent", PaymentIntent),
    ("checkout.session", "line_items", LineItems),
    ("checkout.session", "customer", NotStored),
    ("checkout.session", "invoice", NotStored),
    ("checkout.session", "payment_link", NotStored),
    ("checkout.session", "setup_intent", NotStored),
    ("checkout.session", "subscription", NotStored),
    ("payment_intent", "latest_charge", Charge),
    ("payment_intent", "customer", NotStored),
    ("payment_intent", "payment_method", NotStored),
    ("payment_intent", "application", NotStored),
    ("payment_intent", "on_behalf_of", NotStored),
    ("payment_intent", "review", NotStored),
    ("charge", "payment_intent", PaymentIntent),
    ("charge", "customer", NotStored),
    ("charge", "balance_transaction", NotStored),
    ("charge", "application", NotStored),
    ("charge", "application_fee", NotStored),
    ("charge", "failure_balance_transaction", NotStored),
    ("charge", "on_behalf_of", NotStored),
    ("charge", "review", NotStored),
    ("charge", "source_transfer", NotStored),
    ("charge", "transfer", NotStored),
    ("dispute", "charge", Charge),
    ("dispute", "payment_intent", PaymentIntent),
    ("refund", "charge", Charge),
    ("refund", "payment_intent", PaymentIntent),
    ("refund", "balance_transaction", NotStored),
];

/// The paths of a request's `expand` parameter (`expand[]=a`, `expand[0]=a` or `expand=a`).
pub(crate) fn paths(form: &Node) -> Result<Vec<String>, ApiError> {
    let Some(node) = form.get("expand") else {
        return Ok(Vec::new());
    };
    if let Some(path) = node.as_str() {
        return Ok(vec![path.to_owned()]);
    }
    let items = node
        .items()
        .ok_or_else(|| ApiError::invalid("expand", "Invalid array"))?;
    items
        .into_iter()
        .map(|item| {
            item.as_str()
                .map(str::to_owned)
                .ok_or_else(|| ApiError::invalid("expand", "Invalid array"))
        })
        .collect()
}

/// Expands every path in `object`.
pub(crate) fn apply(inner: &Inner, object: &mut Value, paths: &[String]) -> Result<(), ApiError> {
    for path in paths {
        expand(inner, object, path, path)?;
    }
    Ok(())
}

fn expand(inner: &Inner, object: &mut Value, path: &str, full: &str) -> Result<(), ApiError> {
    let (field, rest) = match path.split_once('.') {
        Some((field, rest)) => (field, Some(rest)),
        None => (path, None),
    };
    let kind = object["object"].as_str().unwrap_or_default();
    let source = EXPANDABLE
        .iter()
        .find(|(k, f, _)| *k == kind && *f == field)
        .map(|(_, _, source)| *source)
        .ok_or_else(|| {
            ApiError::invalid(
                "expand",
                format!("This property cannot be expanded ({full})."),
            )
        })?;
    let id = object[field].as_str().map(str::to_owned);
    let expanded = match (source, id) {
        (LineItems, _) => {
            let session = object["id"].as_str().unwrap_or_default();
            inner.sessions.get(session).map(|s| {
                let data = s.line_items.iter().map(objects::line_item).collect();
                objects::list(&format!("/v1/checkout/sessions/{session}/line_items"), data)
            })
        }
        (Charge, Some(id)) => inner.charges.get(&id).cloned(),
        (PaymentIntent, Some(id)) => inner.payment_intents.get(&id).cloned(),
        _ => None,
    };
    if let Some(expanded) = expanded {
        object[field] = expanded;
    }
    match rest {
        Some(rest) if object[field]["object"].is_string() && source != LineItems => {
            expand(inner, &mut object[field], rest, full)
        }
        _ => Ok(()),
    }
}
