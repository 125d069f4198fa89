//! The background run: every `RECONCILE_INTERVAL`, one replica (the one that takes the lease) lists Stripe's events
//! created since the last checkpoint, minus [`OVERLAP`], or over `RECONCILE_LOOKBACK` the very first time, and
//! stores what is missing. The checkpoint's server timestamp tells every replica when the last run ended, so the
//! fleet runs about once per interval, not once per replica. Shutdown stops it at once: what was stored is
//! durable, and the next run lists the rest again.

use std::time::{Duration, SystemTime};

use async_nats::jetstream;
use stripe_wire::Backoff;
use tokio_util::sync::CancellationToken;

use super::{
    coordination::{Coordination, Lease, LEASE_TTL},
    listing::Listing,
    store_page, unix, ReconcileError, Summary, Window,
};
use crate::{config::Config, nats::connection::Nats, pipeline::inbox::Inbox};

/// How far before the checkpoint each run starts again: events become listable a little after their `created`,
/// and Stripe's clock is not ours.
pub const OVERLAP: Duration = Duration::from_secs(5 * 60);

enum Step {
    Ran(Summary),
    /// The last run (by any replica) is this recent: wait this long.
    NotDue(Duration),
    /// Another replica is running it.
    Busy,
    Stopped,
}

/// Runs until `shutdown`; returns at once when `RECONCILE_INTERVAL` is `off`.
pub async fn run(config: Config, nats: Nats, inbox: Inbox, shutdown: CancellationToken) {
    let Some(interval) = config.reconcile.interval else {
        tracing::info!("background reconciliation is off (RECONCILE_INTERVAL=off)");
        return;
    };
    // The pipeline creates the streams; storing events needs them.
    while !nats.is_ready() {
        if pause(&shutdown, Duration::from_millis(200)).await {
            return;
        }
    }
    let js = jetstream::new(nats.client.clone());
    let mut failures = 0u32;
    let coordination = loop {
        match Coordination::open(&js, &config).await {
            Ok(coordination) => break coordination,
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, "reconciliation bucket not ready; retrying");
                if pause(&shutdown, backoff(failures, interval)).await {
                    return;
                }
            }
        }
    };
    failures = 0;
    loop {
        let wait = match step(&config, interval, &coordination, &inbox, &shutdown).await {
            Ok(Step::Ran(summary)) => {
                failures = 0;
                tracing::info!(%summary, "reconciliation with Stripe done");
                continue;
            }
            Ok(Step::NotDue(wait)) => wait,
            Ok(Step::Busy) => interval.min(LEASE_TTL / 4),
            Ok(Step::Stopped) => return,
            Err(e) => {
                failures += 1;
                tracing::warn!(error = %e, failures, "reconciliation with Stripe failed; will retry");
                backoff(failures, interval)
            }
        };
        if pause(&shutdown, wait).await {
            return;
        }
    }
}

async fn step(
    config: &Config,
    interval: Duration,
    coordination: &Coordination,
    inbox: &Inbox,
    shutdown: &CancellationToken,
) -> Result<Step, ReconcileError> {
    let now = coordination.server_now().await?;
    let checkpoint = coordination.checkpoint().await?;
    if let Some(checkpoint) = checkpoint {
        crate::metrics::reconcile_last_success(checkpoint.written.unix_seconds());
        let age = now.since(checkpoint.written);
        if age < interval {
            return Ok(Step::NotDue(interval - age));
        }
    }
    let Some(mut lease) = coordination.try_acquire(now).await? else {
        return Ok(Step::Busy);
    };
    let until = unix(SystemTime::now());
    let since = match checkpoint {
        Some(checkpoint) => checkpoint.listed_until - OVERLAP.as_secs() as i64,
        None => until.saturating_sub(config.reconcile.lookback.as_secs() as i64),
    };
    let window = Window {
        since,
        until: Some(until),
    };
    let result = tokio::select! {
        _ = shutdown.cancelled() => None,
        result = run_once(config, window, coordination, &mut lease, inbox) => Some(result),
    };
    let Some(result) = result else {
        release(coordination, lease).await;
        return Ok(Step::Stopped);
    };
    crate::metrics::reconcile_run(result.is_ok());
    if result.is_ok() {
        crate::metrics::reconcile_last_success(unix(SystemTime::now()));
    }
    release(coordination, lease).await;
    result.map(Step::Ran)
}

async fn run_once(
    config: &Config,
    window: Window,
    coordination: &Coordination,
    lease: &mut Lease,
    inbox: &Inbox,
) -> Result<Summary, ReconcileError> {
    let mut listing = Listing::new(config, window)?;
    let mut summary = Summary::default();
    loop {
        coordination.keep(lease).await?;
        let Some(page) = listing.next_page().await? else {
            break;
        };
        store_page(inbox, page, &mut summary).await?;
    }
    let listed_until = window.until.unwrap_or(window.since);
    coordination.save_checkpoint(lease, listed_until).await?;
    Ok(summary)
}

async fn release(coordination: &Coordination, lease: Lease) {
    let _ = tokio::time::timeout(Duration::from_secs(2), coordination.release(lease)).await;
}

/// 5 s, 10 s, 20 s … 320 s after consecutive failures, never longer than the interval.
fn backoff(failures: u32, interval: Duration) -> Duration {
    const BACKOFF: Backoff = Backoff::new(Duration::from_secs(5), Duration::from_secs(320));
    BACKOFF.after(failures).min(interval)
}

/// Sleeps; whether shutdown came first.
async fn pause(shutdown: &CancellationToken, duration: Duration) -> bool {
    tokio::select! {
        _ = shutdown.cancelled() => true,
        _ = tokio::time::sleep(duration) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::backoff;
    use std::time::Duration;

    #[test]
    fn backoff_doubles_from_5_s_to_320_s_within_the_interval() {
        let hour = Duration::from_secs(3600);
        let pauses: Vec<u64> = (1..=9).map(|n| backoff(n, hour).as_secs()).collect();
        assert_eq!(pauses, [5, 10, 20, 40, 80, 160, 320, 320, 320]);
        assert_eq!(backoff(0, hour), Duration::from_secs(5));
        assert_eq!(backoff(6, Duration::from_secs(60)), Duration::from_secs(60));
    }
}
