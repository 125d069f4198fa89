//! `POST /v1/checkout/sessions`: validates the decoded form as Stripe does (same messages and `param`s) and builds
//! the new session from it, with its amounts computed from the line items.

use serde_json::{Map, Value};

use crate::errors::ApiError;
use crate::form::Node;
use crate::ids;
use crate::objects::{self, LineItem, SessionSpec};
use crate::state::StoredSession;

const MODES: [&str; 3] = ["payment", "setup", "subscription"];
const UI_MODES: [&str; 7] = [
    "hosted",
    "hosted_page",
    "embedded",
    "embedded_page",
    "custom",
    "elements",
    "form",
];

/// Validates a create request and builds the session it asks for (not stored yet).
pub(crate) fn create(base_url: &str, form: &Node) -> Result<StoredSession, ApiError> {
    let mode = form.str("mode").ok_or_else(|| ApiError::missing("mode"))?;
    if !MODES.contains(&mode) {
        return Err(ApiError::invalid(
            "mode",
            format!("Invalid mode: must be one of {}", MODES.join(", ")),
        ));
    }
    let ui_mode = form.str("ui_mode").unwrap_or("hosted_page");
    if !UI_MODES.contains(&ui_mode) {
        return Err(ApiError::invalid(
            "ui_mode",
            format!("Invalid ui_mode: must be one of {}", UI_MODES.join(", ")),
        ));
    }
    let hosted = ui_mode.starts_with("hosted");
    let success_url = url(form, "success_url")?;
    if hosted && success_url.is_none() {
        return Err(ApiError::missing("success_url"));
    }
    let return_url = url(form, "return_url")?;
    if !hosted && return_url.is_none() && form.str("redirect_on_completion") != Some("never") {
        return Err(ApiError::missing("return_url"));
    }
    let cancel_url = url(form, "cancel_url")?;

    let created = ids::now();
    let line_items = line_items(form, mode, created)?;
    let items = form
        .get("line_items")
        .and_then(Node::items)
        .unwrap_or_default();
    let recurring = |item: &Node| {
        item.get("price_data")
            .is_some_and(|p| p.get("recurring").is_some())
    };
    if mode == "subscription" && !items.iter().any(|item| recurring(item)) {
        return Err(ApiError::invalid(
            "line_items",
            "You must provide at least one recurring price in `subscription` mode when using prices.",
        ));
    }
    let currency = line_items.first().map(|item| item.currency.clone());
    if let Some(other) = line_items
        .iter()
        .find(|i| Some(&i.currency) != currency.as_ref())
    {
        return Err(ApiError::invalid(
            "line_items",
            format!(
                "All line items must have the same currency; got {} and {}.",
                currency.unwrap_or_default(),
                other.currency
            ),
        ));
    }
    let total =
        (!line_items.is_empty()).then(|| line_items.iter().map(|i| i.amount_subtotal).sum::<i64>());

    let session_metadata = metadata(form, "metadata")?;
    let payment_intent_metadata = match form.get("payment_intent_data") {
        Some(_) if mode != "payment" => {
            return Err(ApiError::invalid(
                "payment_intent_data",
                format!("You can not pass `payment_intent_data` in `{mode}` mode."),
            ))
        }
        Some(data) => metadata(data, "payment_intent_data[metadata]")?,
        None => Map::new(),
    };
    let client_reference_id = form.str("client_reference_id").filter(|s| !s.is_empty());
    if client_reference_id.is_some_and(|id| id.chars().count() > 200) {
        return Err(ApiError::invalid(
            "client_reference_id",
            "client_reference_id must be at most 200 characters.",
        ));
    }
    let expires_at = match form.str("expires_at") {
        None => created + 24 * 3600,
        Some(raw) => {
            let at = integer("expires_at", raw)?;
            if at < created + 30 * 60 || at > created + 24 * 3600 {
                return Err(ApiError::invalid(
                    "expires_at",
                    "The `expires_at` timestamp must be between 30 minutes and 24 hours from Checkout Session creation.",
                ));
            }
            at
        }
    };

    let id = ids::random_id("cs_test_", 58);
    let spec = SessionSpec {
        url: hosted.then(|| format!("{base_url}/checkout/{id}")),
        mode: mode.to_owned(),
        ui_mode: ui_mode.to_owned(),
        currency,
        amount_subtotal: total,
        amount_total: total,
        success_url,
        cancel_url,
        return_url,
        client_reference_id: client_reference_id.map(str::to_owned),
        customer_email: form.str("customer_email").map(str::to_owned),
        metadata: session_metadata,
        created,
        expires_at,
        id,
    };
    Ok(StoredSession {
        object: objects::checkout_session(&spec),
        line_items,
        payment_intent_metadata,
    })
}

