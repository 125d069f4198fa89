//! `stripe-standin`: serves the Stripe stand-in on `$HOST:$PORT` (default `127.0.0.1:12111`; a container sets
//! `HOST=0.0.0.0`) until SIGINT or SIGTERM. With `API_KEY` set, only that Bearer key is accepted.
#![forbid(unsafe_code)]

use std::net::{IpAddr, SocketAddr};

use stripe_standin::StandIn;

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    match std::env::var(name) {
        Ok(value) if !value.is_empty() => value.parse().unwrap_or_else(|_| {
            eprintln!("stripe-standin: {name} is invalid: {value:?}");
            std::process::exit(2)
        }),
        _ => default,
    }
}

#[tokio::main]
async fn main() {
    let host: IpAddr = env_or("HOST", IpAddr::from([127, 0, 0, 1]));
    let port: u16 = env_or("PORT", 12111);
    let api_key = std::env::var("API_KEY").ok().filter(|k| !k.is_empty());
    let keyed = api_key.is_some();
    let standin = StandIn::bind(SocketAddr::new(host, port), api_key).await;
    println!("{}", standin.base_url());
    if keyed {
        eprintln!("stripe-standin: accepting only the key in API_KEY");
    }
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    drop(standin);
}
