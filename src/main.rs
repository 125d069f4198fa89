#![forbid(unsafe_code)]

use clap::Parser;

#[tokio::main]
async fn main() {
    let code = payments::cli::Cli::parse().run().await;
    std::process::exit(code);
}