fn url(form: &Node, param: &str) -> Result<Option<String>, ApiError> {
    match form.get(param) {
        None => Ok(None),
        Some(Node::Value(u)) if u.starts_with("https://") || u.starts_with("http://") => {
            Ok(Some(u.clone()))
        }
        Some(_) => Err(ApiError::invalid(param, "Not a valid URL").with_code("url_invalid")),
    }
}

fn line_items(form: &Node, mode: &str, created: i64) -> Result<Vec<LineItem>, ApiError> {
    let Some(node) = form.get("line_items") else {
        return match mode {
            "setup" => Ok(Vec::new()),
            _ => Err(ApiError::missing("line_items")),
        };
    };
    let items = node
        .items()
        .ok_or_else(|| ApiError::invalid("line_items", "Invalid array"))?;
    if items.is_empty() && mode != "setup" {
        return Err(ApiError::missing("line_items"));
    }
    let items = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| line_item(item, &format!("line_items[{i}]"), created))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(items)
}

fn line_item(item: &Node, p: &str, created: i64) -> Result<LineItem, ApiError> {
    item.entries()
        .ok_or_else(|| ApiError::invalid(p, "Invalid hash"))?;
    if let Some(price) = item.str("price") {
        return Err(
            ApiError::invalid(&format!("{p}[price]"), format!("No such price: '{price}'"))
                .with_code("resource_missing"),
        );
    }
    let price = item.get("price_data").ok_or_else(|| {
        ApiError::invalid(
            p,
            format!("You must specify either `price` or `price_data` in `{p}`."),
        )
    })?;
    let pp = format!("{p}[price_data]");
    let currency = price
        .str("currency")
        .ok_or_else(|| ApiError::missing(&format!("{pp}[currency]")))?;
    // The same table the service checks against, so the two cannot disagree on what Stripe supports.
    let Some(currency) = stripe_wire::Currency::lookup(currency) else {
        return Err(ApiError::invalid(
            &format!("{pp}[currency]"),
            format!("Invalid currency: {currency}."),
        ));
    };
    if let Some(product) = price.str("product") {
        return Err(ApiError::invalid(
            &format!("{pp}[product]"),
            format!("No such product: '{product}'"),
        )
        .with_code("resource_missing"));
    }
    let product = price
        .get("product_data")
        .ok_or_else(|| ApiError::missing(&format!("{pp}[product_data]")))?;
    let name = product
        .str("name")
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::missing(&format!("{pp}[product_data][name]")))?;
    let unit =
        match (price.str("unit_amount"), price.str("unit_amount_decimal")) {
            (Some(_), Some(_)) => return Err(ApiError::invalid(
                &format!("{pp}[unit_amount_decimal]"),
                "You may only specify one of these parameters: unit_amount, unit_amount_decimal.",
            )),
            (Some(raw), None) => {
                let param = format!("{pp}[unit_amount]");
                let amount = non_negative(&param, raw)?;
                stripe_amount_rules(&param, currency, amount)?;
                amount as f64
            }
            (None, Some(raw)) => decimal(&format!("{pp}[unit_amount_decimal]"), raw)?,
            (None, None) => return Err(ApiError::missing(&format!("{pp}[unit_amount]"))),
        };
    let raw_quantity = item
        .str("quantity")
        .ok_or_else(|| ApiError::missing(&format!("{p}[quantity]")))?;
    let quantity = integer(&format!("{p}[quantity]"), raw_quantity)?;
    let quantity = u64::try_from(quantity)
        .ok()
        .filter(|q| *q > 0)
        .ok_or_else(|| ApiError::invalid(&format!("{p}[quantity]"), "Invalid positive integer"))?;
    let unit_amount_decimal = price
        .str("unit_amount")
        .or(price.str("unit_amount_decimal"))
        .unwrap_or_default()
        .to_owned();
    Ok(LineItem {
        id: ids::random_id("li_", 24),
        price_id: ids::random_id("price_", 24),
        product_id: ids::random_id("prod_", 14),
        name: name.to_owned(),
        currency: currency.code().to_owned(),
        unit_amount_decimal,
        quantity,
        amount_subtotal: (unit * quantity as f64).round() as i64,
        created,
    })
}

