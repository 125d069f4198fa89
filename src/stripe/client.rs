//! The Stripe API client: async-stripe with a timeout, idempotent Checkout Session creation, and the look-ups
//! webhook processing needs (a payment intent's latest charge). Failures become a [`StripeError`] here, once.

use std::time::Instant;

use stripe_checkout::checkout_session::{
    CreateCheckoutSession, CreateCheckoutSessionLineItems, CreateCheckoutSessionLineItemsPriceData,
    CreateCheckoutSessionPaymentIntentData, ProductData,
};
use stripe_client_core::{RequestStrategy, StripeRequest};
use stripe_core::{charge::RetrieveCharge, payment_intent::RetrievePaymentIntent};
use stripe_shared::{CheckoutSessionMode, PaymentIntent};
use stripe_types::Expandable;

use secrecy::{ExposeSecret, SecretString};

pub use super::error::StripeError;
use super::transport::{Transport, TransportError};
use crate::{
    config::Config,
    payment::{
        checkout::{CreateSession, SessionCreated},
        idempotency::IdempotencyKey,
        metadata::{CALLBACK_KEY, ORDER_ID_KEY, TRACEPARENT_KEY},
    },
};

#[derive(Clone)]
pub struct StripeApi {
    client: Transport,
    secret: SecretString,
    success_url: String,
    cancel_url: String,
}

/// The fields of Stripe's Checkout Session that the reply carries. The rest of the object (≈ 3 KB, ~100 fields)
/// is skipped rather than built into async-stripe's `CheckoutSession`, which was 10 % of a session's CPU.
#[derive(miniserde::Deserialize)]
struct CreatedSession {
    id: String,
    url: Option<String>,
    success_url: Option<String>,
    cancel_url: Option<String>,
    expires_at: i64,
}

/// A succeeded charge as the `payment.succeeded` body needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeReceipt {
    pub charge_id: String,
    pub receipt_url: Option<String>,
}

/// A charge with what our metadata says of it: the order of a dispute, which carries no metadata of ours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeDetails {
    pub receipt: ChargeReceipt,
    pub intent: Option<String>,
    /// `orderId` from the charge's metadata, else from its payment intent's.
    pub order_id: Option<String>,
    pub callback_id: Option<String>,
}

impl StripeApi {
    /// The client of the configured API; `Err` says why the settings cannot make one.
    pub fn new(config: &Config) -> Result<Self, String> {
        let client = Transport::new(
            &config.stripe_secret,
            config.stripe_api_base.as_str(),
            config.stripe_timeout,
        )?;
        Ok(Self {
            client,
            secret: config.stripe_secret.clone(),
            success_url: config.stripe_success_url.clone(),
            cancel_url: config.stripe_cancel_url.clone(),
        })
    }

    /// Creates a Checkout Session; `idempotency_key` (the caller's, or one derived from the request) makes a
    /// retried request return the same session. `callback_id` names the callback target, if any; `traceparent`,
    /// in the metadata too, brings the events of this payment back into the trace that created it.
    pub async fn create_checkout_session(
        &self,
        request: &CreateSession,
        key: &IdempotencyKey,
        callback_id: Option<&str>,
        traceparent: Option<&str>,
    ) -> Result<SessionCreated, StripeError> {
        // Within Stripe's limits by construction: `IdempotencyKey` takes only what Stripe takes.
        let key = stripe_client_core::IdempotencyKey::new(key.as_str()).map_err(|e| {
            StripeError::Unexpected {
                source: TransportError::Unexpected(e.to_string()),
            }
        })?;
        // On the session and the payment intent (whose charges copy it), so every event carries it.
        let metadata = || {
            let mut metadata: std::collections::HashMap<String, String> = request
                .metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            metadata.insert(ORDER_ID_KEY.to_owned(), request.order_id.clone());
            if let Some(id) = callback_id {
                metadata.insert(CALLBACK_KEY.to_owned(), id.to_owned());
            }
            if let Some(traceparent) = traceparent {
                metadata.insert(TRACEPARENT_KEY.to_owned(), traceparent.to_owned());
            }
            metadata
        };
        let currency: stripe_types::Currency = request.currency.code().parse().unwrap_or_default();
        let line_items = request
            .items
            .iter()
            .map(|item| {
                let mut price = CreateCheckoutSessionLineItemsPriceData::new(currency.clone());
                price.product_data = Some(ProductData::new(item.name.as_str()));
                price.unit_amount = Some(item.unit_amount);
                let mut line = CreateCheckoutSessionLineItems::new();
                line.price_data = Some(price);
                line.quantity = Some(item.quantity);
                line
            })
            .collect::<Vec<_>>();
        let mut payment_intent_data = CreateCheckoutSessionPaymentIntentData::new();
        payment_intent_data.metadata = Some(metadata());
        let started = Instant::now();
        let session: Result<CreatedSession, StripeError> = CreateCheckoutSession::new()
            .mode(CheckoutSessionMode::Payment)
            .line_items(line_items)
            .success_url(self.success_url.as_str())
            .cancel_url(self.cancel_url.as_str())
            .client_reference_id(request.order_id.as_str())
            .metadata(metadata())
            .payment_intent_data(payment_intent_data)
            .build()
            .customize()
            .request_strategy(RequestStrategy::Idempotent(key))
            .send(&self.client)
            .await
            .map_err(|e| self.map_error(e));
        let session = observe("create_checkout_session", started, session)?;
        Ok(SessionCreated {
            session_id: session.id,
            url: session.url,
            success_url: session.success_url,
            cancel_url: session.cancel_url,
            expires_at: session.expires_at,
        })
    }

