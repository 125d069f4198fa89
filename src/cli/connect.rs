//! The NATS connection of the operator commands (`watch`, `replay`, `reconcile`, `inspect`): one attempt per
//! server with a short timeout, and when none answers, a message naming the servers and the cause and exit
//! status 2, within seconds. (The service itself connects in the background and retries for ever: it must start
//! and answer `/health` while NATS is down; a person at a terminal must not wait on a silent command.)

use std::time::Duration;

use async_nats::{Client, ConnectOptions};

use crate::{
    config::{Config, NatsAuth},
    nats::{connection::authenticate, state_log::shown_servers},
};

/// The exit status of a command that cannot reach NATS.
pub const UNREACHABLE: i32 = 2;
/// How long one attempt to reach a server may take.
const ATTEMPT: Duration = Duration::from_secs(3);
/// How long connecting may take in all, whatever the number of servers.
const IN_ALL: Duration = Duration::from_secs(8);

/// NATS could not be reached: where (`host:port`, never credentials) and why.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to NATS at {servers}: {cause} (set NATS_SERVERS, or run ./scripts/run.sh)")]
pub struct Unreachable {
    pub servers: String,
    pub cause: String,
}

/// Connects to `servers` (comma-separated URLs), or says why not.
pub async fn connect(servers: &str, auth: NatsAuth<'_>) -> Result<Client, Unreachable> {
    let unreachable = |cause: String| Unreachable {
        servers: shown_servers(servers),
        cause,
    };
    let options = ConnectOptions::new()
        .name("payments-cli")
        .connection_timeout(ATTEMPT);
    let options = authenticate(options, auth).await.map_err(unreachable)?;
    match tokio::time::timeout(IN_ALL, options.connect(servers)).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(e)) => Err(unreachable(crate::causes::chain(&e))),
        Err(_) => Err(unreachable(format!("no answer within {IN_ALL:?}"))),
    }
}

/// [`connect`] with the service's configuration.
pub async fn connect_configured(config: &Config) -> Result<Client, Unreachable> {
    connect(&config.nats_servers.join(","), config.nats_auth()).await
}

/// The service's configuration (environment and `.env`) and a NATS connection made with it. On failure the
/// problem is printed, for `payments <command>`, and the exit status to end with is returned.
pub async fn configured(command: &str) -> Result<(Config, Client), i32> {
    let config = Config::from_env().map_err(|e| {
        eprintln!("payments: {e}");
        2
    })?;
    let client = connect_configured(&config).await.map_err(|e| {
        eprintln!("payments {command}: {e}");
        UNREACHABLE
    })?;
    Ok((config, client))
}
