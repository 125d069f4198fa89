#![forbid(unsafe_code)]

use clap::Parser;

/// mimalloc instead of glibc's malloc: the webhook path allocates per request (headers, body, JSON), and glibc's
/// malloc/free were ~15 % of the service's CPU under load; mimalloc measured +8–10 % webhooks/s (bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The one place `.env` is read: before clap parses (options defaulting to a variable, such as `--port` from
/// `PORT`, see the file too) and before the runtime starts its threads (setting a variable while another thread
/// reads the environment is a data race in libc). Every command then reads the environment alone; variables
/// already set win over the file's.
fn main() {
    load_dotenv();
    let cli = payments::cli::Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts");
    let code = runtime.block_on(cli.run());
    std::process::exit(code);
}

/// A missing `.env` is normal. A broken one is reported (without its lines: they hold secrets) and what it set
/// before the broken line stays; the configuration's own check then names anything still missing.
fn load_dotenv() {
    match dotenvy::dotenv() {
        Ok(_) => {}
        Err(e) if e.not_found() => {}
        Err(dotenvy::Error::LineParse(..)) => {
            eprintln!("payments: .env has a line that does not parse; it and the lines after it are ignored");
        }
        Err(_) => eprintln!("payments: .env could not be read; it is ignored"),
    }
}
