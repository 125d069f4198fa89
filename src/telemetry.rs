//! Logs and traces, set up once per process.
//!
//! - Logs: `RUST_LOG` filters (default `info`, async-nats' own chatter from `warn`), `LOG_FORMAT=json` for
//!   machines.
//! - Traces (CONTRACT §10): the spans of `spans` go to OpenTelemetry, always (so `traceparent` travels on to Stripe,
//!   NATS and callbacks), and are exported over OTLP only when `otlp` finds an endpoint configured; spans whose
//!   context goes nowhere (`spans::EXPORT_ONLY`) are made only then. `RUST_LOG` does not touch them: each layer
//!   has its own filter.

pub mod otlp;
pub mod propagation;
pub mod spans;

use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{
    filter::{filter_fn, FilterExt},
    fmt,
    layer::SubscriberExt,
    util::SubscriberInitExt,
    EnvFilter, Layer, Registry,
};

use crate::config::LogFormat;

/// How long shutdown waits for the last spans to reach the collector (within the contract's shutdown bound).
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// The process's tracing, kept until shutdown to flush what is still batched.
pub struct Telemetry {
    provider: SdkTracerProvider,
    exporting: bool,
}

/// Sets up logging and tracing. A second call in one process (tests building several applications) keeps the
/// first subscriber. `Err` names an OpenTelemetry variable that cannot be used.
pub fn init(format: LogFormat) -> Result<Telemetry, String> {
    let export = otlp::export(|name| std::env::var(name).ok())?;
    let provider = otlp::provider(&export)?;
    // async-nats logs each connection event at INFO, one "IO error" per failed reconnect attempt and without the
    // server or the cause; nats::state_log says it once, with both. The OpenTelemetry SDK's own logs: its
    // warnings and errors (a failed export, a full queue), not its start-up chatter.
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| {
            EnvFilter::new("info,async_nats=warn,opentelemetry_sdk=warn,opentelemetry-otlp=warn")
        })
        // The traced spans are for OpenTelemetry: log lines keep the spans they always had (request, event ids).
        .and(filter_fn(|meta| meta.target() != spans::TARGET));
    let logs = match format {
        LogFormat::Json => fmt::layer()
            .json()
            .flatten_event(true)
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => fmt::layer()
            .with_writer(std::io::stderr)
            .with_filter(filter)
            .boxed(),
    };
    let exporting = export != otlp::Export::Nowhere;
    let traces = tracing_opentelemetry::layer()
        .with_tracer(provider.tracer("payments"))
        .with_location(false)
        .with_threads(false)
        .with_tracked_inactivity(false)
        .with_filter(filter_fn(move |meta| {
            traced(meta.target(), meta.name(), exporting)
        }));
    let _ = Registry::default().with(logs).with(traces).try_init();
    if let otlp::Export::Otlp { endpoint } = &export {
        tracing::info!(%endpoint, "exporting traces over OTLP");
    }
    Ok(Telemetry {
        exporting,
        provider,
    })
}

impl Telemetry {
    /// Exports what is still batched (bounded by [`FLUSH_TIMEOUT`]) and stops the exporter; the last step of a
    /// graceful shutdown.
    pub async fn shutdown(self) {
        if !self.exporting {
            return;
        }
        let provider = self.provider;
        let flushed =
            tokio::task::spawn_blocking(move || provider.shutdown_with_timeout(FLUSH_TIMEOUT));
        match tokio::time::timeout(FLUSH_TIMEOUT + Duration::from_millis(500), flushed).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(e))) => tracing::warn!(error = %e, "spans not exported at shutdown"),
            Ok(Err(_)) | Err(_) => tracing::warn!("exporting the last spans timed out at shutdown"),
        }
    }
}

/// Whether the OpenTelemetry layer makes a span: the traced spans, less those that only a collector can use when
/// there is none.
fn traced(target: &str, name: &str, exporting: bool) -> bool {
    target == spans::TARGET && (exporting || !spans::EXPORT_ONLY.contains(&name))
}

#[cfg(test)]
mod tests {
    use super::{spans::TARGET, traced};

    #[test]
    fn the_intake_span_is_made_only_for_a_collector() {
        assert!(traced(TARGET, "webhook_intake", true));
        assert!(!traced(TARGET, "webhook_intake", false));
        // Spans whose context travels on are made either way.
        for name in [
            "create_session",
            "process_event",
            "publish",
            "callback_attempt",
        ] {
            assert!(traced(TARGET, name, false), "{name}");
        }
        assert!(!traced("payments::http", "request", true));
    }
}
