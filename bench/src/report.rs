//! The machine description and the printed tables (target vs measured, PASS/MISS).

use serde_json::{json, Value};

use crate::Args;

pub fn machine() -> Value {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let mem_gb = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib * 1024.0 / 1e9);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_owned())
        .unwrap_or_default();
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    json!({
        "cpu": cpu,
        "cores": cores,
        "memory_gb": (mem_gb * 10.0).round() / 10.0,
        "kernel": kernel,
        "loadavg_at_start": load,
        "nats_server": crate::procs::nats_version(),
        "note": "nats-server, the service, the Stripe stand-in and the load generator all share these cores",
    })
}

pub fn banner(machine: &Value, args: &Args) {
    println!(
        "payments benchmark{} — {} × {}, {} GB, Linux {}, {}; load average at start {}",
        if args.scaling {
            " --scaling"
        } else if args.readiness {
            " --readiness"
        } else {
            ""
        },
        machine["cores"],
        machine["cpu"].as_str().unwrap_or(""),
        machine["memory_gb"],
        machine["kernel"].as_str().unwrap_or(""),
        machine["nats_server"].as_str().unwrap_or(""),
        machine["loadavg_at_start"].as_str().unwrap_or(""),
    );
    println!("nats-server, the service, the stand-in and this load generator (one thread) all share these cores.");
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "PASS"
    } else {
        "MISS"
    }
}

fn row(what: &str, target: &str, measured: &str, verdict: &str) {
    println!("| {what:<50} | {target:<12} | {measured:<62} | {verdict:<4} |");
}

fn lat(r: &Value) -> String {
    format!(
        "{:.2} / {:.2} / {:.2} ms",
        f(&r["latency"]["p50_ms"]),
        f(&r["latency"]["p99_ms"]),
        f(&r["latency"]["p99_9_ms"])
    )
}

