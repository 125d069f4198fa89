//! Reconciliation with Stripe (CONTRACT §8): Stripe keeps 30 days of events behind `GET /v1/events`, retries a
//! webhook for only 3 days, and cannot deliver at all to a misconfigured endpoint. Listing those events and storing
//! each through the webhook's own intake ([`crate::pipeline::inbox::Inbox`], `Nats-Msg-Id` = event id) recovers
//! what was missed; the pipeline then treats a recovered event exactly like a delivered one.
//!
//! `payments reconcile` runs it once by hand; [`background`] runs it every `RECONCILE_INTERVAL` on one replica
//! at a time ([`coordination`]: a lease and a checkpoint in JetStream KV).

pub mod background;
pub mod coordination;
mod error;
pub mod listing;
mod run;

pub use error::ReconcileError;
pub use run::{store_page, Summary};

/// The event types the service acts on, the `types[]` of every listing (Stripe allows at most 20). Events of
/// other types are neither needed nor listed: the webhook keeps whatever Stripe sends for audit.
pub use crate::payment::outcome::USED_EVENT_TYPES as EVENT_TYPES;

/// The span of `created` times to list, in Unix seconds, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub since: i64,
    pub until: Option<i64>,
}

/// Seconds since the Unix epoch of a `SystemTime` (0 before it).
pub fn unix(time: std::time::SystemTime) -> i64 {
    time.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
