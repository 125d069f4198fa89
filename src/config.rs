//! Configuration: every setting the service reads, in one serde struct with its documented defaults.
//!
//! `envy` fills [`Config`] from the environment (variable `NAME` is field `name`); each field's type or
//! `deserialize_with` function is the only parser of its variable (durations through `humantime-serde`, secrets
//! as `secrecy::SecretString`, which never prints). The `.env` file is merged into the environment once, by the
//! binary's `main` before anything reads a variable; this module reads only the environment it is given.
//! Loading and validation ([`load`]) collect every problem before failing, so one start-up attempt tells an
//! operator everything that is wrong, and no message ever contains a value.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr},
    time::Duration,
};

use secrecy::SecretString;
use serde::Deserialize;

mod limits;
mod load;
mod parse;
mod validate;
pub use limits::StreamLimits;
pub use load::ConfigError;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The service's configuration (CONTRACT §1 plus the extra variables documented in the README). Built by
/// [`Config::from_env`] or [`Config::from_vars`], which validate it; `Default` holds the documented defaults and
/// empty required values.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct Config {
    /// `HOST`: HTTP bind address. Default `0.0.0.0`.
    pub host: IpAddr,
    /// `PORT`: HTTP port. Default `3000`; `0` picks a free port (tests).
    pub port: u16,
    /// `NATS_SERVERS`: NATS URLs, comma-separated; a URL without a port means 4222. Default
    /// `nats://localhost:4222`.
    #[serde(deserialize_with = "parse::nats_servers")]
    pub nats_servers: NatsServers,
    /// `NATS_CREDS_FILE`: path of a NATS credentials file. Default none.
    pub nats_creds_file: Option<String>,
    /// `NATS_TOKEN`: NATS token. Default none.
    pub nats_token: Option<SecretString>,
    /// `NATS_USER` (with `NATS_PASSWORD`): NATS user. Default none.
    pub nats_user: Option<String>,
    /// `NATS_PASSWORD` (with `NATS_USER`): NATS password. Default none.
    pub nats_password: Option<SecretString>,
    /// `NATS_STREAM_REPLICAS`: replicas of the streams and buckets the service creates, 1 to 5. Default `1`.
    #[serde(rename = "nats_stream_replicas", deserialize_with = "parse::replicas")]
    pub stream_replicas: usize,
    /// `STRIPE_SECRET`: Stripe secret or restricted key (`sk_test_`, `sk_live_`, `rk_test_`, `rk_live_`). Required.
    pub stripe_secret: SecretString,
    /// `STRIPE_ENDPOINT_SECRET`: webhook signing secrets (`whsec_…`), comma-separated during rotation. Required.
    #[serde(
        rename = "stripe_endpoint_secret",
        deserialize_with = "parse::secret_list"
    )]
    pub stripe_endpoint_secrets: Vec<SecretString>,
    /// `STRIPE_SUCCESS_URL`: Checkout success redirect, an http(s) URL. Required.
    #[serde(deserialize_with = "parse::http_url")]
    pub stripe_success_url: String,
    /// `STRIPE_CANCEL_URL`: Checkout cancel redirect, an http(s) URL. Required.
    #[serde(deserialize_with = "parse::http_url")]
    pub stripe_cancel_url: String,
    /// `STRIPE_API_BASE`: Stripe API base URL, without a path (async-stripe appends `v1/…` to the host, so a
    /// path prefix would be silently dropped). Default `https://api.stripe.com`.
    #[serde(deserialize_with = "parse::api_base")]
    pub stripe_api_base: String,
    /// `STRIPE_TIMEOUT`: timeout of one Stripe API call. Default `10s`.
    #[serde(deserialize_with = "parse::duration")]
    pub stripe_timeout: Duration,
    /// `WEBHOOK_TOLERANCE`: accepted age of a `Stripe-Signature` timestamp. Default `300s`.
    #[serde(deserialize_with = "parse::duration")]
    pub webhook_tolerance: Duration,
    /// `HTTP_BODY_LIMIT`: largest accepted request body in bytes, at least 1024. Default `1048576` (1 MiB).
    #[serde(rename = "http_body_limit", deserialize_with = "parse::body_limit")]
    pub body_limit: usize,
    /// `HTTP_HEADER_TIMEOUT`: the request head must arrive within it, or the connection is closed; also how long
    /// an idle kept-alive connection stays open. Default `10s`.
    #[serde(deserialize_with = "parse::duration")]
    pub http_header_timeout: Duration,
    /// `HTTP_BODY_TIMEOUT`: the whole request body must arrive within it (else 408 and the connection is closed).
    /// Default `30s`.
    #[serde(deserialize_with = "parse::duration")]
    pub http_body_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`: connections served at once (1 to 1000000); further ones wait in the listen backlog
    /// until one closes. Default `10000`.
    #[serde(deserialize_with = "parse::max_connections")]
    pub http_max_connections: usize,
    /// `JETSTREAM_TIMEOUT`: how long to wait for a JetStream acknowledgement. Default `5s`.
    #[serde(deserialize_with = "parse::duration")]
    pub jetstream_timeout: Duration,
    /// `EVENTS_STREAM`: the audit/inbox stream of verified Stripe events (letters, digits, `-`, `_`). Default
    /// `STRIPE_EVENTS`.
    #[serde(deserialize_with = "parse::stream_name")]
    pub events_stream: String,
    /// `EVENTS_RETENTION`: how long verified events (and published outcomes) are kept. Default `30d`.
    #[serde(deserialize_with = "parse::duration")]
    pub events_retention: Duration,
    /// `DEDUP_WINDOW`: de-duplication horizon of events and outcomes; covers Stripe's 3-day retries, and is at
    /// most `EVENTS_RETENTION`. Default `4d`.
    #[serde(deserialize_with = "parse::duration")]
    pub dedup_window: Duration,
    /// `PIPELINE_ACK_WAIT`: after a crash, how long before the events a replica had taken go to another. A live
    /// replica extends it while it works (progress acknowledgements), so it can be short. Default `5s`.
    #[serde(deserialize_with = "parse::duration")]
    pub pipeline_ack_wait: Duration,
    /// `PIPELINE_RETRY_MAX`: the longest pause between two tries of an event that failed for a transient reason
    /// (1 s, 2 s, 4 s … up to this); it is retried for as long as it is retained. Default `5m`.
    #[serde(deserialize_with = "parse::duration")]
    pub pipeline_retry_max: Duration,
    /// `SHUTDOWN_GRACE`: how long in-flight work may take after SIGTERM. Default `25s`.
    #[serde(deserialize_with = "parse::duration")]
    pub shutdown_grace: Duration,
    /// `LOG_FORMAT`: `text` or `json` (any case). Default `text`.
    #[serde(deserialize_with = "parse::log_format")]
    pub log_format: LogFormat,
    /// `EVENTS_MAX_BYTES`, `PAYMENTS_MAX_BYTES`, `CALLBACKS_MAX_BYTES`, `KV_MAX_BYTES`: byte limits of the streams
    /// and buckets the service creates.
    #[serde(flatten)]
    pub limits: StreamLimits,
    /// `CALLBACK_…`: callbacks to the caller (CONTRACT §7).
    #[serde(flatten)]
    pub callbacks: CallbackConfig,
    /// `RECONCILE_…`: reconciliation with Stripe's event list (CONTRACT §8).
    #[serde(flatten)]
    pub reconcile: ReconcileConfig,
}

// The sections below are flattened into `Config`: serde hands their fields the variable's text, so each field
// parses text (a `deserialize_with` function) rather than relying on envy's number and bool parsing.

/// Settings of signed callbacks.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct CallbackConfig {
    /// `CALLBACK_SIGNING_SECRET`: `whsec_<base64>` (Standard Webhooks), at least 16 bytes. Default none: requests
    /// with a callback are refused.
    #[serde(rename = "callback_signing_secret")]
    pub signing_secret: Option<SecretString>,
    /// `CALLBACK_RETRY_SCHEDULE`: pauses before each retry, comma-separated (1 to 20). Default `1m,5m,15m,30m,1h`.
    #[serde(
        rename = "callback_retry_schedule",
        deserialize_with = "parse::retry_schedule"
    )]
    pub retry_schedule: Vec<Duration>,
    /// `CALLBACK_ALLOW_PRIVATE`: allow loopback/private/link-local targets (tests, private networks): `true`,
    /// `false`, `1`, `0`, `yes`, `no`. Default `false`.
    #[serde(rename = "callback_allow_private", deserialize_with = "parse::flag")]
    pub allow_private: bool,
    /// `CALLBACK_TIMEOUT`: timeout of one attempt, and of each DNS look-up. Default `10s`.
    #[serde(rename = "callback_timeout", deserialize_with = "parse::duration")]
    pub timeout: Duration,
    /// `CALLBACK_PROXY`: the only proxy callbacks may use (`HTTP(S)_PROXY` never apply), an http(s) URL, which may
    /// hold credentials. Default none.
    #[serde(rename = "callback_proxy", deserialize_with = "parse::proxy_url")]
    pub proxy: Option<SecretString>,
}

/// Settings of the background reconciliation.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ReconcileConfig {
    /// `RECONCILE_INTERVAL`: how often one replica lists Stripe's events; `off` disables it. Default `10m`.
    #[serde(rename = "reconcile_interval", deserialize_with = "parse::interval")]
    pub interval: Option<Duration>,
    /// `RECONCILE_LOOKBACK`: how far back the very first run looks (later runs start from the checkpoint).
    /// Default `72h`.
    #[serde(rename = "reconcile_lookback", deserialize_with = "parse::duration")]
    pub lookback: Duration,
}

/// NATS server URLs; `Debug` hides the credentials a URL may carry (`nats://user:password@host`).
#[derive(Clone, PartialEq, Eq)]
pub struct NatsServers(pub Vec<String>);

