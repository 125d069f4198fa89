#![forbid(unsafe_code)]

use clap::Parser;

#[tokio::main]
async fn main() {
    // Before parsing, so that options defaulting to environment variables see the .env file too.
    let _ = dotenvy::dotenv();
    let code = payments::cli::Cli::parse().run().await;
    std::process::exit(code);
}
