//! What this service writes into Stripe's `metadata` of sessions and payment intents (and Stripe copies onto
//! charges), so that every event of a payment tells its order and its callback, whichever replica reads it.

use sha2::{Digest, Sha256};

/// The metadata key that carries the order id on sessions, payment intents and (copied by Stripe) charges.
pub const ORDER_ID_KEY: &str = "orderId";
/// The metadata key that carries the callback id, so any replica can find the callback of any event.
pub const CALLBACK_KEY: &str = "payments_callback";

/// The metadata key that carries the W3C trace context of the request that created the session (CONTRACT §10),
/// so the events of the payment continue its trace.
pub const TRACEPARENT_KEY: &str = "traceparent";

/// Metadata keys the service itself writes to Stripe: a caller may not set them.
pub const RESERVED: [&str; 3] = [ORDER_ID_KEY, CALLBACK_KEY, TRACEPARENT_KEY];

/// The callback id of a create request: derived from its idempotency key, so a retried request (which Stripe
/// answers with the same session) sends Stripe the same metadata and refers to the same target.
pub fn callback_id(idempotency_key: &str) -> String {
    format!(
        "cb_{}",
        &hex::encode(Sha256::digest(idempotency_key.as_bytes()))[..32]
    )
}