/// Stripe's refusals of an amount it cannot charge (its codes; the messages are close to Stripe's own). Zero
/// stays allowed here, as Stripe allows free line items.
fn stripe_amount_rules(
    param: &str,
    currency: stripe_wire::Currency,
    amount: i64,
) -> Result<(), ApiError> {
    use stripe_wire::AmountRule;
    if amount == 0 {
        return Ok(());
    }
    let code = currency.code().to_ascii_uppercase();
    match stripe_wire::check_unit_amount(currency, amount) {
        Ok(()) | Err(AmountRule::NotPositive) => Ok(()),
        Err(AmountRule::AboveMaximum(_)) => Err(ApiError::invalid(
            param,
            format!(
                "Amount must be no more than {} {code}.",
                currency.format_major(stripe_wire::MAX_UNIT_AMOUNT)
            ),
        )
        .with_code("amount_too_large")),
        Err(AmountRule::NotWholeUnits(_)) => Err(ApiError::invalid(
            param,
            format!("Invalid amount. Currency {code} has become effectively zero-decimal and charged amounts must be evenly divisible by 100."),
        )
        .with_code("invalid_charge_amount_no_decimal_compatible")),
        Err(AmountRule::LastDigitNotZero(_)) => Err(ApiError::invalid(
            param,
            format!("Invalid amount. Amounts in {code} must end in 0 (a multiple of 10 in the smallest unit)."),
        )
        .with_code("invalid_charge_amount")),
    }
}

fn integer(param: &str, raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>()
        .map_err(|_| ApiError::invalid_integer(param, raw))
}

fn non_negative(param: &str, raw: &str) -> Result<i64, ApiError> {
    let value = integer(param, raw)?;
    if value < 0 {
        return Err(ApiError::invalid(param, "Invalid non-negative integer"));
    }
    Ok(value)
}

fn decimal(param: &str, raw: &str) -> Result<f64, ApiError> {
    let fraction_ok = raw.split_once('.').is_none_or(|(_, f)| f.len() <= 12);
    match raw.parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 && fraction_ok && !raw.contains(['e', 'E']) => Ok(v),
        _ => Err(ApiError::invalid(param, format!("Invalid decimal: {raw}"))),
    }
}

/// A metadata hash at `param` (inside `node` under `metadata`, or `node` itself when `param` is `metadata`), with
/// Stripe's limits. Keys posted with an empty value are unset, so they are left out.
fn metadata(node: &Node, param: &str) -> Result<Map<String, Value>, ApiError> {
    let Some(hash) = node.get("metadata") else {
        return Ok(Map::new());
    };
    let entries = hash
        .entries()
        .ok_or_else(|| ApiError::invalid(param, "Invalid hash"))?;
    let mut map = Map::new();
    for (key, value) in entries {
        let value = value
            .as_str()
            .ok_or_else(|| ApiError::invalid(&format!("{param}[{key}]"), "Invalid string"))?;
        if key.chars().count() > 40 {
            return Err(ApiError::invalid(
                param,
                format!("Metadata keys can have up to 40 characters, but you passed in a key that is {} characters: {key}", key.chars().count()),
            ));
        }
        if value.chars().count() > 500 {
            return Err(ApiError::invalid(
                &format!("{param}[{key}]"),
                format!("Metadata values can have up to 500 characters, but you passed in a value that is {} characters.", value.chars().count()),
            ));
        }
        if !value.is_empty() {
            map.insert(key.clone(), Value::String(value.to_owned()));
        }
    }
    if map.len() > 50 {
        return Err(ApiError::invalid(
            param,
            "You can specify up to 50 keys in metadata.",
        ));
    }
    Ok(map)
}
