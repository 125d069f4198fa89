//! One page of listed events through the webhook's intake, stored concurrently; what JetStream already had is
//! "known", the rest "recovered".

use futures::{stream, StreamExt, TryStreamExt};

use super::{listing::Listed, ReconcileError};
use crate::pipeline::inbox::{Inbox, Source, Stored};

/// Stores in flight at once: enough to hide the JetStream round trip, few enough to leave the webhook alone.
const IN_FLIGHT: usize = 32;

/// What a reconciliation found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub listed: u64,
    /// Already in the events stream: JetStream answered "duplicate" for the event id (within `DEDUP_WINDOW`).
    pub known: u64,
    /// Not there before: stored now, and processed by the pipeline like a webhook delivery.
    pub recovered: u64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "listed {}, already known {}, recovered {}",
            self.listed, self.known, self.recovered
        )
    }
}

/// Stores every event of a page (marked `Payments-Source: reconcile`) and adds the outcome to `summary`. Fails on
/// the first event that cannot be stored: what was stored stays stored, and a later run lists the rest again.
pub async fn store_page(
    inbox: &Inbox,
    events: Vec<Listed>,
    summary: &mut Summary,
) -> Result<(), ReconcileError> {
    let stored: Vec<(Stored, String)> = stream::iter(events)
        .map(|event| async move {
            let stored = inbox
                .store_from(&event.head, event.body, Source::Reconcile)
                .await
                .map_err(ReconcileError::Nats)?;
            Ok::<_, ReconcileError>((stored, event.head.id))
        })
        .buffer_unordered(IN_FLIGHT)
        .try_collect()
        .await?;
    for (stored, id) in stored {
        summary.listed += 1;
        let recovered = stored == Stored::New;
        if recovered {
            summary.recovered += 1;
            tracing::info!(event_id = %id, "missed event recovered from Stripe's list");
        } else {
            summary.known += 1;
        }
        crate::metrics::reconcile_event(recovered);
    }
    Ok(())
}
