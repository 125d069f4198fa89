//! `payments watch`: prints payment events as they are published, for a person trying the service locally.
//! Needs only NATS (`NATS_SERVERS` or `--servers`), not the service's Stripe settings.

use futures::StreamExt;

pub async fn run(servers: String, subject: String) -> i32 {
    // Waits for NATS rather than giving up: started beside a nats-server, it may come first.
    let connecting = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(servers.as_str());
    let client = match connecting.await {
        Ok(client) => client,
        Err(e) => {
            eprintln!("payments watch: cannot connect to {servers}: {e}");
            return 1;
        }
    };
    let mut messages = match client.subscribe(subject.clone()).await {
        Ok(sub) => sub,
        Err(e) => {
            eprintln!("payments watch: {e}");
            return 1;
        }
    };
    eprintln!("watching {subject} on {servers} (Ctrl-C to stop)");
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
