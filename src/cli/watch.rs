//! `payments watch`: prints payment events as they are published, for a person trying the service locally.
//! Needs only NATS (`NATS_SERVERS` or `--servers`), not the service's Stripe settings; exits 2 at once, naming
//! the servers and the cause, when NATS cannot be reached.

use futures::StreamExt;

use super::connect::{connect, UNREACHABLE};
use crate::{config::NatsAuth, nats::state_log::shown_servers};

pub async fn run(servers: String, subject: String) -> i32 {
    // A person waiting on a silent terminal cannot tell a NATS that is down from one with no payments.
    // (scripts/run.sh starts it once nats-server accepts connections.)
    let client = match connect(&servers, NatsAuth::None).await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("payments watch: {e}");
            return UNREACHABLE;
        }
    };
    let mut messages = match client.subscribe(subject.clone()).await {
        Ok(sub) => sub,
        Err(e) => {
            eprintln!("payments watch: {e}");
            return 1;
        }
    };
    eprintln!(
        "watching {subject} on {} (Ctrl-C to stop)",
        shown_servers(&servers)
    );
    while let Some(message) = messages.next().await {
        let event = message
            .headers
            .as_ref()
            .and_then(|h| h.get("Stripe-Event-Id"))
            .map(|v| v.to_string())
            .unwrap_or_default();
        println!(
            "{} {} {}",
            message.subject,
            event,
            String::from_utf8_lossy(&message.payload)
        );
    }
    0
}
