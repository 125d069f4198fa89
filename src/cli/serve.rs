//! `payments serve`: runs the service until SIGTERM or SIGINT.

use tokio_util::sync::CancellationToken;

use crate::{app::Application, config::Config, telemetry};

pub async fn run() -> i32 {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("payments: {e}");
            return 2;
        }
    };
    let telemetry = match telemetry::init(config.log_format) {
        Ok(telemetry) => telemetry,
        Err(e) => {
            eprintln!("payments: {e}");
            return 2;
        }
    };
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "start-up failed");
            return 1;
        }
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let code = match app.run_until_stopped(shutdown).await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            1
        }
    };
    // After the service has drained: its last spans (the last requests, publications) are in the batch.
    telemetry.shutdown().await;
    code
}

/// SIGTERM (Kubernetes, docker stop) or SIGINT (Ctrl-C) starts the graceful shutdown.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
    tracing::info!("shutdown signal received");
    shutdown.cancel();
}
