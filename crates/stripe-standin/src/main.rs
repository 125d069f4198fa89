//! `stripe-standin`: serves the Stripe stand-in and Checkout emulator on `$HOST:$PORT` (default `127.0.0.1:12111`;
//! a container sets `HOST=0.0.0.0`) until SIGINT or SIGTERM, logging each webhook delivery attempt to stderr.
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `HOST`, `PORT` | bind address | `127.0.0.1`, `12111` |
//! | `API_KEY` | the only Bearer key accepted | any `sk_…`/`rk_…` |
//! | `WEBHOOK_URL` | where events are POSTed, e.g. `http://localhost:3000/payments/webhook` | none: events are only recorded |
//! | `WEBHOOK_SECRET` | the `whsec_…` secret events are signed with | random, printed at start |
//! | `PUBLIC_URL` | base of the hosted page URLs, when clients reach the stand-in elsewhere than `HOST:PORT` | `http://HOST:PORT` |
//! | `SETTLE_DELAY` | how long delayed payment methods take to succeed or fail (`2s`, `500ms`, `1m30s`, `0`) | `2s` |
//! | `WITHHOLD_DELIVERIES` | `true`: record and list events, deliver none (a broken endpoint) | `false` |
#![forbid(unsafe_code)]

use std::net::{IpAddr, SocketAddr};

use stripe_standin::StandIn;

fn invalid(name: &str, value: &str) -> ! {
    eprintln!("stripe-standin: {name} is invalid: {value:?}");
    std::process::exit(2)
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match var(name) {
        Some(value) => value
            .trim()
            .parse()
            .unwrap_or_else(|_| invalid(name, &value)),
        None => default,
    }
}

#[tokio::main]
async fn main() {
    let host: IpAddr = env_or("HOST", IpAddr::from([127, 0, 0, 1]));
    let port: u16 = env_or("PORT", 12111);
    let mut builder = StandIn::builder()
        .addr(SocketAddr::new(host, port))
        .log_deliveries(true);
    builder.api_key = var("API_KEY");
    builder.webhook_url = var("WEBHOOK_URL");
    builder.webhook_secret = var("WEBHOOK_SECRET");
    builder.public_url = var("PUBLIC_URL");
    if let Some(raw) = var("SETTLE_DELAY") {
        builder.settle_delay =
            humantime::parse_duration(raw.trim()).unwrap_or_else(|_| invalid("SETTLE_DELAY", &raw));
    }
    if let Some(raw) = var("WITHHOLD_DELIVERIES") {
        builder.withhold_deliveries = match raw.trim() {
            "true" | "1" => true,
            "false" | "0" => false,
            _ => invalid("WITHHOLD_DELIVERIES", &raw),
        };
    }
    if let Some(url) = &builder.webhook_url {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            invalid("WEBHOOK_URL", url);
        }
    }
    let keyed = builder.api_key.is_some();
    let secret_given = builder.webhook_secret.is_some();
    let webhook_url = builder.webhook_url.clone();
    let standin = builder.start().await;
    println!("{}", standin.base_url());
    if keyed {
        eprintln!("stripe-standin: accepting only the key in API_KEY");
    }
    eprintln!(
        "stripe-standin: hosted Checkout pages at {}/checkout/{{id}}",
        standin.public_url()
    );
    match webhook_url {
        Some(url) if secret_given => eprintln!("stripe-standin: forwarding events to {url}"),
        Some(url) => eprintln!(
            "stripe-standin: forwarding events to {url}; your webhook signing secret is {}",
            standin.webhook_secret()
        ),
        None => eprintln!("stripe-standin: no WEBHOOK_URL: events are recorded, not delivered"),
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    drop(standin);
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    /// The forms the table above promises for `SETTLE_DELAY`.
    #[test]
    fn settle_delay_takes_the_documented_forms() {
        let parse = |raw: &str| humantime::parse_duration(raw).ok();
        assert_eq!(parse("2s"), Some(Duration::from_secs(2)));
        assert_eq!(parse("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse("1m30s"), Some(Duration::from_secs(90)));
        assert_eq!(parse("0"), Some(Duration::ZERO));
        assert_eq!(parse("2"), None);
        assert_eq!(parse("s"), None);
    }
}
