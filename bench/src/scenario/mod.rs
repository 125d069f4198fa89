//! The runs: the standard benchmark (parts 1–4 of the issue), `--scaling` (replicas × NATS cluster) and
//! `--readiness` (replicas started at once on a fresh cluster).
//! This module runs the standard benchmark and holds what the parts share; each part is a submodule.

mod ingestion;
mod output;
mod profile;
mod raw;
mod readiness;
mod reconcile;
mod recovery;
mod scaling;
mod senders;
mod sessions;
mod slow_clients;
mod startup;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::{json, Value};

use crate::events::{self, Ids, WebhookTemplate};
use crate::procs::{self, Nats, ServiceEnv};
use crate::usage;
use crate::{report, Args};
use ingestion::ingestion;
use raw::raw_jetstream;
pub use readiness::readiness;
pub use reconcile::reconcile;
pub use recovery::recovery;
pub use scaling::scaling;
use sessions::{sessions, Sessions};
pub use slow_clients::slow_clients;
use startup::{mb, StartUp};

/// Largest webhook pool built at once (about 3.7 KB a request: ~6 GB); a run that uses it up ends early.
const MAX_POOL: usize = 1_600_000;
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
pub const TARGET_RATE: f64 = 25_000.0;

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (t.as_nanos() as u64) ^ (u64::from(std::process::id()) << 32)
}

fn loopback(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// The release binary of `args` against one NATS (R1) and one stand-in, in an empty working directory.
fn single_env(
    args: &Args,
    nats_servers: String,
    stripe_api_base: String,
    endpoint_secret: &str,
    workdir: &tempfile::TempDir,
) -> ServiceEnv {
    ServiceEnv {
        bin: args.payments_bin.clone(),
        nats_servers,
        stripe_api_base,
        endpoint_secret: endpoint_secret.to_owned(),
        replicas: 1,
        workdir: workdir.path().into(),
        logs: args.logs.clone(),
        extra: args.service_env.clone(),
    }
}

/// Writes dirty pages out (`sync`) so that a measured phase does not pay for the previous phase's disk writeback
/// (JetStream file storage writes ~3.8 KB per event; several GB per run).
pub async fn settle_disk() {
    let started = Instant::now();
    let _ = tokio::task::spawn_blocking(|| unsafe { libc::sync() }).await;
    let secs = started.elapsed().as_secs_f64();
    if secs > 0.5 {
        println!("    (sync: {secs:.1} s writing back the previous phase's data)");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The standard run

pub async fn standard(args: &Args) -> Value {
    let machine = report::machine();
    report::banner(&machine, args);
    let fixture =
        std::fs::read_to_string(&args.fixture).expect("read the charge.succeeded fixture");
    let nats = Nats::single(&args.logs);
    let (standin, standin_url, _) = procs::standin(&args.standin_bin, &args.logs, "standin-ingest");
    let ids = Ids::new(seed());
    let secret = format!("whsec_bench{}", ids.tag());
    let workdir = tempfile::tempdir().expect("workdir");
    let env = single_env(args, nats.url(), standin_url, &secret, &workdir);

    // Part 4 first: start-up (fresh NATS, then restarts) and idle memory.
    println!(
        "\n[start-up] {} starts of the release binary, /ready polled every 250 µs",
        args.starts
    );
    let StartUp {
        starts,
        service,
        port,
        idle_rss,
    } = startup::start_up(args, &env).await;
    let pid = service.pid();

    let client = async_nats::connect(nats.url())
        .await
        .expect("bench NATS client");
    let js = jetstream::new(client.clone());
    let template = Arc::new(WebhookTemplate::new(&fixture, &secret, ids.clone()));

    println!(
        "\n[1. ingestion] POST /payments/webhook, c={}, {} s after a {} s warm-up",
        args.concurrency,
        args.duration.as_secs_f64(),
        args.warmup.as_secs_f64()
    );
    let others = vec![
        ("nats-server".to_string(), nats.pids()[0]),
        ("stand-in".to_string(), standin.pid()),
    ];
    let ingest = ingestion(
        args,
        &[loopback(port)],
        &[("service".into(), pid)],
        &others,
        &template,
        &ids,
        &js,
        true,
    )
    .await;
    let mem = usage::mem_kib(pid);
    let peak_rss = ingest.peak_rss_ingestion.first().copied().unwrap_or(0.0);
    let peak_with_diagnostic = mb(mem.get("VmHWM").copied().unwrap_or(0));
    let after_rss = mb(mem.get("VmRSS").copied().unwrap_or(0));
    println!(
        "    peak RSS (VmHWM) {peak_rss:.1} MB during ingestion, {peak_with_diagnostic:.1} MB including the diagnostic; RSS now {after_rss:.1} MB"
    );
    let mut service = service;
    service.stop(Duration::from_secs(30));
    drop(standin);

    println!(
        "\n[2. the limit] raw JetStream publish-with-ack of the same bodies, c={}",
        args.concurrency
    );
    let (raw, raw_json) = raw_jetstream(
        args,
        &js,
        &template,
        1,
        &[("nats-server".into(), nats.pids()[0])],
    )
    .await;

    println!("\n[3. sessions] create a Checkout Session, c={}, {} s each; fresh stand-in (and service) per run", args.session_concurrency, args.session_duration.as_secs_f64());
    let sessions = if args.skip_sessions {
        println!("    skipped (--skip-sessions)");
        Sessions { json: Value::Null }
    } else {
        // On a fresh nats-server: parts 1 and 2 leave millions of stored messages and their de-duplication state
        // behind, and the upkeep of those stalled the session runs (the stand-in direct measured 7,600–10,700/s
        // after them, 13,200/s without them), which skewed every ratio to it.
        drop((js, client));
        drop(nats);
        let nats = Nats::single(&args.logs);
        let client = async_nats::connect(nats.url())
            .await
            .expect("bench NATS client");
        let env = ServiceEnv {
            nats_servers: nats.url(),
            ..env
        };
        sessions(args, &env, nats.pids()[0], &client).await
    };

    let json = json!({
        "benchmark": "payments",
        "when_unix": events::unix_now(),
        "machine": machine,
        "settings": {
            "duration_s": args.duration.as_secs_f64(),
            "warmup_s": args.warmup.as_secs_f64(),
            "session_duration_s": args.session_duration.as_secs_f64(),
            "concurrency": args.concurrency,
            "session_concurrency": args.session_concurrency,
            "service_env": "RUST_LOG=warn LOG_FORMAT=text NATS_STREAM_REPLICAS=1, defaults otherwise",
            "load_generator": "payments-bench: one thread, minimal HTTP/1.1 keep-alive client, requests pre-built and pre-signed; open loop = wrk2-style latency from the due time",
        },
        "ingestion": ingest.json,
        "raw_jetstream": raw_json,
        "ingestion_fraction_of_raw": ingest.closed.throughput() / raw.throughput().max(1e-9),
        "sessions": sessions.json,
        "memory_startup": {
            "idle_rss_mb": idle_rss,
            "peak_rss_mb": peak_rss,
            "peak_rss_including_diagnostic_mb": peak_with_diagnostic,
            "peak_rss_sampled_mb": ingest.rss_peak_sampled.first().copied().unwrap_or(0.0),
            "rss_after_ingestion_mb": after_rss,
            "start_to_ready_ms": starts,
        },
    });
    let _ = (&ingest.check, ingest.pipeline_rate, &ingest.open);
    report::table(&json);
    json
}
