//! How a measurement is reported: one printed line per phase, and its JSON (latency, throughput, CPU).

use serde_json::{json, Value};

use crate::load::{self, Mode, Report};

pub(super) fn cpu_json(cpu: &[(String, f64)]) -> Value {
    Value::Object(
        cpu.iter()
            .map(|(n, v)| (n.clone(), json!((v * 10.0).round() / 10.0)))
            .collect(),
    )
}

pub(super) fn report_json(r: &Report, mode: Mode, concurrency: usize) -> Value {
    json!({
        "mode": match mode { Mode::Closed => "closed".to_string(), Mode::Open { rate } => format!("open@{rate:.0}/s") },
        "concurrency": concurrency,
        "ok": r.ok,
        "non_2xx": r.non_2xx,
        "errors": r.errors,
        "statuses": r.statuses.iter().map(|(c, n)| json!({"status": c, "count": n})).collect::<Vec<_>>(),
        "elapsed_s": r.elapsed.as_secs_f64(),
        "throughput_per_s": r.throughput(),
        "latency": load::percentiles(&r.latency),
        "service_time": load::percentiles(&r.service_time),
        "pool_exhausted": r.exhausted,
        "ok_per_second": r.per_second,
    })
}

pub(super) fn line(r: &Report, label: &str) {
    println!(
        "    {label:<34} {:>9.0}/s  p50 {:>7.2} ms  p99 {:>7.2} ms  p99.9 {:>7.2} ms  non-2xx {} errors {}{}",
        r.throughput(),
        load::p(&r.latency, 0.5),
        load::p(&r.latency, 0.99),
        load::p(&r.latency, 0.999),
        r.non_2xx,
        r.errors,
        if r.exhausted { "  (request pool used up: ended early)" } else { "" }
    );
}
