#![forbid(unsafe_code)]

use clap::Parser;

/// mimalloc instead of glibc's malloc: the webhook path allocates per request (headers, body, JSON), and glibc's
/// malloc/free were ~15 % of the service's CPU under load; mimalloc measured +8–10 % webhooks/s (bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    // Before parsing, so that options defaulting to environment variables see the .env file too.
    let _ = dotenvy::dotenv();
    let code = payments::cli::Cli::parse().run().await;
    std::process::exit(code);
}
