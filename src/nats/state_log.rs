//! The NATS connection's log: one line per change of state, naming the server and the cause. async-nats reports
//! every failed reconnect attempt as an event whose text is only its kind ("IO error"), many times a second at
//! first; the cause and the server are in the server pool that the reconnect callback is shown before each round.
//! Server addresses are logged as `host:port`, never as the configured URL, which may carry credentials.

use std::collections::HashMap;
use std::sync::Mutex;

use async_nats::{Client, Event, Server, ServerAddr};

pub struct StateLog {
    /// The configured servers, `host:port`, comma-separated.
    servers: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    connected: bool,
    /// The last failure logged per server, since the last connection: a repeat is not logged again.
    failures: HashMap<String, String>,
}

fn address(addr: &ServerAddr) -> String {
    format!("{}:{}", addr.host(), addr.port())
}

/// A comma-separated `NATS_SERVERS` value as it may be shown: `host:port` each, credentials left out; an entry
/// that does not parse is shown as `(invalid URL)`.
pub fn shown_servers(servers: &str) -> String {
    servers
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<ServerAddr>()
                .map_or_else(|_| "(invalid URL)".to_owned(), |a| address(&a))
        })
        .collect::<Vec<_>>()
        .join(",")
}

impl StateLog {
    pub fn new(servers: &[ServerAddr]) -> Self {
        Self {
            servers: servers.iter().map(address).collect::<Vec<_>>().join(","),
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic while logging must not silence the log for the rest of the process.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Before each round of connection attempts: the failures of the previous round, each new one once.
    pub fn attempt(&self, pool: &[Server]) {
        let mut state = self.state();
        for server in pool {
            let Some(error) = &server.last_error else {
                continue;
            };
            let server = address(&server.addr);
            if state.failures.get(&server) != Some(error) {
                tracing::warn!(
                    server = %server,
                    cause = %error,
                    "NATS server unreachable; retrying in the background"
                );
                state.failures.insert(server, error.clone());
            }
        }
    }

    pub fn event(&self, event: &Event, client: Option<&Client>) {
        match event {
            Event::Connected => {
                let mut state = self.state();
                state.failures.clear();
                if !state.connected {
                    state.connected = true;
                    let info = client.map(Client::server_info).unwrap_or_default();
                    tracing::info!(
                        servers = %self.servers,
                        server_name = %info.server_name,
                        "NATS connected"
                    );
                }
            }
            Event::Disconnected => {
                let mut state = self.state();
                if std::mem::take(&mut state.connected) {
                    tracing::warn!(servers = %self.servers, "NATS disconnected; reconnecting");
                }
            }
            // The per-attempt "IO error" reports: their cause is logged by `attempt`, once.
            Event::ClientError(async_nats::ClientError::Other(kind)) => {
                tracing::debug!(servers = %self.servers, kind = %kind, "NATS connection attempt failed")
            }
            Event::ClientError(other) => {
                tracing::warn!(servers = %self.servers, error = %other, "NATS client error")
            }
            Event::ServerError(error) => {
                tracing::warn!(servers = %self.servers, error = %error, "NATS server error")
            }
            Event::SlowConsumer(sid) => {
                tracing::warn!(subscription = sid, "NATS slow consumer: messages dropped")
            }
            other => tracing::info!(servers = %self.servers, event = %other, "NATS event"),
        }
    }
}
