//! One replica at a time, and where the last run stopped: the `payment_reconcile` key-value bucket holds
//! - `lease`: the id of the replica running now. Taken with `create` (or, once stale, `update` at the revision
//!   read), renewed with `update(revision)` during a run, deleted at its end;
//! - `checkpoint`: `{"listed_until": <unix>}`, written after each successful run; its entry's server timestamp
//!   says when that run ended;
//! - `clock`: written to learn the server's "now".
//!
//! Every age is a difference of two NATS server timestamps (an entry's and `clock`'s), never of two machines'
//! wall clocks, so a replica with a skewed clock neither steals a live lease nor runs too often.

use std::time::Duration;

use async_nats::jetstream::{
    self,
    kv::{self, Operation},
};
use bytes::Bytes;

use super::ReconcileError;
use crate::{
    config::Config,
    error::{BoxError, Unavailable},
};

pub const BUCKET: &str = "payment_reconcile";
const LEASE: &str = "lease";
const CHECKPOINT: &str = "checkpoint";
const CLOCK: &str = "clock";

/// A lease not renewed for this long belongs to a replica that died: another may take it.
pub const LEASE_TTL: Duration = Duration::from_secs(60);

/// The server's time, in nanoseconds since the epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ServerTime(i128);

impl ServerTime {
    fn of(entry: &kv::Entry) -> Self {
        ServerTime(entry.created.unix_timestamp_nanos())
    }

    /// How long after `earlier` this is (zero if it is not after it).
    pub fn since(self, earlier: ServerTime) -> Duration {
        let nanos = u64::try_from(self.0.saturating_sub(earlier.0)).unwrap_or(0);
        Duration::from_nanos(nanos)
    }

    pub fn unix_seconds(self) -> i64 {
        i64::try_from(self.0 / 1_000_000_000).unwrap_or(0)
    }
}

/// The last successful run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Every event created up to here (Unix seconds, Stripe's clock give or take) was listed.
    pub listed_until: i64,
    /// When it was written.
    pub written: ServerTime,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct CheckpointValue {
    listed_until: i64,
}

/// A held lease: renew it before its TTL runs out.
#[derive(Debug)]
pub struct Lease {
    revision: u64,
    renewed: tokio::time::Instant,
}

#[derive(Clone)]
pub struct Coordination {
    kv: kv::Store,
    owner: Bytes,
    ttl: Duration,
}

fn nats(e: impl Into<BoxError>) -> ReconcileError {
    ReconcileError::Nats(Unavailable::because(BUCKET, e).into())
}

impl Coordination {
    /// Creates the bucket when missing (any number of replicas may do so at once).
    pub async fn open(js: &jetstream::Context, config: &Config) -> Result<Self, ReconcileError> {
        // Like every bucket of the service: the configured replicas and byte limit, created concurrency-safely.
        let description =
            "Reconciliation with Stripe: the lease of the replica running it, its checkpoint";
        let want = crate::nats::streams::bucket(config, BUCKET, description);
        let deadline = std::time::Instant::now() + crate::nats::streams::SETUP_WITHIN;
        let kv = crate::nats::provision::bucket(js, want, deadline)
            .await
            .map_err(nats)?;
        Ok(Coordination {
            kv,
            owner: Bytes::from(uuid::Uuid::new_v4().to_string()),
            ttl: LEASE_TTL,
        })
    }

    /// Another lease TTL than [`LEASE_TTL`] (tests of stale leases).
    pub fn with_lease_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    /// The server's time now: the timestamp it gives a write.
    pub async fn server_now(&self) -> Result<ServerTime, ReconcileError> {
        self.kv.put(CLOCK, self.owner.clone()).await.map_err(nats)?;
        let entry = self.kv.entry(CLOCK).await.map_err(nats)?;
        entry
            .map(|e| ServerTime::of(&e))
            .ok_or_else(|| nats("the clock entry vanished"))
    }

    pub async fn checkpoint(&self) -> Result<Option<Checkpoint>, ReconcileError> {
        let Some(entry) = self.kv.entry(CHECKPOINT).await.map_err(nats)? else {
            return Ok(None);
        };
        if entry.operation != Operation::Put {
            return Ok(None);
        }
        // An unreadable checkpoint is treated as none: the run looks back RECONCILE_LOOKBACK, which is safe.
        Ok(serde_json::from_slice::<CheckpointValue>(&entry.value)
            .ok()
            .map(|v| Checkpoint {
                listed_until: v.listed_until,
                written: ServerTime::of(&entry),
            }))
    }

    /// Takes the lease if it is free or stale; `None` while another replica holds it.
    pub async fn try_acquire(&self, now: ServerTime) -> Result<Option<Lease>, ReconcileError> {
        let current = self.kv.entry(LEASE).await.map_err(nats)?;
        let revision = match current {
            Some(entry) if entry.operation == Operation::Put => {
                let stale = now.since(ServerTime::of(&entry)) > self.ttl;
                if entry.value != self.owner && !stale {
                    return Ok(None);
                }
                self.kv
                    .update(LEASE, self.owner.clone(), entry.revision)
                    .await
            }
            _ => self
                .kv
                .create(LEASE, self.owner.clone())
                .await
                .map_err(|e| match e.kind() {
                    kv::CreateErrorKind::AlreadyExists => {
                        kv::UpdateError::new(kv::UpdateErrorKind::WrongLastRevision)
                    }
                    _ => kv::UpdateError::with_source(kv::UpdateErrorKind::Other, e),
                }),
        };
        match revision {
            Ok(revision) => Ok(Some(Lease {
                revision,
                renewed: tokio::time::Instant::now(),
            })),
            // Another replica got there between our read and our write.
            Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => Ok(None),
            Err(e) => Err(nats(e)),
        }
    }

    /// Renews the lease when a third of its TTL has passed; fails if another replica took it meanwhile.
    pub async fn keep(&self, lease: &mut Lease) -> Result<(), ReconcileError> {
        if lease.renewed.elapsed() < self.ttl / 3 {
            return Ok(());
        }
        self.renew(lease).await
    }

    async fn renew(&self, lease: &mut Lease) -> Result<(), ReconcileError> {
        lease.revision = self
            .kv
            .update(LEASE, self.owner.clone(), lease.revision)
            .await
            .map_err(|e| match e.kind() {
                kv::UpdateErrorKind::WrongLastRevision => ReconcileError::LeaseLost,
                _ => nats(e),
            })?;
        lease.renewed = tokio::time::Instant::now();
        Ok(())
    }

    /// Records a completed run, while still holding the lease.
    pub async fn save_checkpoint(
        &self,
        lease: &mut Lease,
        listed_until: i64,
    ) -> Result<(), ReconcileError> {
        self.renew(lease).await?;
        let value = serde_json::to_vec(&CheckpointValue { listed_until }).unwrap_or_default();
        self.kv
            .put(CHECKPOINT, Bytes::from(value))
            .await
            .map_err(nats)?;
        Ok(())
    }

    /// Frees the lease at once (best effort: otherwise it goes stale after `LEASE_TTL`).
    pub async fn release(&self, lease: Lease) {
        if let Err(e) = self
            .kv
            .delete_expect_revision(LEASE, Some(lease.revision))
            .await
        {
            tracing::debug!(error = %e, "reconciliation lease not released");
        }
    }
}
