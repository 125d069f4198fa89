//! The application: `Application::build(config)` wires everything (tests use it too) and
//! `run_until_stopped` serves until the shutdown token fires, then drains in a designed order:
//! stop taking work (HTTP listener, NATS subscriptions, pipeline pulls) → finish what is in flight → flush NATS.

use std::{net::SocketAddr, time::Duration};

use async_nats::jetstream;
use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

use crate::{
    callback::{worker::Worker, Callbacks},
    config::Config,
    http::{self, AppState, Shared},
    nats::{connection::Nats, create_session, streams},
    payment::checkout::Checkout,
    pipeline::{inbox::Inbox, processor::Processor},
    stripe::{client::StripeApi, signature::Verifier},
};

/// The last step of shutdown; with the grace period it makes the contract's bound (grace + 5 s), with a margin.
const NATS_FLUSH_TIMEOUT: Duration = Duration::from_secs(4);

pub struct Application {
    config: Config,
    listener: TcpListener,
    state: AppState,
}

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Setup(String),
}

impl Application {
    /// Binds the HTTP port and starts connecting to NATS (in the background: the service is live at once).
    pub async fn build(config: Config) -> Result<Self, StartupError> {
        let addr = SocketAddr::new(config.host, config.port);
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| StartupError::Bind { addr, source })?;
        crate::metrics::handle();
        let nats = Nats::connect(&config).await.map_err(StartupError::Setup)?;
        let stripe = StripeApi::new(&config).map_err(|e| StartupError::Setup(e.to_string()))?;
        let secrets = config
            .stripe_endpoint_secrets
            .iter()
            .map(|s| s.expose_secret());
        let callbacks = Callbacks::new(config.callbacks.clone(), nats.clone());
        let state = AppState::new(Shared {
            checkout: Checkout {
                stripe,
                callbacks,
                nats: nats.clone(),
            },
            inbox: Inbox::new(nats.clone(), config.jetstream_timeout),
            verifier: Verifier::new(secrets, config.webhook_tolerance),
            nats,
            body_limit: config.body_limit,
            body_timeout: config.http_body_timeout,
        });
        Ok(Self {
            config,
            listener,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.listener.local_addr().map(|a| a.port()).unwrap_or(0)
    }

    pub async fn run_until_stopped(
        self,
        shutdown: CancellationToken,
    ) -> Result<(), std::io::Error> {
        let Application {
            config,
            listener,
            state,
        } = self;
        let tracker = TaskTracker::new();
        let client = state.nats.client.clone();

        tracker.spawn(serve_nats(
            client.clone(),
            state.checkout.clone(),
            shutdown.clone(),
            tracker.clone(),
        ));
        tracker.spawn(crate::metrics::upkeep(shutdown.clone()));
        tracker.spawn(crate::reconcile::background::run(
            config.clone(),
            state.nats.clone(),
            state.inbox.clone(),
            shutdown.clone(),
        ));
        tracker.spawn(run_pipeline(
            config.clone(),
            state.clone(),
            shutdown.clone(),
        ));

        tracing::info!(addr = %listener.local_addr()?, "payments service listening");
        let limits = http::server::Limits {
            header_timeout: config.http_header_timeout,
            max_connections: config.http_max_connections,
        };
        // Stops accepting on shutdown, lets in-flight requests finish within the grace period, then closes
        // whatever connections remain (CONTRACT §6: slow or half-open clients never hold the process).
        let deadline = http::server::serve(
            listener,
            http::router(state),
            limits,
            shutdown.clone(),
            config.shutdown_grace,
        )
        .await;

        // NATS requests and the pipeline drained in parallel with HTTP: they get the same deadline, not another.
        tracker.close();
        if tokio::time::timeout_at(deadline, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("shutdown grace period over with work still in flight");
        }
        // `publish` only queues: flush (a round trip to the server) so the last replies and acknowledgements
        // are written before the process exits, then drain the subscriptions. Bounded so that the whole shutdown
        // stays within SHUTDOWN_GRACE + 5 s.
        let flushed = tokio::time::timeout(NATS_FLUSH_TIMEOUT, async {
            client.flush().await.map_err(|e| e.to_string())?;
            client.drain().await.map_err(|e| e.to_string())
        });
        match flushed.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "NATS flush failed at shutdown"),
            Err(_) => tracing::warn!("NATS flush timed out at shutdown"),
        }
        tracing::info!("payments service stopped");
        Ok(())
    }
}

async fn serve_nats(
    client: async_nats::Client,
    checkout: Checkout,
    shutdown: CancellationToken,
    tracker: TaskTracker,
) {
    if let Err(e) = create_session::serve(client, checkout, shutdown, tracker).await {
        tracing::error!(error = %e, "NATS service stopped");
    }
}

/// Sets up streams (retrying while NATS is unreachable or the cluster is forming), then runs the processor until
/// shutdown. Set-up stops at once when shutdown begins: nothing is retried, or reported as failed, after SIGTERM.
async fn run_pipeline(config: Config, state: AppState, shutdown: CancellationToken) {
    let js = jetstream::new(state.nats.client.clone());
    let mut attempt = 0;
    let stores = loop {
        let result = tokio::select! {
            biased;
            _ = shutdown.cancelled() => return,
            result = streams::ensure(&js, &config) => result,
        };
        match result {
            Ok(stores) => break stores,
            Err(e) if !shutdown.is_cancelled() => {
                attempt += 1;
                tracing::warn!(error = %e, attempt, "JetStream set-up failed; retrying");
                let pause =
                    crate::pipeline::processor::backoff(attempt).min(Duration::from_secs(5));
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(pause) => {}
                }
            }
            Err(_) => return,
        }
    };
    state.nats.set_stores(stores.clone());
    tracing::info!("JetStream streams ready");
    let processor = Processor::new(
        &config,
        js.clone(),
        stores.ledger,
        state.checkout.stripe.clone(),
        state.inbox.pressure(),
    );
    let worker = Worker {
        js,
        targets: stores.callbacks,
        config: config.callbacks.clone(),
    };
    tokio::join!(
        crate::pipeline::backlog::watch(
            processor.js.clone(),
            config.events_stream.clone(),
            shutdown.clone()
        ),
        processor.run(config.events_stream.clone(), shutdown.clone()),
        worker.run(shutdown)
    );
}