    /// The latest charge of a payment intent (Checkout's `checkout.session.completed` carries no charge).
    pub async fn latest_charge(
        &self,
        payment_intent: &str,
    ) -> Result<Option<ChargeReceipt>, StripeError> {
        let started = Instant::now();
        let intent: Result<PaymentIntent, StripeError> = RetrievePaymentIntent::new(payment_intent)
            .expand(["latest_charge".to_owned()])
            .send(&self.client)
            .await
            .map_err(|e| self.map_error(e));
        let intent = observe("retrieve_payment_intent", started, intent)?;
        Ok(match intent.latest_charge {
            None => None,
            Some(Expandable::Object(charge)) => Some(ChargeReceipt {
                charge_id: charge.id.to_string(),
                receipt_url: charge.receipt_url,
            }),
            Some(Expandable::Id(id)) => Some(self.charge(id.as_str()).await?),
        })
    }

    /// One charge, for events that name it without its receipt URL.
    pub async fn charge(&self, charge: &str) -> Result<ChargeReceipt, StripeError> {
        let started = Instant::now();
        let charge = RetrieveCharge::new(charge)
            .send(&self.client)
            .await
            .map_err(|e| self.map_error(e));
        let charge = observe("retrieve_charge", started, charge)?;
        Ok(ChargeReceipt {
            charge_id: charge.id.to_string(),
            receipt_url: charge.receipt_url,
        })
    }

    /// One charge with its payment intent expanded, for the order and callback in their metadata.
    pub async fn charge_details(&self, charge: &str) -> Result<ChargeDetails, StripeError> {
        let started = Instant::now();
        let charge = RetrieveCharge::new(charge)
            .expand(["payment_intent".to_owned()])
            .send(&self.client)
            .await
            .map_err(|e| self.map_error(e));
        let charge = observe("retrieve_charge", started, charge)?;
        let (intent, intent_metadata) = match charge.payment_intent {
            Some(Expandable::Object(intent)) => (Some(intent.id.to_string()), intent.metadata),
            Some(Expandable::Id(id)) => (Some(id.to_string()), Default::default()),
            None => (None, Default::default()),
        };
        let from_metadata = |key: &str| {
            [&charge.metadata, &intent_metadata]
                .into_iter()
                .find_map(|m| m.get(key).map(|v| v.trim()).filter(|v| !v.is_empty()))
                .map(str::to_owned)
        };
        Ok(ChargeDetails {
            order_id: from_metadata(ORDER_ID_KEY).or_else(|| from_metadata("order_id")),
            callback_id: from_metadata(CALLBACK_KEY),
            intent,
            receipt: ChargeReceipt {
                charge_id: charge.id.to_string(),
                receipt_url: charge.receipt_url,
            },
        })
    }

    fn map_error(&self, err: TransportError) -> StripeError {
        let redact = |text: String| text.replace(self.secret.expose_secret(), "***");
        match err {
            TransportError::Api { status, message } => {
                let message =
                    redact(message.unwrap_or_else(|| format!("Stripe answered HTTP {status}")));
                if status == 404 {
                    StripeError::NotFound { message }
                } else {
                    StripeError::Rejected { message }
                }
            }
            TransportError::Timeout | TransportError::Unreachable { .. } => {
                StripeError::Unavailable { source: err }
            }
            TransportError::Unexpected(text) => StripeError::Unexpected {
                source: TransportError::Unexpected(redact(text)),
            },
        }
    }
}

/// Counts and times a call by how it ended.
fn observe<T>(
    operation: &'static str,
    started: Instant,
    result: Result<T, StripeError>,
) -> Result<T, StripeError> {
    let label = match &result {
        Ok(_) => "ok",
        Err(e) if e.is_unavailable() => "unavailable",
        Err(_) => "refused",
    };
    crate::metrics::stripe_call(operation, label, started);
    result
}
