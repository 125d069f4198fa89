//! Logging, set up once per process: `RUST_LOG` filters (default `info`, async-nats' own
//! chatter from `warn`), `LOG_FORMAT=json` for machines.

use tracing_subscriber::{fmt, EnvFilter};

use crate::config::LogFormat;

pub fn init(format: LogFormat) {
    // async-nats logs each connection event at INFO, one "IO error" per failed reconnect attempt and without the
    // server or the cause; nats::state_log says it once, with both.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,async_nats=warn"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests building several applications) is harmless: the first subscriber stays.
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.try_init(),
    };
}
