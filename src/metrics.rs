//! Metrics: one Prometheus recorder per process (several `Application`s in one test process share it), the
//! names the service records, and the text rendered at `GET /metrics`. Labels never carry secrets or ids.

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// HTTP requests by `route` (the matched pattern, never the raw path), `method` and `status`.
pub const HTTP_REQUESTS: &str = "payments_http_requests_total";
pub const HTTP_DURATION: &str = "payments_http_request_duration_seconds";
/// Stripe API calls by `operation` and `result` (`ok`, `refused`, `unavailable`).
pub const STRIPE_REQUESTS: &str = "payments_stripe_requests_total";
pub const STRIPE_DURATION: &str = "payments_stripe_request_duration_seconds";
/// JetStream publishes (with acknowledgement) by `stream`; failures by `stream`.
pub const JETSTREAM_PUBLISH_DURATION: &str = "payments_jetstream_publish_duration_seconds";
pub const JETSTREAM_PUBLISH_FAILURES: &str = "payments_jetstream_publish_failures_total";
/// 1 while the NATS connection is up, else 0.
pub const NATS_CONNECTED: &str = "payments_nats_connected";
/// 1 while this replica is ready (`GET /ready` 200: NATS connected and the streams set up), else 0.
pub const READY: &str = "payments_ready";
/// NATS requests on `create.payment.session` by `format` (`nestjs`, `plain`) and `status`.
pub const NATS_REQUESTS: &str = "payments_nats_requests_total";

/// Callback attempts by `result` (`delivered`, `failed`, `gone`, `refused`), and their duration.
pub const CALLBACK_ATTEMPTS: &str = "payments_callback_attempts_total";
pub const CALLBACK_DURATION: &str = "payments_callback_attempt_duration_seconds";
/// Callbacks given up after their last attempt (`payment.callback.failed` published): the dead letters.
pub const CALLBACK_DEAD_LETTERS: &str = "payments_callback_dead_letters_total";

/// Latency buckets in seconds, from sub-millisecond webhooks to a slow Stripe call.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Verified and refused webhooks by `event_type` and `result`: `published`, `duplicate`, `superseded`, `unusable`,
/// `ignored`, `retried` (pipeline), `rejected_signature`, `unavailable` (webhook). `event_type` is one of the
/// types the service uses, or `other`: an event's type is data, and must not create series.
pub const WEBHOOK_EVENTS: &str = "payments_webhook_events_total";

/// Events stored and not yet processed by the pipeline, and the age of the oldest of them (server time).
pub const PIPELINE_PENDING: &str = "payments_pipeline_pending";
pub const PIPELINE_OLDEST_PENDING: &str = "payments_pipeline_oldest_pending_seconds";

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder on first use and returns the handle that renders it.
pub fn handle() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .expect("static buckets are valid")
                .build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed already (an embedding program's): then ours renders empty.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Drains histogram samples into their buckets every few seconds. Without it the recorder keeps every sample until
/// the next scrape, so a service nobody scrapes grows without bound (measured: 29 → 73 MB over 810,000 webhooks).
pub async fn upkeep(shutdown: tokio_util::sync::CancellationToken) {
    let handle = handle();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => handle.run_upkeep(),
        }
    }
}

/// Counts one webhook event outcome.
pub fn webhook_event(event_type: &str, result: &'static str) {
    let event_type = crate::payment::outcome::USED_EVENT_TYPES
        .iter()
        .find(|used| **used == event_type)
        .copied()
        .unwrap_or(if event_type == "unknown" {
            "unknown"
        } else {
            "other"
        });
    metrics::counter!(WEBHOOK_EVENTS, "event_type" => event_type, "result" => result).increment(1);
}

/// Sets the pipeline's backlog gauges.
pub fn pipeline_backlog(pending: u64, oldest: std::time::Duration) {
    metrics::gauge!(PIPELINE_PENDING).set(pending as f64);
    metrics::gauge!(PIPELINE_OLDEST_PENDING).set(oldest.as_secs_f64());
}

/// Records the duration and outcome of a Stripe API call.
pub fn stripe_call(operation: &'static str, result: &'static str, started: std::time::Instant) {
    metrics::counter!(STRIPE_REQUESTS, "operation" => operation, "result" => result).increment(1);
    metrics::histogram!(STRIPE_DURATION, "operation" => operation)
        .record(started.elapsed().as_secs_f64());
}

/// Records a JetStream publish: its latency when acknowledged, a failure otherwise.
pub fn jetstream_publish(stream: &'static str, ok: bool, started: std::time::Instant) {
    if ok {
        metrics::histogram!(JETSTREAM_PUBLISH_DURATION, "stream" => stream)
            .record(started.elapsed().as_secs_f64());
    } else {
        metrics::counter!(JETSTREAM_PUBLISH_FAILURES, "stream" => stream).increment(1);
    }
}

pub fn nats_connected(connected: bool) {
    metrics::gauge!(NATS_CONNECTED).set(if connected { 1.0 } else { 0.0 });
}

pub fn ready(ready: bool) {
    metrics::gauge!(READY).set(if ready { 1.0 } else { 0.0 });
}

pub fn nats_request(format: &'static str, status: u16) {
    metrics::counter!(NATS_REQUESTS, "format" => format, "status" => status.to_string())
        .increment(1);
}

pub fn callback_attempt(result: &'static str, started: std::time::Instant) {
    metrics::counter!(CALLBACK_ATTEMPTS, "result" => result).increment(1);
    metrics::histogram!(CALLBACK_DURATION).record(started.elapsed().as_secs_f64());
}

pub fn callback_dead_letter() {
    metrics::counter!(CALLBACK_DEAD_LETTERS).increment(1);
}

/// Events listed by reconciliation, by `result`: `recovered` (JetStream did not have it: a missed webhook) or
/// `known` (already stored).
pub const RECONCILE_EVENTS: &str = "payments_reconcile_events_total";
/// Background reconciliation runs by `result` (`ok`, `failed`).
pub const RECONCILE_RUNS: &str = "payments_reconcile_runs_total";
/// When a reconciliation run last completed (by any replica: each reads it from the shared checkpoint).
pub const RECONCILE_LAST_SUCCESS: &str = "payments_reconcile_last_success_timestamp_seconds";

pub fn reconcile_event(recovered: bool) {
    let result = if recovered { "recovered" } else { "known" };
    metrics::counter!(RECONCILE_EVENTS, "result" => result).increment(1);
}

pub fn reconcile_run(ok: bool) {
    metrics::counter!(RECONCILE_RUNS, "result" => if ok { "ok" } else { "failed" }).increment(1);
}

pub fn reconcile_last_success(unix_seconds: i64) {
    metrics::gauge!(RECONCILE_LAST_SUCCESS).set(unix_seconds as f64);
}
