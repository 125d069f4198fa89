//! Idempotency claims (CONTRACT §2): the first request under a caller's `Idempotency-Key` records its canonical
//! fingerprint in the `payment_idempotency` bucket with a KV *create* (it succeeds only while the key is new), so
//! of two requests racing under one key only one can claim it. The same request again passes (a retry); any other
//! request is a `409` before Stripe is called: nothing is created and nothing of the first session changes.
//! The claim also keeps the first request's `traceparent`, which goes into the session's Stripe metadata.

use async_nats::jetstream::kv::{CreateErrorKind, Store};
use sha2::{Digest, Sha256};

use crate::{error::Error, nats::connection::Nats};

/// Longest part of a caller's key repeated in a message: enough to recognise it, never a wall of text.
const SHOWN_KEY_CHARS: usize = 64;

/// Stripe's own limit for an idempotency key.
const MAX_KEY_CHARS: usize = 255;

/// A caller's key as Stripe takes it: 1 to 255 visible ASCII characters (it is sent to Stripe as a header).
pub fn validate(key: &str) -> Result<(), Error> {
    if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::Invalid(format!(
            "Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters"
        )));
    }
    Ok(())
}

/// Claims `key` for the request with `fingerprint`, or finds it already claimed by the same request. The claim
/// keeps the trace context of the request that made it (`traceparent`), and returns the one to send to Stripe:
/// that first request's, so every retry of a key sends Stripe the same metadata.
pub async fn claim(
    nats: &Nats,
    key: &str,
    fingerprint: &str,
    traceparent: Option<String>,
) -> Result<Option<String>, Error> {
    let store = &nats
        .stores()
        .ok_or_else(|| {
            Error::Unavailable(
                "NATS JetStream is not available to check the Idempotency-Key".into(),
            )
        })?
        .idempotency;
    // Any text a caller sends becomes a valid KV key of fixed length.
    let slot = hex::encode(Sha256::digest(key.as_bytes()));
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
                            _ => Err(conflict(key)),
                        }
                    }
                    None => continue,
                }
            }
            Err(e) => {
                return Err(Error::Unavailable(format!(
                    "checking the Idempotency-Key: {e}"
                )))
            }
        }
    }
    Err(Error::Unavailable(
        "checking the Idempotency-Key: its claim kept changing".into(),
    ))
}

/// A stored claim: `<fingerprint>[ <traceparent>]` (claims of earlier versions are the fingerprint alone).
fn parse(stored: &[u8]) -> Option<(&str, Option<String>)> {
    let text = std::str::from_utf8(stored).ok()?;
    Some(match text.split_once(' ') {
        Some((fingerprint, traceparent)) => (fingerprint, Some(traceparent.to_owned())),
        None => (text, None),
    })
}

async fn read(store: &Store, slot: &str) -> Result<Option<bytes::Bytes>, Error> {
    store
        .get(slot)
        .await
        .map_err(|e| Error::Unavailable(format!("checking the Idempotency-Key: {e}")))
}

/// The `409` for a key that belongs to another request.
pub fn conflict(key: &str) -> Error {
    let shown: String = key.chars().take(SHOWN_KEY_CHARS).collect();
    let more = if shown.len() < key.len() { "…" } else { "" };
    Error::Conflict(format!(
        "Idempotency-Key {shown}{more} was used for another request"
    ))
}
