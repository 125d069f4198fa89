//! Signed callbacks to the caller (CONTRACT §7). A create request may name a callback URL; its target is kept in
//! the `payment_callbacks` bucket under a callback id that travels in Stripe's metadata, so any replica can find
//! it from any event. Each final outcome enqueues one delivery job in the `PAYMENT_CALLBACKS` work queue; the
//! `worker` sends it, signed per Standard Webhooks, and retries on the configured schedule.

pub mod client;
pub mod guard;
pub mod signing;
mod special;
pub mod worker;

use std::collections::BTreeMap;

use async_nats::{
    header::NATS_MESSAGE_ID,
    jetstream::{self, kv::CreateErrorKind},
    HeaderMap,
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{
    config::CallbackConfig,
    nats::{
        connection::Nats, idempotency::ClaimError, streams::CALLBACKS_SUBJECT,
        unavailable::Unavailable,
    },
    payment::{checkout::CallbackRequest, idempotency::IdempotencyKey},
};

/// Where and how to call back, stored when the session is created.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub url: String,
    pub method: String,
    pub order_id: String,
    pub session_id: String,
    pub metadata: BTreeMap<String, String>,
}

/// One callback to deliver: enqueued once per outcome, attempted until delivered or given up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub callback_id: String,
    /// `webhook-id`: the same on every attempt.
    pub webhook_id: String,
    /// `succeeded`, `failed`, `expired` or `refunded`.
    pub status: String,
    /// The trace context of the outcome's publication: each attempt continues that trace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub traceparent: Option<String>,
}

/// The callback body of CONTRACT §7.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Body<'a> {
    pub id: &'a str,
    pub order_id: &'a str,
    pub status: &'a str,
    pub metadata: &'a BTreeMap<String, String>,
}

/// `payment.callback.failed`, after the last attempt.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failed<'a> {
    pub id: &'a str,
    pub order_id: &'a str,
    pub url: &'a str,
    pub attempts: u32,
    /// The HTTP status of the last attempt; 0 when there was none (refused address, no connection, timeout).
    pub last_status: u16,
}

/// A callback target the service will not call: a `400` at create time.
#[derive(Debug, thiserror::Error)]
pub enum CallbackRefused {
    #[error("callback is not available: the service has no CALLBACK_SIGNING_SECRET")]
    NoSigningSecret,
    /// The address is not a public one (or cannot be resolved).
    #[error(transparent)]
    Address(#[from] guard::GuardError),
}

/// The create-time side of callbacks: checking a requested target, and saving it.
#[derive(Clone)]
pub struct Callbacks {
    config: CallbackConfig,
    nats: Nats,
}

impl Callbacks {
    pub fn new(config: CallbackConfig, nats: Nats) -> Self {
        Self { config, nats }
    }

    /// Refuses a callback the service cannot send: no signing secret, or a non-public address.
    pub async fn check(&self, request: &CallbackRequest) -> Result<(), CallbackRefused> {
        if self.config.signing_secret.is_none() {
            return Err(CallbackRefused::NoSigningSecret);
        }
        guard::resolve(&request.url, self.config.allow_private, self.config.timeout).await?;
        Ok(())
    }

    /// Keeps a session's target, once: a KV create, so no later request can move it. Finding it already kept
    /// for the same request (a retry) is fine; finding another target is the `409` of `idempotency_key`.
    /// A retry after Stripe's 24 h may get a new session: the first target, and its session id, stay.
    pub async fn save(
        &self,
        id: &str,
        target: &Target,
        idempotency_key: &IdempotencyKey,
    ) -> Result<(), ClaimError> {
        const KEEPING: &str = "keeping the callback";
        let stores = self.nats.stores().ok_or_else(|| {
            Unavailable::new("NATS JetStream is not available to keep the callback")
        })?;
        let value = serde_json::to_vec(target).expect("a target serialises");
        // Twice at most: a target that expired between our create and our read is simply kept again.
        for _ in 0..2 {
            match stores.callbacks.create(id, value.clone().into()).await {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() != CreateErrorKind::AlreadyExists => {
                    return Err(Unavailable::because(KEEPING, e).into())
                }
                Err(_) => {}
            }
            let kept = stores
                .callbacks
                .get(id)
                .await
                .map_err(|e| Unavailable::because(KEEPING, e))?;
            let Some(kept) = kept else {
                continue;
            };
            return match serde_json::from_slice::<Target>(&kept) {
                Ok(kept) if kept.same_request(target) => Ok(()),
                _ => Err(idempotency_key.conflict().into()),
            };
        }
        Err(Unavailable::new("keeping the callback: its target kept changing").into())
    }
}

impl Target {
    /// The same caller's request: everything but the session, which Stripe may have made anew after 24 h.
    fn same_request(&self, other: &Target) -> bool {
        (&self.url, &self.method, &self.order_id, &self.metadata)
            == (&other.url, &other.method, &other.order_id, &other.metadata)
    }
}

/// Enqueues the callback of one outcome (idempotent: `Nats-Msg-Id` is derived from the outcome id).
pub async fn enqueue(
    js: &jetstream::Context,
    callback_id: &str,
    outcome_id: &str,
    status: &str,
    traceparent: Option<String>,
) -> Result<(), Unavailable> {
    const ENQUEUING: &str = "enqueuing a callback";
    let job = Job {
        callback_id: callback_id.to_owned(),
        webhook_id: format!(
            "msg_{}",
            &hex::encode(Sha256::digest(outcome_id.as_bytes()))[..24]
        ),
        status: status.to_owned(),
        traceparent,
    };
    let mut headers = HeaderMap::new();
    headers.insert(NATS_MESSAGE_ID, format!("callback.{outcome_id}").as_str());
    let body = serde_json::to_vec(&job).expect("job serialises");
    js.publish_with_headers(CALLBACKS_SUBJECT, headers, body.into())
        .await
        .map_err(|e| Unavailable::because(ENQUEUING, e))?
        .await
        .map(|_| ())
        .map_err(|e| Unavailable::because(ENQUEUING, e))
}
