//! Creating a Checkout Session (CONTRACT §2), as HTTP and NATS both offer it: validate the request, claim its
//! idempotency key, check and keep its callback, and ask Stripe for the session.

use bytes::Bytes;

use crate::{
    callback::{Callbacks, Target},
    error::Error,
    nats::{connection::Nats, idempotency},
    payment::{
        checkout::{CreateSession, SessionCreated},
        idempotency::IdempotencyKey,
        metadata,
    },
    stripe::client::StripeApi,
    telemetry::propagation,
};

/// One create request as an adapter received it. Adapters start from [`CreateCheckout::new`] and set what they
/// have, so a new field does not touch every caller.
#[derive(Debug, Clone)]
pub struct CreateCheckout {
    /// The JSON body (HTTP) or the request object (NATS, either wire format).
    pub body: Bytes,
    /// The caller's `Idempotency-Key`, when it sent one.
    pub idempotency_key: Option<String>,
}

impl CreateCheckout {
    pub fn new(body: Bytes) -> Self {
        Self {
            body,
            idempotency_key: None,
        }
    }
}

/// The create use case and what it needs; cheap to clone.
#[derive(Clone)]
pub struct Checkout {
    pub stripe: StripeApi,
    pub callbacks: Callbacks,
    /// Where idempotency keys are claimed (the `payment_idempotency` bucket).
    pub nats: Nats,
}

impl Checkout {
    /// Parses a create request, creates its Checkout Session, and keeps its callback.
    pub async fn create(&self, input: CreateCheckout) -> Result<SessionCreated, Error> {
        let request = CreateSession::from_json(&input.body)?;
        let key = match input.idempotency_key.as_deref() {
            Some(key) => IdempotencyKey::parse(key)?,
            None => IdempotencyKey::derived(&request),
        };
        let callback_id = match &request.callback {
            Some(callback) => {
                self.callbacks.check(callback).await?;
                Some(metadata::callback_id(key.as_str()))
            }
            None => None,
        };
        // Derived keys are claimed too: a caller could send another request's derived key as its own. The claim
        // keeps the first request's trace context: Stripe must see the same metadata on every retry of a key.
        let traceparent = propagation::current();
        let traceparent =
            idempotency::claim(&self.nats, &key, &request.fingerprint(), traceparent).await?;
        let created = self
            .stripe
            .create_checkout_session(
                &request,
                &key,
                callback_id.as_deref(),
                traceparent.as_deref(),
            )
            .await?;
        if let (Some(id), Some(callback)) = (&callback_id, &request.callback) {
            let target = Target {
                url: callback.url.to_string(),
                method: callback.method.clone(),
                order_id: request.order_id.clone(),
                session_id: created.session_id.clone(),
                metadata: request.metadata.clone(),
            };
            // If this fails the caller gets a 503 and retries; the retry finds the same session (same key). The
            // target is written once: a later request cannot move it (CONTRACT §7).
            self.callbacks.save(id, &target, &key).await?;
        }
        Ok(created)
    }
}
