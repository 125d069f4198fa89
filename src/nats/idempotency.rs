//! Idempotency claims (CONTRACT §2) in the `payment_idempotency` bucket: the first request under a key records
//! its canonical fingerprint with a KV *create* (it succeeds only while the key is new), so of two requests racing
//! under one key only one can claim it. The same request again passes (a retry); any other request is a
//! [`Conflict`], before Stripe is called: nothing is created and nothing of the first session changes.
//! The claim also keeps the first request's `traceparent`, which goes into the session's Stripe metadata.

use async_nats::jetstream::kv::{CreateErrorKind, Store};
use sha2::{Digest, Sha256};

use super::{connection::Nats, unavailable::Unavailable};
use crate::payment::idempotency::{Conflict, IdempotencyKey};

const CHECKING: &str = "checking the Idempotency-Key";

/// Why a key (or a callback target kept under it) could not be claimed.
#[derive(Debug, thiserror::Error)]
pub enum ClaimError {
    #[error(transparent)]
    Conflict(#[from] Conflict),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// Claims `key` for the request with `fingerprint`, or finds it already claimed by the same request. The claim
/// keeps the trace context of the request that made it (`traceparent`), and returns the one to send to Stripe:
/// that first request's, so every retry of a key sends Stripe the same metadata (Stripe refuses a key reused with
/// other parameters).
pub async fn claim(
    nats: &Nats,
    key: &IdempotencyKey,
    fingerprint: &str,
    traceparent: Option<String>,
) -> Result<Option<String>, ClaimError> {
    let store = &nats
        .stores()
        .ok_or_else(|| {
            Unavailable::new("NATS JetStream is not available to check the Idempotency-Key")
        })?
        .idempotency;
    // Any text a caller sends becomes a valid KV key of fixed length.
    let slot = hex::encode(Sha256::digest(key.as_str().as_bytes()));
    let value = match &traceparent {
        Some(traceparent) => format!("{fingerprint} {traceparent}"),
        None => fingerprint.to_owned(),
    };
    // Twice at most: a claim that expired between our create and our read is simply claimed again.
    for _ in 0..2 {
        match store.create(&slot, value.clone().into()).await {
            Ok(_) => return Ok(traceparent),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                match read(store, &slot).await? {
                    Some(stored) => {
                        return match parse(&stored) {
                            Some((claimed, first)) if claimed == fingerprint => Ok(first),
                            _ => Err(key.conflict().into()),
                        }
                    }
                    None => continue,
                }
            }
            Err(e) => return Err(Unavailable::because(CHECKING, e).into()),
        }
    }
    Err(Unavailable::new("checking the Idempotency-Key: its claim kept changing").into())
}

/// A stored claim: `<fingerprint>[ <traceparent>]` (claims of earlier versions are the fingerprint alone).
fn parse(stored: &[u8]) -> Option<(&str, Option<String>)> {
    let text = std::str::from_utf8(stored).ok()?;
    Some(match text.split_once(' ') {
        Some((fingerprint, traceparent)) => (fingerprint, Some(traceparent.to_owned())),
        None => (text, None),
    })
}

async fn read(store: &Store, slot: &str) -> Result<Option<bytes::Bytes>, Unavailable> {
    store
        .get(slot)
        .await
        .map_err(|e| Unavailable::because(CHECKING, e))
}
