//! `--scaling`: ingestion and raw JetStream with 1 or 2 service replicas, on one nats-server or a 3-node cluster.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use bytes::Bytes;
use serde_json::{json, Value};

use super::ingestion::ingestion;
use super::raw::raw_jetstream;
use super::{loopback, seed};
use crate::events::{self, Ids, WebhookTemplate};
use crate::load;
use crate::procs::{self, Nats, ServiceEnv};
use crate::{report, Args};

pub async fn scaling(args: &Args) -> Value {
    let machine = report::machine();
    report::banner(&machine, args);
    let fixture =
        std::fs::read_to_string(&args.fixture).expect("read the charge.succeeded fixture");
    let scenarios: [(&str, bool, usize); 4] = [
        ("1 nats-server, R1 streams, 1 replica", false, 1),
        ("1 nats-server, R1 streams, 2 replicas", false, 2),
        ("3-node cluster, R3 streams, 1 replica", true, 1),
        ("3-node cluster, R3 streams, 2 replicas", true, 2),
    ];
    let mut rows = Vec::new();
    for (name, cluster, n_services) in scenarios {
        println!("\n[scaling] {name}");
        let nats = if cluster {
            Nats::cluster(&args.logs)
        } else {
            Nats::single(&args.logs)
        };
        let replicas = if cluster { 3 } else { 1 };
        let (standin, standin_url, _) =
            procs::standin(&args.standin_bin, &args.logs, "standin-scaling");
        let ids = Ids::new(seed());
        let secret = format!("whsec_bench{}", ids.tag());
        let workdir = tempfile::tempdir().expect("workdir");
        let urls = nats.urls();
        // A cluster's JetStream is usable only once its meta leader is elected: wait for it, so that the
        // replicas' start-up is not spent waiting for the cluster.
        let js_ready = Instant::now();
        let probe = connect(&urls).await;
        wait_jetstream(&probe).await;
        println!(
            "    JetStream ready {:.1} s after the servers",
            js_ready.elapsed().as_secs_f64()
        );
        drop(probe);
        let mut services = Vec::new();
        let mut targets = Vec::new();
        let mut service_pids = Vec::new();
        for s in 0..n_services {
            // Each replica lists the nodes from a different one first.
            let mut order = urls.clone();
            order.rotate_left(s % urls.len());
            let env = ServiceEnv {
                bin: args.payments_bin.clone(),
                nats_servers: order.join(","),
                stripe_api_base: standin_url.clone(),
                endpoint_secret: secret.clone(),
                replicas: replicas as u32,
                workdir: workdir.path().into(),
                logs: args.logs.clone(),
                extra: args.service_env.clone(),
            };
            let port = procs::free_port();
            let (mut p, t0) =
                procs::spawn_service(&env, port, &format!("service-scaling-{}", s + 1));
            let ready = procs::wait_ready(&mut p, port, t0, Duration::from_secs(60))
                .expect("replica ready");
            println!(
                "    replica {} ready after {:.1} ms",
                s + 1,
                ready.as_secs_f64() * 1000.0
            );
            service_pids.push((format!("service-{}", s + 1), p.pid()));
            targets.push(loopback(port));
            services.push(p);
        }
        let client = connect(&urls).await;
        let js = jetstream::new(client.clone());
        let template = Arc::new(WebhookTemplate::new(&fixture, &secret, ids.clone()));
        let mut others: Vec<(String, u32)> = nats
            .pids()
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("nats-{}", i + 1), *p))
            .collect();
        others.push(("stand-in".into(), standin.pid()));
        let ingest = ingestion(
            args,
            &targets,
            &service_pids,
            &others,
            &template,
            &ids,
            &js,
            false,
        )
        .await;
        let peak = ingest.peak_rss_ingestion.clone();
        for mut s in services {
            s.stop(Duration::from_secs(30));
        }
        drop(standin);
        println!("    raw JetStream publish-with-ack, R{replicas}:");
        let nats_pids: Vec<(String, u32)> = others
            .iter()
            .filter(|(n, _)| n.starts_with("nats"))
            .cloned()
            .collect();
        let (raw, raw_json) = raw_jetstream(args, &js, &template, replicas, &nats_pids).await;
        rows.push(json!({
            "scenario": name,
            "nats_nodes": if cluster { 3 } else { 1 },
            "stream_replicas": replicas,
            "service_replicas": n_services,
            "ingestion": ingest.json,
            "ingestion_per_s": ingest.closed.throughput(),
            "p99_closed_ms": load::p(&ingest.closed.latency, 0.99),
            "pipeline_per_s": ingest.pipeline_rate,
            "missing": ingest.check.missing,
            "duplicated": ingest.check.duplicated,
            "peak_rss_mb": peak,
            "raw_jetstream": raw_json,
            "raw_per_s": raw.throughput(),
        }));
        drop(client);
        drop(nats);
    }
    let json = json!({
        "benchmark": "payments --scaling",
        "when_unix": events::unix_now(),
        "machine": machine,
        "settings": {
            "duration_s": args.duration.as_secs_f64(),
            "warmup_s": args.warmup.as_secs_f64(),
            "concurrency": args.concurrency,
            "balancing": "the load generator's connections alternate between replicas (round-robin per connection)",
        },
        "scenarios": rows,
    });
    report::scaling_table(&json);
    json
}

async fn connect(urls: &[String]) -> async_nats::Client {
    let addrs: Vec<async_nats::ServerAddr> = urls
        .iter()
        .map(|u| u.parse().expect("a NATS URL"))
        .collect();
    async_nats::connect(addrs).await.expect("bench NATS client")
}

/// Polls `$JS.API.INFO` until JetStream answers without an error (60 s at most).
async fn wait_jetstream(client: &async_nats::Client) {
    let until = Instant::now() + Duration::from_secs(60);
    while Instant::now() < until {
        if let Ok(Ok(reply)) = tokio::time::timeout(
            Duration::from_secs(2),
            client.request("$JS.API.INFO", Bytes::new()),
        )
        .await
        {
            let ok = serde_json::from_slice::<Value>(&reply.payload)
                .map(|v| v.get("error").is_none())
                .unwrap_or(false);
            if ok {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("    JetStream did not become ready within 60 s");
}
