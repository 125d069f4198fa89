//! Configuration: every setting the service reads, in one struct with documented defaults.
//!
//! Read from the environment (and a `.env` file in the working directory) with `envy`. Validation collects
//! every problem before failing, so one start-up attempt tells an operator everything that is wrong, and no
//! error message ever contains a secret's value.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr},
    time::Duration,
};

use serde::Deserialize;

mod limits;
mod validate;
pub use limits::StreamLimits;
use validate::{is_stream_name, parse_http_url, parse_nats_servers, Validator};

/// A value that must never be printed: `Debug` and `Display` show `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

/// The service's configuration (CONTRACT §1 plus the extra variables documented in the README).
#[derive(Debug, Clone)]
pub struct Config {
    /// `HOST`: HTTP bind address. Default `0.0.0.0`.
    pub host: IpAddr,
    /// `PORT`: HTTP port. Default `3000`; `0` picks a free port (tests).
    pub port: u16,
    /// `NATS_SERVERS`: NATS URLs, comma-separated. Default `nats://localhost:4222`.
    pub nats_servers: Vec<String>,
    /// `NATS_CREDS_FILE`, `NATS_TOKEN`, `NATS_USER` + `NATS_PASSWORD`: optional NATS authentication.
    pub nats_auth: NatsAuth,
    /// `NATS_STREAM_REPLICAS`: replicas of the streams and buckets the service creates. Default `1`.
    pub stream_replicas: usize,
    /// `STRIPE_SECRET`: Stripe secret or restricted key (`sk_test_`, `sk_live_`, `rk_test_`, `rk_live_`). Required.
    pub stripe_secret: Secret,
    /// `STRIPE_ENDPOINT_SECRET`: webhook signing secrets (`whsec_…`), comma-separated during rotation. Required.
    pub stripe_endpoint_secrets: Vec<Secret>,
    /// `STRIPE_SUCCESS_URL`, `STRIPE_CANCEL_URL`: Checkout redirects. Required.
    pub stripe_success_url: String,
    pub stripe_cancel_url: String,
    /// `STRIPE_API_BASE`: Stripe API base URL. Default `https://api.stripe.com`.
    pub stripe_api_base: String,
    /// `STRIPE_TIMEOUT`: timeout of one Stripe API call. Default `10s`.
    pub stripe_timeout: Duration,
    /// `WEBHOOK_TOLERANCE`: accepted age of a `Stripe-Signature` timestamp. Default `300s`.
    pub webhook_tolerance: Duration,
    /// `HTTP_BODY_LIMIT`: largest accepted request body in bytes. Default `1048576` (1 MiB).
    pub body_limit: usize,
    /// `HTTP_HEADER_TIMEOUT`: the request head must arrive within it, or the connection is closed; also how long
    /// an idle kept-alive connection stays open. Default `10s`.
    pub http_header_timeout: Duration,
    /// `HTTP_BODY_TIMEOUT`: the whole request body must arrive within it (else 408 and the connection is closed).
    /// Default `30s`.
    pub http_body_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`: connections served at once; further ones wait in the listen backlog until one
    /// closes. Default `10000`.
    pub http_max_connections: usize,
    /// `JETSTREAM_TIMEOUT`: how long to wait for a JetStream acknowledgement. Default `5s`.
    pub jetstream_timeout: Duration,
    /// `EVENTS_STREAM`: the audit/inbox stream of verified Stripe events. Default `STRIPE_EVENTS`.
    pub events_stream: String,
    /// `EVENTS_RETENTION`: how long verified events (and published outcomes) are kept. Default `30d`.
    pub events_retention: Duration,
    /// `DEDUP_WINDOW`: de-duplication horizon of events and outcomes; covers Stripe's 3-day retries. Default `4d`.
    pub dedup_window: Duration,
    /// `PIPELINE_ACK_WAIT`: after a crash, how long before the events a replica had taken go to another. A live
    /// replica extends it while it works (progress acknowledgements), so it can be short. Default `5s`.
    pub pipeline_ack_wait: Duration,
    /// `PIPELINE_RETRY_MAX`: the longest pause between two tries of an event that failed for a transient reason
    /// (1 s, 2 s, 4 s … up to this); it is retried for as long as it is retained. Default `5m`.
    pub pipeline_retry_max: Duration,
    /// `SHUTDOWN_GRACE`: how long in-flight work may take after SIGTERM. Default `25s`.
    pub shutdown_grace: Duration,
    /// `LOG_FORMAT`: `text` or `json`. Default `text`.
    pub log_format: LogFormat,
    /// `EVENTS_MAX_BYTES`, `PAYMENTS_MAX_BYTES`, `CALLBACKS_MAX_BYTES`, `KV_MAX_BYTES`: byte limits of the streams
    /// and buckets the service creates.
    pub limits: StreamLimits,
    /// Callbacks to the caller (CONTRACT §7).
    pub callbacks: CallbackConfig,
    /// Reconciliation with Stripe's event list (CONTRACT §8).
    pub reconcile: ReconcileConfig,
}

/// Settings of the background reconciliation.
#[derive(Debug, Clone)]
pub struct ReconcileConfig {
    /// `RECONCILE_INTERVAL`: how often one replica lists Stripe's events; `off` disables it. Default `10m`.
    pub interval: Option<Duration>,
    /// `RECONCILE_LOOKBACK`: how far back the very first run looks (later runs start from the checkpoint).
    /// Default `72h`.
    pub lookback: Duration,
}

/// Settings of signed callbacks.
#[derive(Debug, Clone)]
pub struct CallbackConfig {
    /// `CALLBACK_SIGNING_SECRET`: `whsec_<base64>` (Standard Webhooks). Without it, requests with a callback are
    /// refused.
    pub signing_secret: Option<Secret>,
    /// `CALLBACK_RETRY_SCHEDULE`: pauses before each retry. Default `1m,5m,15m,30m,1h`.
    pub retry_schedule: Vec<Duration>,
    /// `CALLBACK_ALLOW_PRIVATE`: allow loopback/private/link-local targets (tests, private networks). Default false.
    pub allow_private: bool,
    /// `CALLBACK_TIMEOUT`: timeout of one attempt, and of each DNS look-up. Default `10s`.
    pub timeout: Duration,
    /// `CALLBACK_PROXY`: the only proxy callbacks may use (`HTTP(S)_PROXY` never apply). A URL, which may hold
    /// credentials. Default none.
    pub proxy: Option<Secret>,
}

/// Optional NATS credentials.
#[derive(Debug, Clone, Default)]
pub enum NatsAuth {
    #[default]
    None,
    CredsFile(String),
    Token(Secret),
    UserPassword(String, Secret),
}

/// Every variable as text: `envy` fills it, `Config::from_raw` validates it field by field.
#[derive(Deserialize, Default)]
struct Raw {
    host: Option<String>,
    port: Option<String>,
    nats_servers: Option<String>,
    nats_creds_file: Option<String>,
    nats_token: Option<String>,
    nats_user: Option<String>,
    nats_password: Option<String>,
    nats_stream_replicas: Option<String>,
    stripe_secret: Option<String>,
    stripe_endpoint_secret: Option<String>,
    stripe_success_url: Option<String>,
    stripe_cancel_url: Option<String>,
    stripe_api_base: Option<String>,
    stripe_timeout: Option<String>,
    webhook_tolerance: Option<String>,
    http_body_limit: Option<String>,
    http_header_timeout: Option<String>,
    http_body_timeout: Option<String>,
    http_max_connections: Option<String>,
    jetstream_timeout: Option<String>,
    events_stream: Option<String>,
    events_retention: Option<String>,
    dedup_window: Option<String>,
    shutdown_grace: Option<String>,
    pipeline_ack_wait: Option<String>,
    pipeline_retry_max: Option<String>,
    callback_signing_secret: Option<String>,
    callback_retry_schedule: Option<String>,
    callback_allow_private: Option<String>,
    callback_timeout: Option<String>,
    callback_proxy: Option<String>,
    log_format: Option<String>,
    reconcile_interval: Option<String>,
    reconcile_lookback: Option<String>,
    events_max_bytes: Option<String>,
    payments_max_bytes: Option<String>,
    callbacks_max_bytes: Option<String>,
    kv_max_bytes: Option<String>,
}

/// Start-up refused: lists every offending variable (never a secret's value).
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .problems.join("\n  - "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
    /// Reads `.env` (when present) into the environment, then the environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a broken one is not worth refusing to start over, the variables decide.
        let _ = dotenvy::dotenv();
        Self::from_vars(std::env::vars())
    }

    /// Builds the configuration from explicit variables (tests use this; nothing global is read).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let raw: Raw = envy::from_iter(vars).map_err(|e| ConfigError {
            problems: vec![e.to_string()],
        })?;
        Self::from_raw(raw)
    }

    fn from_raw(raw: Raw) -> Result<Self, ConfigError> {
        let mut v = Validator::default();
        let config = Config {
            host: v
                .parse(
                    "HOST",
                    raw.host,
                    "0.0.0.0",
                    |s| s.parse().ok().map(Some),
                    "an IP address",
                )
                .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)),
            port: v.parse(
                "PORT",
                raw.port,
                "3000",
                |s| s.parse().ok(),
                "a port number (0-65535)",
            ),
            nats_servers: v.parse(
                "NATS_SERVERS",
                raw.nats_servers,
                "nats://localhost:4222",
                parse_nats_servers,
                "comma-separated nats:// (or tls://) URLs",
            ),
            nats_auth: v.nats_auth(
                raw.nats_creds_file,
                raw.nats_token,
                raw.nats_user,
                raw.nats_password,
            ),
            stream_replicas: v.parse(
                "NATS_STREAM_REPLICAS",
                raw.nats_stream_replicas,
                "1",
                |s| s.parse().ok().filter(|n| (1..=5).contains(n)),
                "a number of replicas from 1 to 5",
            ),
            stripe_secret: v.stripe_secret(raw.stripe_secret),
            stripe_endpoint_secrets: v.endpoint_secrets(raw.stripe_endpoint_secret),
            stripe_success_url: v.required_url("STRIPE_SUCCESS_URL", raw.stripe_success_url),
            stripe_cancel_url: v.required_url("STRIPE_CANCEL_URL", raw.stripe_cancel_url),
            // async-stripe appends `v1/…` to the host, so a path prefix would be silently dropped or mangled.
            stripe_api_base: v.parse(
                "STRIPE_API_BASE",
                raw.stripe_api_base,
                "https://api.stripe.com",
                |s| parse_http_url(s).filter(|_| url::Url::parse(s).is_ok_and(|u| u.path() == "/")),
                "an http(s) URL without a path",
            ),
            stripe_timeout: v.duration("STRIPE_TIMEOUT", raw.stripe_timeout, "10s"),
            webhook_tolerance: v.duration("WEBHOOK_TOLERANCE", raw.webhook_tolerance, "300s"),
            body_limit: v.parse(
                "HTTP_BODY_LIMIT",
                raw.http_body_limit,
                "1048576",
                |s| s.parse().ok().filter(|n| *n >= 1024),
                "a number of bytes (at least 1024)",
            ),
            http_header_timeout: v.duration("HTTP_HEADER_TIMEOUT", raw.http_header_timeout, "10s"),
            http_body_timeout: v.duration("HTTP_BODY_TIMEOUT", raw.http_body_timeout, "30s"),
            http_max_connections: v.parse(
                "HTTP_MAX_CONNECTIONS",
                raw.http_max_connections,
                "10000",
                |s| s.parse().ok().filter(|n| (1..=1_000_000).contains(n)),
                "a number of connections from 1 to 1000000",
            ),
            jetstream_timeout: v.duration("JETSTREAM_TIMEOUT", raw.jetstream_timeout, "5s"),
            events_stream: v.parse(
                "EVENTS_STREAM",
                raw.events_stream,
                "STRIPE_EVENTS",
                |s| is_stream_name(s).then(|| s.to_owned()),
                "a stream name (letters, digits, - and _)",
            ),
            events_retention: v.duration("EVENTS_RETENTION", raw.events_retention, "30d"),
            dedup_window: v.duration("DEDUP_WINDOW", raw.dedup_window, "4d"),
            shutdown_grace: v.duration("SHUTDOWN_GRACE", raw.shutdown_grace, "25s"),
            pipeline_ack_wait: v.duration("PIPELINE_ACK_WAIT", raw.pipeline_ack_wait, "5s"),
            pipeline_retry_max: v.duration("PIPELINE_RETRY_MAX", raw.pipeline_retry_max, "5m"),
            log_format: v.parse(
                "LOG_FORMAT",
                raw.log_format,
                "text",
                |s| match s.to_ascii_lowercase().as_str() {
                    "text" => Some(LogFormat::Text),
                    "json" => Some(LogFormat::Json),
                    _ => None,
                },
                "`text` or `json`",
            ),
            limits: v.stream_limits(
                raw.events_max_bytes,
                raw.payments_max_bytes,
                raw.callbacks_max_bytes,
                raw.kv_max_bytes,
            ),
            callbacks: CallbackConfig {
                signing_secret: v.signing_secret(raw.callback_signing_secret),
                retry_schedule: v.parse(
                    "CALLBACK_RETRY_SCHEDULE",
                    raw.callback_retry_schedule,
                    "1m,5m,15m,30m,1h",
                    |s| {
                        s.split(',')
                            .map(|d| humantime::parse_duration(d.trim()).ok())
                            .collect::<Option<Vec<_>>>()
                            .filter(|d| !d.is_empty() && d.len() <= 20)
                    },
                    "comma-separated durations such as 1m,5m,15m (at most 20)",
                ),
                allow_private: v.parse(
                    "CALLBACK_ALLOW_PRIVATE",
                    raw.callback_allow_private,
                    "false",
                    |s| match s.to_ascii_lowercase().as_str() {
                        "true" | "1" | "yes" => Some(true),
                        "false" | "0" | "no" => Some(false),
                        _ => None,
                    },
                    "true or false",
                ),
                timeout: v.duration("CALLBACK_TIMEOUT", raw.callback_timeout, "10s"),
                proxy: validate::non_empty(raw.callback_proxy).and_then(|text| {
                    let valid = parse_http_url(&text).is_some();
                    if !valid {
                        v.problems
                            .push("CALLBACK_PROXY must be an http(s) URL".into());
                    }
                    valid.then(|| Secret::new(text))
                }),
            },
            reconcile: ReconcileConfig {
                interval: v.parse(
                    "RECONCILE_INTERVAL",
                    raw.reconcile_interval,
                    "10m",
                    |s| {
                        if s.trim().eq_ignore_ascii_case("off") {
                            return Some(None);
                        }
                        humantime::parse_duration(s.trim())
                            .ok()
                            .filter(|d| !d.is_zero())
                            .map(Some)
                    },
                    "a duration such as 10m, or off",
                ),
                lookback: v.duration("RECONCILE_LOOKBACK", raw.reconcile_lookback, "72h"),
            },
        };
        if config.dedup_window > config.events_retention {
            v.problems
                .push("DEDUP_WINDOW must not be longer than EVENTS_RETENTION".into());
        }
        if v.problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError {
                problems: v.problems,
            })
        }
    }
}

#[cfg(test)]
mod tests;
