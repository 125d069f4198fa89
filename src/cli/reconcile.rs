//! `payments reconcile`: lists Stripe's events of a time range and stores the ones the service never received,
//! with the service's own configuration (environment and `.env`). Prints `listed N, already known N, recovered N`;
//! exits 1 with the reason when Stripe or NATS cannot be reached, 2 on a configuration problem.

use std::time::{Duration, SystemTime};

use async_nats::{connection::State, jetstream};

use crate::{
    config::Config,
    nats::{connection::Nats, streams},
    pipeline::inbox::Inbox,
    reconcile::{listing::Listing, store_page, unix, ReconcileError, Summary, Window},
};

pub async fn run(since: SystemTime, until: Option<SystemTime>) -> i32 {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("payments: {e}");
            return 2;
        }
    };
    if until.is_some_and(|until| until < since) {
        eprintln!("payments reconcile: --until is before --since");
        return 2;
    }
    let window = Window {
        since: unix(since),
        until: until.map(unix),
    };
    match reconcile(&config, window).await {
        Ok(summary) => {
            println!("{summary}");
            0
        }
        Err(e) => {
            eprintln!("payments reconcile: {e}");
            1
        }
    }
}

async fn reconcile(config: &Config, window: Window) -> Result<Summary, ReconcileError> {
    let nats = connect(config).await?;
    let js = jetstream::new(nats.client.clone());
    let stores = tokio::time::timeout(config.jetstream_timeout * 2, streams::ensure(&js, config))
        .await
        .map_err(|_| ReconcileError::NatsUnreachable(config.jetstream_timeout * 2))?
        .map_err(|e| {
            ReconcileError::Nats(crate::error::Unavailable::because("JetStream", e).into())
        })?;
    nats.set_stores(stores);
    let inbox = Inbox::new(nats.clone(), config.jetstream_timeout);
    let mut listing = Listing::new(config, window)?;
    let mut summary = Summary::default();
    while let Some(page) = listing.next_page().await? {
        store_page(&inbox, page, &mut summary).await?;
    }
    // Stores were acknowledged one by one; this only makes sure nothing else is left queued.
    let _ = tokio::time::timeout(Duration::from_secs(5), nats.client.flush()).await;
    Ok(summary)
}

/// Connects, failing after a few seconds rather than waiting for a NATS that is not there.
async fn connect(config: &Config) -> Result<Nats, ReconcileError> {
    let nats = Nats::connect(config)
        .await
        .map_err(|e| ReconcileError::Nats(crate::error::Error::unavailable(e)))?;
    let patience = config.jetstream_timeout.max(Duration::from_secs(3));
    let connected = async {
        while nats.client.connection_state() != State::Connected {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(patience, connected)
        .await
        .map_err(|_| ReconcileError::NatsUnreachable(patience))?;
    Ok(nats)
}
