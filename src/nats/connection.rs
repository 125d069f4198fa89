//! The NATS connection: connects in the background with endless reconnects, so the service starts and answers
//! `/health` while NATS is down, and tells `/ready` whether NATS and JetStream are usable right now.

use std::sync::{Arc, OnceLock};

use async_nats::{connection::State, Client, ConnectOptions, ServerAddr};

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
        let options = ConnectOptions::new()
            .name("payments")
            .retry_on_initial_connect()
            .max_reconnects(None)
            .event_callback(|event| async move {
                match event {
                    async_nats::Event::Connected => {
                        crate::metrics::nats_connected(true);
                        tracing::info!("NATS connected")
                    }
                    async_nats::Event::Disconnected => {
                        crate::metrics::nats_connected(false);
                        tracing::warn!("NATS disconnected")
                    }
                    other => tracing::info!(event = %other, "NATS event"),
                }
            });
        let options = match &config.nats_auth {
            NatsAuth::None => options,
            NatsAuth::CredsFile(path) => options
                .credentials_file(path)
                .await
                .map_err(|e| format!("NATS_CREDS_FILE: {e}"))?,
            NatsAuth::Token(token) => options.token(token.expose().to_owned()),
            NatsAuth::UserPassword(user, password) => {
                options.user_and_password(user.clone(), password.expose().to_owned())
            }
        };
        let client = options
            .connect(servers.as_slice())
            .await
            .map_err(|e| format!("NATS: {e}"))?;
        Ok(Nats {
            client,
            stores: Arc::new(OnceLock::new()),
        })
    }

    pub fn set_stores(&self, stores: Stores) {
        let _ = self.stores.set(stores);
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
