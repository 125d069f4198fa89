//! Ingestion first: during a burst of webhooks (a sale, renewals, Stripe retrying a backlog after an outage) the
//! pipeline steps back to a narrow lane, so that the CPU goes to storing events and answering Stripe, which is
//! what keeps Stripe from disabling the endpoint. Nothing waits less safely for it: the deferred events are already
//! durable in the events stream, and the pipeline returns to full width as soon as the burst eases.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    Arc,
};

use tokio::sync::{Semaphore, SemaphorePermit};

/// Webhooks being stored at once from which this replica counts as under a burst.
pub const BURST_AT: usize = 16;
/// Events the pipeline processes at once during a burst (it never stops: outcomes keep flowing).
pub const BURST_LANE: usize = 8;

#[derive(Clone)]
pub struct Pressure {
    inner: Arc<Inner>,
}

struct Inner {
    storing: AtomicUsize,
    lane: Semaphore,
}

impl Default for Pressure {
    fn default() -> Self {
        Pressure {
            inner: Arc::new(Inner {
                storing: AtomicUsize::new(0),
                lane: Semaphore::new(BURST_LANE),
            }),
        }
    }
}

/// Counts one webhook as being stored until dropped.
pub struct Storing(Arc<Inner>);

impl Drop for Storing {
    fn drop(&mut self) {
        self.0.storing.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Pressure {
    pub fn storing(&self) -> Storing {
        self.inner.storing.fetch_add(1, Ordering::AcqRel);
        Storing(self.inner.clone())
    }

    pub fn in_burst(&self) -> bool {
        self.inner.storing.load(Ordering::Acquire) >= BURST_AT
    }

    /// Waits for the pipeline's turn: at once outside a burst, otherwise for a place in the burst lane. Hold
    /// the returned permit, if any, while processing.
    pub async fn admit(&self) -> Option<SemaphorePermit<'_>> {
        if self.in_burst() {
            self.inner.lane.acquire().await.ok()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outside_a_burst_everything_is_admitted() {
        let pressure = Pressure::default();
        let _few: Vec<_> = (0..BURST_AT - 1).map(|_| pressure.storing()).collect();
        let admitted: Vec<_> = futures::future::join_all((0..64).map(|_| pressure.admit())).await;
        assert!(admitted.iter().all(Option::is_none));
    }

    #[tokio::test]
    async fn a_burst_narrows_the_pipeline_to_its_lane() {
        let pressure = Pressure::default();
        let burst: Vec<_> = (0..BURST_AT).map(|_| pressure.storing()).collect();
        let mut lane = Vec::new();
        for _ in 0..BURST_LANE {
            lane.push(pressure.admit().await.expect("a place in the lane"));
        }
        // The lane is full: the next event waits for a place.
        let waiting = pressure.admit();
        tokio::pin!(waiting);
        assert!(futures::poll!(waiting.as_mut()).is_pending());
        lane.pop();
        assert!(
            waiting.await.is_some(),
            "admitted to the lane when a place freed"
        );
        drop(burst);
        assert!(
            pressure.admit().await.is_none(),
            "full width once the burst is over"
        );
    }
}
