//! `--readiness`: several service replicas started at once on a fresh 3-node NATS cluster with R3 streams and
//! buckets (CONTRACT §5: all ready within 15 s). Each run starts a new cluster, spawns three replicas (each on a
//! different node) as soon as the servers listen — while JetStream is still electing its meta leader — and
//! measures each replica's start → `/ready` 200.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use testkit::NatsCluster;

use crate::procs::{self, Proc, ServiceEnv};
use crate::{report, Args};

const REPLICAS: usize = 3;
const GIVE_UP: Duration = Duration::from_secs(90);
/// The contract's bound.
const BOUND_S: f64 = 15.0;

pub async fn readiness(args: &Args) -> Value {
    let machine = report::machine();
    report::banner(&machine, args);
    let workdir = tempfile::tempdir().expect("workdir");
    let mut runs = Vec::new();
    for run in 0..args.starts {
        let cluster = NatsCluster::start_unsettled();
        let listening = Instant::now();
        let urls = cluster.urls();
        let mut replicas: Vec<(Proc, u16, Instant, Option<f64>)> = (0..REPLICAS)
            .map(|r| {
                let env = ServiceEnv {
                    bin: args.payments_bin.clone(),
                    nats_servers: urls[r % urls.len()].clone(),
                    // Nothing calls Stripe during start-up.
                    stripe_api_base: "http://127.0.0.1:9".into(),
                    endpoint_secret: "whsec_bench_readiness".into(),
                    replicas: 3,
                    workdir: workdir.path().into(),
                    logs: args.logs.clone(),
                    extra: args.service_env.clone(),
                };
                let port = procs::free_port();
                let (proc, started) =
                    procs::spawn_service(&env, port, &format!("service-readiness-{}", r + 1));
                (proc, port, started, None)
            })
            .collect();
        // Every replica is polled in turn, so none is observed late because another was being waited for.
        while replicas.iter().any(|r| r.3.is_none()) && listening.elapsed() < GIVE_UP {
            for (proc, port, started, ready) in replicas.iter_mut().filter(|r| r.3.is_none()) {
                if let Ok(Some(status)) = proc.child.try_wait() {
                    panic!(
                        "{} exited during start-up: {status} (see results/logs)",
                        proc.name
                    );
                }
                if procs::http_status(procs_addr(*port), "/ready") == Some(200) {
                    *ready = Some(started.elapsed().as_secs_f64());
                }
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let leader = cluster
            .meta_leader_known_at()
            .map(|at| at.saturating_duration_since(listening).as_secs_f64());
        let times: Vec<Option<f64>> = replicas.iter().map(|r| r.3).collect();
        println!(
            "    run {}: meta leader known {} after the servers listened; replicas ready after {}",
            run + 1,
            leader.map_or("never".into(), |s| format!("{:.2} s", s)),
            times
                .iter()
                .map(|t| t.map_or("—".into(), |s| format!("{s:.2} s")))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for (mut proc, ..) in replicas {
            proc.stop(Duration::from_secs(30));
        }
        runs.push(json!({"meta_leader_s": leader, "ready_s": times}));
        drop(cluster);
    }
    let all: Vec<f64> = runs
        .iter()
        .flat_map(|r| r["ready_s"].as_array().cloned().unwrap_or_default())
        .map(|t| t.as_f64().unwrap_or(f64::INFINITY))
        .collect();
    let worst = all.iter().cloned().fold(0.0, f64::max);
    let mut sorted = all.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN);
    println!(
        "\n    {} runs × {REPLICAS} replicas: median {median:.2} s, slowest {worst:.2} s (bound {BOUND_S} s: {})",
        runs.len(),
        if worst <= BOUND_S { "pass" } else { "miss" }
    );
    json!({
        "benchmark": "payments --readiness",
        "machine": machine,
        "settings": {"replicas": REPLICAS, "stream_replicas": 3, "nats_nodes": 3, "runs": runs.len()},
        "runs": runs,
        "median_ready_s": median,
        "slowest_ready_s": worst,
        "bound_s": BOUND_S,
    })
}

fn procs_addr(port: u16) -> std::net::SocketAddr {
    std::net::SocketAddr::from(([127, 0, 0, 1], port))
}