fn cpu(v: &Value) -> String {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| format!("{k} {:.0}%", f(v)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The table of the standard run (also pasted into bench/README.md).
pub fn table(j: &Value) {
    let ing = &j["ingestion"];
    let closed = &ing["closed"];
    let open = &ing["open"];
    let eo = &ing["exactly_once"];
    let raw = &j["raw_jetstream"]["closed"];
    let s = &j["sessions"];
    let m = &j["memory_startup"];
    let thr = f(&closed["throughput_per_s"]);
    let c = j["settings"]["concurrency"].as_u64().unwrap_or(0);
    println!();
    println!(
        "Measured on {} × {} (shared by nats-server, service, stand-in and load generator), {}",
        j["machine"]["cores"],
        j["machine"]["cpu"].as_str().unwrap_or(""),
        j["machine"]["nats_server"].as_str().unwrap_or("")
    );
    println!();
    row("metric", "target", "measured", "");
    println!(
        "|{}|{}|{}|{}|",
        "-".repeat(52),
        "-".repeat(14),
        "-".repeat(64),
        "-".repeat(6)
    );
    row(
        &format!(
            "1. webhooks/s, closed loop c={c}, {:.0} s",
            f(&j["settings"]["duration_s"])
        ),
        "≥ 25,000/s",
        &format!("{thr:.0}/s"),
        verdict(thr >= 25_000.0),
    );
    row(
        "   latency p50/p99/p99.9, closed loop",
        "",
        &lat(closed),
        "",
    );
    if !open.is_null() {
        let p99 = f(&open["latency"]["p99_ms"]);
        let mode = open["mode"].as_str().unwrap_or("");
        let at_target = mode == "open@25000/s";
        row(
            &format!("   latency p50/p99/p99.9, {mode} (CO-free)"),
            if at_target {
                "p99 ≤ 10 ms"
            } else {
                "(½ of max)"
            },
            &lat(open),
            if at_target { verdict(p99 <= 10.0) } else { "" },
        );
        row(
            "   open loop: achieved rate",
            "",
            &format!("{:.0}/s", f(&open["throughput_per_s"])),
            "",
        );
    }
    let non2xx = closed["non_2xx"].as_u64().unwrap_or(0)
        + open["non_2xx"].as_u64().unwrap_or(0)
        + ing["warmup"]["non_2xx"].as_u64().unwrap_or(0);
    let errors = closed["errors"].as_u64().unwrap_or(0)
        + open["errors"].as_u64().unwrap_or(0)
        + ing["warmup"]["errors"].as_u64().unwrap_or(0);
    row(
        "   non-2xx / transport errors (all phases)",
        "0",
        &format!("{non2xx} / {errors}"),
        verdict(non2xx == 0 && errors == 0),
    );
    let missing = eo["missing"].as_u64().unwrap_or(u64::MAX);
    let dup = eo["duplicated"].as_u64().unwrap_or(u64::MAX);
    row(
        "   2xx events missing / duplicated in PAYMENTS",
        "0 / 0",
        &format!(
            "{missing} / {dup} (of {} accepted)",
            eo["accepted_2xx"].as_u64().unwrap_or(0)
        ),
        verdict(missing == 0 && dup == 0 && eo["mismatched"].as_u64() == Some(0)),
    );
    let diag = &ing["diagnostic_pipeline_paused"];
    if !diag.is_null() {
        let dthr = f(&diag["closed"]["throughput_per_s"]);
        let raw_thr = f(&j["raw_jetstream"]["closed"]["throughput_per_s"]);
        row(
            "   diagnostic: webhooks/s with the pipeline paused",
            "",
            &format!(
                "{dthr:.0}/s ({:.0} % of raw), p99 {:.2} ms",
                100.0 * dthr / raw_thr.max(1e-9),
                f(&diag["closed"]["latency"]["p99_ms"])
            ),
            "",
        );
    }
    row(
        "   pipeline: outcomes published/s",
        "",
        &format!(
            "{:.0}/s ingesting, {:.0}/s to idle",
            f(&ing["pipeline"]["outcomes_per_s_while_ingesting"]),
            f(&ing["pipeline"]["outcomes_per_s_until_idle"])
        ),
        "",
    );
    row(
        "   CPU while ingesting (200% = both cores)",
        "",
        &cpu(&ing["cpu_percent_closed"]),
        "",
    );
    let raw_thr = f(&raw["throughput_per_s"]);
    row(
        &format!("2. raw JetStream publish+ack/s, c={c}"),
        "",
        &format!("{raw_thr:.0}/s, p99 {:.2} ms", f(&raw["latency"]["p99_ms"])),
        "",
    );
    let frac = f(&j["ingestion_fraction_of_raw"]);
    row(
        "   ingestion as a fraction of raw",
        "≥ 50 %",
        &format!("{:.0} %", frac * 100.0),
        verdict(frac >= 0.5),
    );
    let rate = f(&s["open_loop_rate_per_s"]);
    let sc = s["concurrency"].as_u64().unwrap_or(0);
    let d = &s["standin_direct"];
    row(
        &format!("3. stand-in direct, c={sc}"),
        "",
        &format!(
            "{:.0}/s; p50/p99 {:.2}/{:.2} ms @ {rate:.0}/s",
            f(&d["closed"]["throughput_per_s"]),
            f(&d["open"]["latency"]["p50_ms"]),
            f(&d["open"]["latency"]["p99_ms"])
        ),
        "",
    );
    for (key, label) in [("service_http", "HTTP"), ("service_nats", "NATS")] {
        let v = &s[key];
        let ratio = f(&v["throughput_ratio"]);
        row(
            &format!("   {label}: sessions/s (ratio to stand-in)"),
            "≥ 90 %",
            &format!(
                "{:.0}/s ({:.0} %)",
                f(&v["closed"]["throughput_per_s"]),
                ratio * 100.0
            ),
            verdict(ratio >= 0.9),
        );
        let p50 = f(&v["added_p50_ms"]);
        row(
            &format!("   {label}: added latency p50 / p99 @ {rate:.0}/s"),
            "p50 ≤ 0.5 ms",
            &format!("{p50:+.2} / {:+.2} ms", f(&v["added_p99_ms"])),
            verdict(p50 <= 0.5),
        );
        // Informational: the part of the NATS figure any NATS request pays (two hops through nats-server).
        let floor = &s["nats_echo_floor"]["open"]["latency"];
        if key == "service_nats" && !floor.is_null() {
            row(
                &format!("   NATS: round trip to a no-op responder @ {rate:.0}/s"),
                "",
                &format!(
                    "p50 / p99 {:.2} / {:.2} ms",
                    f(&floor["p50_ms"]),
                    f(&floor["p99_ms"])
                ),
                "",
            );
        }
    }
    let idle = f(&m["idle_rss_mb"]);
    let peak = f(&m["peak_rss_mb"]);
    row(
        "4. idle RSS",
        "≤ 20 MB",
        &format!("{idle:.1} MB"),
        verdict(idle <= 20.0),
    );
    row(
        "   peak RSS during ingestion (VmHWM)",
        "≤ 64 MB",
        &format!("{peak:.1} MB"),
        verdict(peak <= 64.0),
    );
    if !m["peak_rss_including_diagnostic_mb"].is_null() {
        row(
            "   peak RSS including the paused-pipeline diagnostic",
            "",
            &format!("{:.1} MB", f(&m["peak_rss_including_diagnostic_mb"])),
            "",
        );
    }
    let starts: Vec<f64> = m["start_to_ready_ms"]
        .as_array()
        .map(|a| a.iter().map(f).collect())
        .unwrap_or_default();
    let mut sorted = starts.clone();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let max = sorted.last().copied().unwrap_or(f64::NAN);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    row(
        "   start → /ready 200 (first, median, max)",
        "≤ 100 ms",
        &format!(
            "{:.1}, {median:.1}, {max:.1} ms",
            starts.first().copied().unwrap_or(f64::NAN)
        ),
        verdict(max <= 100.0),
    );
}

pub fn scaling_table(j: &Value) {
    println!();
    println!(
        "| {:<40} | {:>12} | {:>10} | {:>12} | {:>12} | {:>11} | {:>13} |",
        "scenario",
        "webhooks/s",
        "p99 (ms)",
        "pipeline/s",
        "raw JS/s",
        "missing/dup",
        "peak RSS (MB)"
    );
    println!(
        "|{}|{}|{}|{}|{}|{}|{}|",
        "-".repeat(42),
        "-".repeat(14),
        "-".repeat(12),
        "-".repeat(14),
        "-".repeat(14),
        "-".repeat(13),
        "-".repeat(15)
    );
    for r in j["scenarios"].as_array().into_iter().flatten() {
        let peaks = r["peak_rss_mb"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| format!("{:.0}", f(v)))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_default();
        println!(
            "| {:<40} | {:>12.0} | {:>10.2} | {:>12.0} | {:>12.0} | {:>11} | {:>13} |",
            r["scenario"].as_str().unwrap_or(""),
            f(&r["ingestion_per_s"]),
            f(&r["p99_closed_ms"]),
            f(&r["pipeline_per_s"]),
            f(&r["raw_per_s"]),
            format!("{}/{}", r["missing"], r["duplicated"]),
            peaks
        );
    }
    for r in j["scenarios"].as_array().into_iter().flatten() {
        println!(
            "  {}: CPU while ingesting: {}",
            r["scenario"].as_str().unwrap_or(""),
            cpu(&r["ingestion"]["cpu_percent_closed"])
        );
    }
}
