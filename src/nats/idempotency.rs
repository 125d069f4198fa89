//! Idempotency claims (CONTRACT §2) in the `payment_idempotency` bucket: the first request under a key records
//! its canonical fingerprint with a KV *create* (it succeeds only while the key is new), so of two requests racing
//! under one key only one can claim it. The same request again passes (a retry); any other request is a
//! [`Conflict`], before Stripe is called: nothing is created and nothing of the first session changes.

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

/// Claims `key` for the request with `fingerprint`, or finds it already claimed by the same request.
pub async fn claim(nats: &Nats, key: &IdempotencyKey, fingerprint: &str) -> Result<(), ClaimError> {
    let store = &nats
        .stores()
        .ok_or_else(|| {
            Unavailable::new("NATS JetStream is not available to check the Idempotency-Key")
        })?
        .idempotency;
    // Any text a caller sends becomes a valid KV key of fixed length.
    let slot = hex::encode(Sha256::digest(key.as_str().as_bytes()));
    // Twice at most: a claim that expired between our create and our read is simply claimed again.
    for _ in 0..2 {
        match store.create(&slot, fingerprint.to_owned().into()).await {
            Ok(_) => return Ok(()),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {
                match read(store, &slot).await? {
                    Some(stored) if stored == fingerprint.as_bytes() => return Ok(()),
                    Some(_) => return Err(key.conflict().into()),
                    None => continue,
                }
            }
            Err(e) => return Err(Unavailable::because(CHECKING, e).into()),
        }
    }
    Err(Unavailable::new("checking the Idempotency-Key: its claim kept changing").into())
}

async fn read(store: &Store, slot: &str) -> Result<Option<bytes::Bytes>, Unavailable> {
    store
        .get(slot)
        .await
        .map_err(|e| Unavailable::because(CHECKING, e))
}
