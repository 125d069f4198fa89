//! Builders of complete Stripe objects (Checkout session, payment intent, charge, line item), public so tests can
//! build consistent fixtures. Each starts from a real Stripe object in `fixtures/` and overrides ids, amounts,
//! timestamps and metadata, so the result has every field the typed `async-stripe` structs require.

use serde_json::{json, Map, Value};

use crate::ids;

/// The amount of the payment intents and charges built here (two T-shirts at 20.50), in cents.
pub const FIXTURE_AMOUNT: i64 = 4100;
/// The currency of the payment intents and charges built here.
pub const FIXTURE_CURRENCY: &str = "usd";

const SESSION: &str = include_str!("../fixtures/checkout_session.json");
const PAYMENT_INTENT: &str = include_str!("../fixtures/payment_intent.json");
const CHARGE: &str = include_str!("../fixtures/charge.json");

fn template(source: &str) -> Map<String, Value> {
    match serde_json::from_str(source) {
        Ok(Value::Object(map)) => map,
        _ => unreachable!("fixtures are JSON objects"),
    }
}

fn set(object: &mut Map<String, Value>, fields: Value) {
    if let Value::Object(fields) = fields {
        object.extend(fields);
    }
}

/// The fields of a new Checkout session. [`SessionSpec::new`] gives an open, unpaid `payment` session created now.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionSpec {
    pub id: String,
    /// The hosted page; `None` for embedded sessions.
    pub url: Option<String>,
    pub mode: String,
    pub ui_mode: String,
    pub currency: Option<String>,
    pub amount_subtotal: Option<i64>,
    pub amount_total: Option<i64>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub return_url: Option<String>,
    pub client_reference_id: Option<String>,
    pub customer_email: Option<String>,
    pub metadata: Map<String, Value>,
    pub created: i64,
    pub expires_at: i64,
}

impl SessionSpec {
    pub fn new(id: &str) -> Self {
        let created = ids::now();
        SessionSpec {
            id: id.to_owned(),
            url: None,
            mode: "payment".into(),
            ui_mode: "hosted_page".into(),
            currency: None,
            amount_subtotal: None,
            amount_total: None,
            success_url: None,
            cancel_url: None,
            return_url: None,
            client_reference_id: None,
            customer_email: None,
            metadata: Map::new(),
            created,
            expires_at: created + 24 * 3600,
        }
    }
}

/// A `checkout.session` as `POST /v1/checkout/sessions` returns it: `status: "open"`, `payment_status: "unpaid"`,
/// no payment intent yet (Stripe creates it when the customer pays).
pub fn checkout_session(spec: &SessionSpec) -> Value {
    let mut session = template(SESSION);
    let payment = spec.mode == "payment";
    set(
        &mut session,
        json!({
            "id": spec.id,
            "url": spec.url,
            "mode": spec.mode,
            "ui_mode": spec.ui_mode,
            "currency": spec.currency,
            "amount_subtotal": spec.amount_subtotal,
            "amount_total": spec.amount_total,
            "success_url": spec.success_url,
            "cancel_url": spec.cancel_url,
            "client_reference_id": spec.client_reference_id,
            "customer_email": spec.customer_email,
            "metadata": spec.metadata,
            "created": spec.created,
            "expires_at": spec.expires_at,
            "livemode": false,
            "status": "open",
            "payment_status": "unpaid",
            "payment_intent": null,
            "adaptive_pricing": { "enabled": false },
            "after_expiration": null,
            "automatic_tax": { "enabled": false, "liability": null, "provider": null, "status": null },
            "collected_information": null,
            "consent": null,
            "consent_collection": null,
            "currency_conversion": null,
            "custom_text": {
                "after_submit": null, "shipping_address": null, "submit": null, "terms_of_service_acceptance": null
            },
            "customer_creation": if payment { json!("if_required") } else { Value::Null },
            "customer_details": null,
            "discounts": [],
            "invoice_creation": if payment { invoice_creation() } else { Value::Null },
            "managed_payments": { "enabled": false },
            "payment_method_collection": if payment { Value::Null } else { json!("always") },
            "payment_method_configuration_details": null,
            "saved_payment_method_options": null,
            "shipping_address_collection": null,
            "shipping_cost": null,
            "total_details": { "amount_discount": 0, "amount_shipping": 0, "amount_tax": 0 },
            "wallet_options": null,
        }),
    );
    if let Some(return_url) = &spec.return_url {
        session.insert("return_url".into(), json!(return_url));
    }
    Value::Object(session)
}

