//! Metrics: one Prometheus recorder per process (several `Application`s in one test process share it), the
//! names the service records, and the text rendered at `GET /metrics`. Labels never carry secrets or ids.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// Verified and refused webhooks by `event_type` and `result`: `published`, `duplicate`, `unusable`, `ignored`,
/// `retried`, `failed` (pipeline), `rejected_signature`, `unavailable` (webhook).
pub const WEBHOOK_EVENTS: &str = "payments_webhook_events_total";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder on first use and returns the handle that renders it.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed already (an embedding program's): then ours renders empty.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Counts one webhook event outcome.
pub fn webhook_event(event_type: &str, result: &'static str) {
    metrics::counter!(WEBHOOK_EVENTS, "event_type" => event_type.to_owned(), "result" => result)
        .increment(1);
}
