//! The pipeline's backlog as gauges (CONTRACT §5): `payments_pipeline_pending`, the events stored and not yet
//! processed, and `payments_pipeline_oldest_pending_seconds`, how long the oldest of them has waited. A stuck
//! payment shows here first; the alert rules in `deploy/` watch them.

use std::time::{Duration, SystemTime};

use async_nats::jetstream::{self, consumer::pull};
use tokio_util::sync::CancellationToken;

use crate::{metrics, nats::streams::PIPELINE_CONSUMER};

const EVERY: Duration = Duration::from_secs(5);

/// Reads the shared consumer's state every few seconds until `shutdown`.
pub async fn watch(js: jetstream::Context, stream: String, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {
                if let Err(e) = measure(&js, &stream).await {
                    tracing::debug!(error = %e, "could not read the pipeline's backlog");
                }
            }
        }
    }
}

async fn measure(js: &jetstream::Context, name: &str) -> Result<(), async_nats::Error> {
    let stream = js.get_stream(name).await?;
    let mut consumer = stream
        .get_consumer::<pull::Config>(PIPELINE_CONSUMER)
        .await?;
    let info = consumer.info().await?;
    let pending = info.num_pending + info.num_ack_pending as u64;
    // The first event above the acknowledged floor is the oldest that may still be waiting.
    let oldest = match pending {
        0 => Duration::ZERO,
        _ => {
            let first = stream
                .get_raw_message(info.ack_floor.stream_sequence + 1)
                .await?;
            SystemTime::now()
                .duration_since(SystemTime::from(first.time))
                .unwrap_or_default()
        }
    };
    metrics::pipeline_backlog(pending, oldest);
    Ok(())
}