fn invoice_creation() -> Value {
    json!({
        "enabled": false,
        "invoice_data": {
            "account_tax_ids": null, "custom_fields": null, "description": null, "footer": null,
            "issuer": null, "metadata": {}, "rendering_options": null
        }
    })
}

/// A card `payment_intent` of [`FIXTURE_AMOUNT`] [`FIXTURE_CURRENCY`]: `succeeded` with `latest_charge` when there
/// is one, otherwise `requires_payment_method`.
pub fn payment_intent(
    id: &str,
    latest_charge: Option<&str>,
    metadata: &Map<String, Value>,
) -> Value {
    let mut pi = template(PAYMENT_INTENT);
    set(
        &mut pi,
        json!({
            "id": id,
            "client_secret": ids::random_id(&format!("{id}_secret_"), 25),
            "created": ids::now(),
            "metadata": metadata,
            "latest_charge": latest_charge,
        }),
    );
    if latest_charge.is_none() {
        set(
            &mut pi,
            json!({ "status": "requires_payment_method", "amount_received": 0, "payment_method": null }),
        );
    }
    Value::Object(pi)
}

/// A succeeded, captured card `charge` of [`FIXTURE_AMOUNT`] [`FIXTURE_CURRENCY`] belonging to `payment_intent`.
pub fn charge(
    id: &str,
    payment_intent: &str,
    metadata: &Map<String, Value>,
    receipt_url: &str,
) -> Value {
    let mut charge = template(CHARGE);
    set(
        &mut charge,
        json!({
            "id": id,
            "payment_intent": payment_intent,
            "metadata": metadata,
            "receipt_url": receipt_url,
            "created": ids::now(),
            "amount": FIXTURE_AMOUNT,
            "amount_captured": FIXTURE_AMOUNT,
            "currency": FIXTURE_CURRENCY,
            "customer": null,
            "description": null,
        }),
    );
    if let Some(card) = charge["payment_method_details"]["card"].as_object_mut() {
        card.insert("amount_authorized".into(), json!(FIXTURE_AMOUNT));
        card["overcapture"]["maximum_amount_capturable"] = json!(FIXTURE_AMOUNT);
    }
    Value::Object(charge)
}

/// One line item of a Checkout session, with the ids of the price and product Stripe creates for `price_data`.
#[derive(Debug, Clone, PartialEq)]
pub struct LineItem {
    pub id: String,
    pub price_id: String,
    pub product_id: String,
    pub name: String,
    pub currency: String,
    /// The unit amount in cents, as a decimal string (`unit_amount_decimal` may have a fraction).
    pub unit_amount_decimal: String,
    pub quantity: u64,
    /// `unit_amount × quantity`, rounded to a whole cent.
    pub amount_subtotal: i64,
    pub created: i64,
}

/// A Checkout `item` (an element of a session's `line_items`), with its inline `price` object.
pub fn line_item(item: &LineItem) -> Value {
    let unit_amount = item.unit_amount_decimal.parse::<i64>().ok();
    json!({
        "id": item.id,
        "object": "item",
        "adjustable_quantity": null,
        "amount_discount": 0,
        "amount_subtotal": item.amount_subtotal,
        "amount_tax": 0,
        "amount_total": item.amount_subtotal,
        "currency": item.currency,
        "description": item.name,
        "metadata": {},
        "price": {
            "id": item.price_id,
            "object": "price",
            "active": false,
            "billing_scheme": "per_unit",
            "created": item.created,
            "currency": item.currency,
            "custom_unit_amount": null,
            "livemode": false,
            "lookup_key": null,
            "metadata": {},
            "nickname": null,
            "product": item.product_id,
            "recurring": null,
            "tax_behavior": "unspecified",
            "tiers_mode": null,
            "transform_quantity": null,
            "type": "one_time",
            "unit_amount": unit_amount,
            "unit_amount_decimal": item.unit_amount_decimal,
        },
        "quantity": item.quantity,
    })
}

/// A Stripe `list` object of `data` at `url` (no further pages).
pub fn list(url: &str, data: Vec<Value>) -> Value {
    json!({ "object": "list", "data": data, "has_more": false, "url": url })
}
