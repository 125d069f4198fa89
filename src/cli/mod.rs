//! The command line: `payments serve` (the default) runs the service; the other subcommands help operate it.

use std::time::SystemTime;

use clap::{Parser, Subcommand};

mod healthcheck;
mod reconcile;
mod replay;
mod serve;
#[cfg(feature = "dev-tools")]
mod trigger;
mod watch;

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
        #[arg(long, env = "PORT", hide_env_values = true, default_value_t = 3000)]
        port: u16,
    },
    /// Re-process stored Stripe events (the audit trail) by id or time range. Outcomes already published are
    /// not published again, unless --force.
    Replay {
        /// An event id (evt_…); repeat for several.
        #[arg(long = "event", value_name = "EVENT_ID")]
        events: Vec<String>,
        /// Events stored at or after this time: RFC 3339 (2026-11-20T10:00:00Z) or an age (2h, 3d).
        #[arg(long, value_parser = parse_time)]
        since: Option<SystemTime>,
        /// Events stored up to this time: RFC 3339 or an age.
        #[arg(long, value_parser = parse_time)]
        until: Option<SystemTime>,
        /// Publish each outcome again under a new outcome id (consumers see it again).
        #[arg(long)]
        force: bool,
    },
    /// Ask Stripe for the events of a time range and store those the service never received (missed webhooks).
    /// Prints `listed N, already known N, recovered N`.
    Reconcile {
        /// Events created at or after this time: RFC 3339 (2026-11-20T10:00:00Z) or an age (6h, 3d).
        #[arg(long, value_parser = parse_time)]
        since: SystemTime,
        /// Events created up to this time: RFC 3339 or an age. Default: now.
        #[arg(long, value_parser = parse_time)]
        until: Option<SystemTime>,
    },
    /// Build a realistic Stripe event, sign it, and post it to the webhook (like `stripe trigger`, offline).
    /// A developer tool: only in builds with the `dev-tools` feature (the default; not the Docker image).
    #[cfg(feature = "dev-tools")]
    Trigger {
        /// checkout.session.completed, checkout.session.async_payment_succeeded|failed, checkout.session.expired,
        /// payment_intent.succeeded|payment_failed, charge.succeeded|failed|refunded or
        /// charge.dispute.created|closed.
        event_type: String,
        /// The order id put in the event's metadata (a new UUID by default).
        #[arg(long)]
        order_id: Option<String>,
        /// The webhook to post to.
        #[arg(long, default_value_t = default_webhook_url())]
        url: String,
        /// The signing secret; defaults to the first of STRIPE_ENDPOINT_SECRET.
        #[arg(long)]
        secret: Option<String>,
        /// The Checkout emulator to register the event's objects with; defaults to STRIPE_API_BASE.
        #[arg(long, env = "STRIPE_API_BASE", hide_env_values = true)]
        api: Option<String>,
    },
    /// Print payment events from NATS as they are published (subject `payment.>` by default).
    Watch {
        #[arg(long, default_value = "payment.>")]
        subject: String,
        /// NATS URLs, comma-separated.
        // clap's `env` prints the variable's current value in --help: a server URL may carry credentials.
        #[arg(
            long,
            env = "NATS_SERVERS",
            hide_env_values = true,
            default_value = "nats://localhost:4222"
        )]
        servers: String,
    },
}

#[cfg(feature = "dev-tools")]
fn default_webhook_url() -> String {
    let port = std::env::var("PORT").unwrap_or_else(|_| "3000".into());
    format!("http://localhost:{port}/payments/webhook")
}

/// RFC 3339, or a duration meaning that long ago.
fn parse_time(text: &str) -> Result<SystemTime, String> {
    if let Ok(time) = humantime::parse_rfc3339_weak(text) {
        return Ok(time);
    }
    let age = humantime::parse_duration(text)
        .map_err(|_| format!("{text:?} is neither an RFC 3339 time nor a duration such as 2h"))?;
    SystemTime::now()
        .checked_sub(age)
        .ok_or_else(|| "too far back".to_owned())
}

impl Cli {
    /// Runs the chosen command and returns the process exit code.
    pub async fn run(self) -> i32 {
        match self.command.unwrap_or(Command::Serve) {
            Command::Serve => serve::run().await,
            Command::Healthcheck { port } => healthcheck::run(port).await,
            Command::Replay {
                events,
                since,
                until,
                force,
            } => {
                let selection = crate::pipeline::replay::Selection {
                    event_ids: events.into_iter().collect(),
                    since,
                    until,
                };
                replay::run(selection, force).await
            }
            Command::Reconcile { since, until } => reconcile::run(since, until).await,
            Command::Watch { subject, servers } => watch::run(servers, subject).await,
            #[cfg(feature = "dev-tools")]
            Command::Trigger {
                event_type,
                order_id,
                url,
                secret,
                api,
            } => {
                trigger::run(trigger::Trigger {
                    event_type,
                    order_id,
                    url,
                    secret,
                    api,
                })
                .await
            }
        }
    }
}