impl std::ops::Deref for NatsServers {
    type Target = [String];
    fn deref(&self) -> &[String] {
        &self.0
    }
}

impl fmt::Debug for NatsServers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hidden = self.0.iter().map(|url| match url.rsplit_once('@') {
            Some((front, host)) => {
                let scheme = front.split_once("://").map_or("", |(scheme, _)| scheme);
                format!("{scheme}://***@{host}")
            }
            None => url.clone(),
        });
        f.debug_list().entries(hidden).finish()
    }
}

/// How the service authenticates to NATS: at most one of the alternatives is set (checked by validation).
#[derive(Debug, Clone, Copy)]
pub enum NatsAuth<'a> {
    None,
    CredsFile(&'a str),
    Token(&'a SecretString),
    UserPassword(&'a str, &'a SecretString),
}

impl Config {
    /// The NATS authentication the variables chose.
    pub fn nats_auth(&self) -> NatsAuth<'_> {
        match (
            &self.nats_creds_file,
            &self.nats_token,
            &self.nats_user,
            &self.nats_password,
        ) {
            (Some(file), ..) => NatsAuth::CredsFile(file),
            (None, Some(token), ..) => NatsAuth::Token(token),
            (None, None, Some(user), Some(password)) => NatsAuth::UserPassword(user, password),
            _ => NatsAuth::None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        let s = Duration::from_secs;
        Config {
            host: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            port: 3000,
            nats_servers: NatsServers(vec!["nats://localhost:4222".into()]),
            nats_creds_file: None,
            nats_token: None,
            nats_user: None,
            nats_password: None,
            stream_replicas: 1,
            // Required: empty here, refused by validation when still empty.
            stripe_secret: SecretString::default(),
            stripe_endpoint_secrets: Vec::new(),
            stripe_success_url: String::new(),
            stripe_cancel_url: String::new(),
            stripe_api_base: "https://api.stripe.com".into(),
            stripe_timeout: s(10),
            webhook_tolerance: s(300),
            body_limit: 1 << 20,
            http_header_timeout: s(10),
            http_body_timeout: s(30),
            http_max_connections: 10_000,
            jetstream_timeout: s(5),
            events_stream: "STRIPE_EVENTS".into(),
            events_retention: s(30 * 86_400),
            dedup_window: s(4 * 86_400),
            pipeline_ack_wait: s(5),
            pipeline_retry_max: s(5 * 60),
            shutdown_grace: s(25),
            log_format: LogFormat::Text,
            limits: StreamLimits::default(),
            callbacks: CallbackConfig::default(),
            reconcile: ReconcileConfig::default(),
        }
    }
}

impl Default for CallbackConfig {
    fn default() -> Self {
        CallbackConfig {
            signing_secret: None,
            retry_schedule: [60, 5 * 60, 15 * 60, 30 * 60, 3600]
                .map(Duration::from_secs)
                .to_vec(),
            allow_private: false,
            timeout: Duration::from_secs(10),
            proxy: None,
        }
    }
}

impl Default for ReconcileConfig {
    fn default() -> Self {
        ReconcileConfig {
            interval: Some(Duration::from_secs(10 * 60)),
            lookback: Duration::from_secs(72 * 3600),
        }
    }
}

#[cfg(test)]
mod tests;
