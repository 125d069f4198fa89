//! `stripe-standin`: serves the Stripe stand-in on `127.0.0.1:$PORT` (default 12111) until Ctrl-C. With `API_KEY`
//! set, only that Bearer key is accepted.
#![forbid(unsafe_code)]

use std::net::SocketAddr;

use stripe_standin::StandIn;

#[tokio::main]
async fn main() {
    let port = match std::env::var("PORT") {
        Ok(port) => port.parse::<u16>().unwrap_or_else(|_| {
            eprintln!("stripe-standin: PORT must be a port number, got {port:?}");
            std::process::exit(2)
        }),
        Err(_) => 12111,
    };
    let api_key = std::env::var("API_KEY").ok().filter(|k| !k.is_empty());
    let keyed = api_key.is_some();
    let standin = StandIn::bind(SocketAddr::from(([127, 0, 0, 1], port)), api_key).await;
    println!("{}", standin.base_url());
    if keyed {
        eprintln!("stripe-standin: accepting only the key in API_KEY");
    }
    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("stripe-standin: cannot wait for Ctrl-C: {e}");
    }
    drop(standin);
}
