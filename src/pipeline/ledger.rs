//! The outcome ledger: a JetStream key-value bucket that says which outcomes were published, so one outcome is
//! published once even when a payment's several events are processed at the same moment by different workers
//! or replicas (JetStream's own `Nats-Msg-Id` de-duplication protects stream consumers; the ledger also keeps
//! core-NATS subscribers such as a NestJS `@EventPattern` from seeing copies).
//!
//! Protocol per outcome id: `create` a claim (atomic: one winner), publish, then mark it published. A claim left
//! by a worker that died is taken over once its lease has passed, with a revision check so only one takes it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};

use crate::error::Error;

const PUBLISHED: &[u8] = b"published";
const CLAIM_PREFIX: &str = "claimed:";

#[derive(Clone)]
pub struct Ledger {
    kv: kv::Store,
    lease: Duration,
}

/// The result of trying to claim an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This worker publishes it; pass the revision to [`Ledger::mark_published`].
    Owned(u64),
    AlreadyPublished,
    /// Another worker is publishing it right now: check again shortly.
    Busy,
}

impl Ledger {
    pub fn new(kv: kv::Store, lease: Duration) -> Self {
        Self { kv, lease }
    }

    pub async fn is_published(&self, id: &str) -> Result<bool, Error> {
        let entry = self.kv.entry(id).await.map_err(unavailable)?;
        Ok(entry.is_some_and(|e| e.operation == Operation::Put && e.value.as_ref() == PUBLISHED))
    }

    pub async fn claim(&self, id: &str) -> Result<Claim, Error> {
        match self.kv.create(id, claim_value()).await {
            Ok(revision) => return Ok(Claim::Owned(revision)),
            Err(e) if e.kind() == CreateErrorKind::AlreadyExists => {}
            Err(e) => return Err(unavailable(e)),
        }
        let Some(entry) = self.kv.entry(id).await.map_err(unavailable)? else {
            return Ok(Claim::Busy);
        };
        if entry.value.as_ref() == PUBLISHED {
            return Ok(Claim::AlreadyPublished);
        }
        if !self.is_stale(&entry.value) {
            return Ok(Claim::Busy);
        }
        tracing::warn!(
            outcome = id,
            "taking over a claim whose worker did not finish"
        );
        match self.kv.update(id, claim_value(), entry.revision).await {
            Ok(revision) => Ok(Claim::Owned(revision)),
            Err(_) => Ok(Claim::Busy),
        }
    }

    pub async fn mark_published(&self, id: &str, revision: u64) -> Result<(), Error> {
        self.kv
            .update(id, PUBLISHED.into(), revision)
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    fn is_stale(&self, value: &[u8]) -> bool {
        let claimed_at = std::str::from_utf8(value)
            .ok()
            .and_then(|v| v.strip_prefix(CLAIM_PREFIX))
            .and_then(|ms| ms.parse::<u128>().ok())
            .unwrap_or(0);
        now_ms().saturating_sub(claimed_at) > self.lease.as_millis()
    }
}

fn claim_value() -> bytes::Bytes {
    format!("{CLAIM_PREFIX}{}", now_ms()).into()
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis()
}

fn unavailable(e: impl std::fmt::Display) -> Error {
    Error::Unavailable(format!("outcome ledger: {e}"))
}
