//! The NATS connection: connects in the background with endless reconnects, so the service starts and answers
//! `/health` while NATS is down, and tells `/ready` whether NATS and JetStream are usable right now.

use std::sync::{Arc, OnceLock};

use async_nats::{connection::State, Client, ConnectOptions, ServerAddr};
use secrecy::ExposeSecret;

use super::state_log::StateLog;
use super::streams::Stores;
use crate::config::{Config, NatsAuth};

/// The client plus the buckets this service needs, once the streams have been set up.
#[derive(Clone)]
pub struct Nats {
    pub client: Client,
    stores: Arc<OnceLock<Stores>>,
}

impl Nats {
    /// Returns at once; the client connects (and reconnects) in the background.
    pub async fn connect(config: &Config) -> Result<Nats, String> {
        let servers = config
            .nats_servers
            .iter()
            .map(|s| s.parse::<ServerAddr>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("NATS_SERVERS: {e}"))?;
        let log = Arc::new(StateLog::new(&servers));
        let stores: Arc<OnceLock<Stores>> = Arc::new(OnceLock::new());
        let client_slot: Arc<OnceLock<Client>> = Arc::new(OnceLock::new());
        let on_event = {
            let (log, stores, client_slot) = (log.clone(), stores.clone(), client_slot.clone());
            move |event| {
                let (log, stores, client_slot) = (log.clone(), stores.clone(), client_slot.clone());
                async move {
                    match &event {
                        async_nats::Event::Connected => {
                            crate::metrics::nats_connected(true);
                            crate::metrics::ready(stores.get().is_some());
                        }
                        async_nats::Event::Disconnected => {
                            crate::metrics::nats_connected(false);
                            crate::metrics::ready(false);
                        }
                        _ => {}
                    }
                    log.event(&event, client_slot.get());
                }
            }
        };
        let on_attempt = {
            let log = log.clone();
            move |pool: Vec<async_nats::Server>, _info| {
                log.attempt(&pool);
                // None: the library's own choice of server and backoff; this callback only reads the failures.
                async { None }
            }
        };
        let options = ConnectOptions::new()
            .name("payments")
            .retry_on_initial_connect()
            .max_reconnects(None)
            .event_callback(on_event)
            .reconnect_to_server_callback(on_attempt);
        let options = match config.nats_auth() {
            NatsAuth::None => options,
            NatsAuth::CredsFile(path) => options
                .credentials_file(path)
                .await
                .map_err(|e| format!("NATS_CREDS_FILE: {e}"))?,
            NatsAuth::Token(token) => options.token(token.expose_secret().to_owned()),
            NatsAuth::UserPassword(user, password) => {
                options.user_and_password(user.to_owned(), password.expose_secret().to_owned())
            }
        };
        let client = options
            .connect(servers.as_slice())
            .await
            .map_err(|e| format!("NATS: {e}"))?;
        let _ = client_slot.set(client.clone());
        Ok(Nats { client, stores })
    }

    pub fn set_stores(&self, stores: Stores) {
        let _ = self.stores.set(stores);
        crate::metrics::ready(self.is_ready());
    }

    /// The buckets, once the streams exist.
    pub fn stores(&self) -> Option<&Stores> {
        self.stores.get()
    }

    /// Connected, and the streams exist: a webhook can be stored now.
    pub fn is_ready(&self) -> bool {
        self.stores.get().is_some() && self.client.connection_state() == State::Connected
    }
}
