//! The command line: `payments serve` (the default) runs the service.

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::{app::Application, config::Config, telemetry};

#[derive(Parser)]
#[command(
    name = "payments",
    version,
    about = "Stripe Checkout and webhooks → NATS JetStream"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (configured by environment variables and .env; see the README).
    Serve,
    /// Exit 0 if the local service answers `GET /health` (for container health checks: images carry no curl).
    Healthcheck {
        /// The port to probe; defaults to `PORT` (or 3000).
        #[arg(long, env = "PORT", default_value_t = 3000)]
        port: u16,
    },
}

impl Cli {
    /// Runs the chosen command and returns the process exit code.
    pub async fn run(self) -> i32 {
        match self.command.unwrap_or(Command::Serve) {
            Command::Serve => serve().await,
            Command::Healthcheck { port } => healthcheck(port).await,
        }
    }
}

async fn serve() -> i32 {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("payments: {e}");
            return 2;
        }
    };
    telemetry::init(config.log_format);
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(e) => {
            tracing::error!(error = %e, "start-up failed");
            return 1;
        }
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    match app.run_until_stopped(shutdown).await {
        Ok(()) => 0,
        Err(e) => {
            tracing::error!(error = %e, "server failed");
            1
        }
    }
}

/// A bare HTTP/1.1 GET over loopback: no client library needed for one request.
async fn healthcheck(port: u16) -> i32 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let probe = async {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port)).await?;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            .await?;
        let mut head = [0u8; 12];
        stream.read_exact(&mut head).await?;
        Ok::<_, std::io::Error>(head.starts_with(b"HTTP/1.1 200"))
    };
    match tokio::time::timeout(std::time::Duration::from_secs(3), probe).await {
        Ok(Ok(true)) => 0,
        _ => 1,
    }
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
