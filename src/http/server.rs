//! The HTTP/1.1 accept loop (CONTRACT §6, §9): what `axum::serve` did, plus the bounds a public endpoint needs.
//!
//! - at most `HTTP_MAX_CONNECTIONS` connections are served at once: a permit is taken *before* `accept`, so the
//!   next connection waits in the kernel's backlog (not in our memory) until one closes;
//! - the request head must arrive within `HTTP_HEADER_TIMEOUT` (hyper's own header read timeout; it also runs
//!   while a kept-alive connection waits for its next request, so idle and half-open connections are closed);
//! - the body deadline is enforced where bodies are read (`body.rs`);
//! - on shutdown, hyper-util's `GracefulShutdown` lets in-flight requests finish and closes idle connections; at
//!   the deadline whatever remains (a head trickling in, a stuck client) is dropped, never waited for.

use std::{sync::Arc, time::Duration};

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::{
    rt::{TokioIo, TokioTimer},
    server::graceful::GracefulShutdown,
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore, time::Instant};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

/// Largest buffer hyper keeps per connection (request head included; larger heads get 431). hyper's default,
/// ~400 KiB, times `HTTP_MAX_CONNECTIONS` would allow gigabytes; our requests' heads are well under 64 KiB.
const MAX_BUF_SIZE: usize = 64 * 1024;

/// Pause after a failed `accept` (typically EMFILE: out of file descriptors) so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The connection bounds (from `Config`).
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub header_timeout: Duration,
    pub max_connections: usize,
}

/// Serves `router` on `listener` until `shutdown` fires, then lets connections drain for `grace` and drops the
/// ones still open. Returns the drain deadline, so the rest of the shutdown can share the same grace period.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
    grace: Duration,
) -> Instant {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let connections = TaskTracker::new();
    let force_close = CancellationToken::new();
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_BUF_SIZE);

    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break, // never closed
            },
        };
        let (stream, _) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
        };
        // Responses are written in one go; without this, Nagle delays the last segment of some of them.
        let _ = stream.set_nodelay(true);
        let connection = builder.serve_connection(
            TokioIo::new(stream),
            TowerToHyperService::new(router.clone()),
        );
        let connection = graceful.watch(connection);
        let force_close = force_close.clone();
        connections.spawn(async move {
            tokio::select! {
                // A header timeout, a reset or a broken client all end here; nothing to report per connection.
                result = connection => if let Err(e) = result {
                    tracing::debug!(error = %e, "connection ended with an error");
                },
                _ = force_close.cancelled() => {}
            }
            drop(permit);
        });
    }
    // Stop listening at once: new connections are refused rather than left in the backlog.
    drop(listener);
    connections.close();
    let deadline = Instant::now() + grace;
    if tokio::time::timeout_at(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            open = connections.len(),
            "shutdown deadline reached: closing the HTTP connections still open"
        );
        force_close.cancel();
    }
    connections.wait().await;
    deadline
}
