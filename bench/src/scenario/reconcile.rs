//! `--reconcile`: the throughput of `payments reconcile` against the stand-in's `GET /v1/events` (100 events a
//! page). 10,000 `charge.succeeded` events are recorded in the stand-in and never delivered; a first
//! `payments reconcile --since 1h` recovers them all (then the time until every payment is published, checked
//! exactly once), a second lists the same 10,000, all already known: the pure listing rate.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::{json, Value};

use super::{loopback, seed};
use crate::events::{unix_now, Ids, WebhookTemplate};
use crate::procs::{self, Nats, ServiceEnv};
use crate::verify::{self, ACCEPTED};
use crate::Args;

/// The goal for already-known events on the 2-core machine.
const GOAL_KNOWN_PER_SEC: f64 = 2_000.0;
/// Events recorded per `POST /_emulator/events` (about 0.9 MB: axum refuses bodies over 2 MB).
const CHUNK: usize = 250;

pub async fn reconcile(args: &Args) -> Value {
    let events = args.reconcile_events;
    let fixture =
        std::fs::read_to_string(&args.fixture).expect("read the charge.succeeded fixture");
    let nats = Nats::single(&args.logs);
    let (_standin, standin_url, standin_port) =
        procs::standin(&args.standin_bin, &args.logs, "standin-reconcile");
    let ids = Ids::new(seed());
    let secret = format!("whsec_bench{}", ids.tag());
    let workdir = tempfile::tempdir().expect("workdir");
    let mut env = super::single_env(args, nats.url(), standin_url.clone(), &secret, &workdir);
    env.extra = vec![("RECONCILE_INTERVAL".into(), "off".into())];
    let port = procs::free_port();
    let (mut service, started) = procs::spawn_service(&env, port, "service-reconcile");
    procs::wait_ready(&mut service, port, started, Duration::from_secs(60))
        .expect("the service became ready");
    let client = async_nats::connect(nats.url())
        .await
        .expect("bench NATS client");
    let js = jetstream::new(client);

    println!(
        "\n[reconcile] {events} charge.succeeded events recorded in the stand-in, never delivered"
    );
    let template = WebhookTemplate::new(&fixture, &secret, ids.clone());
    let created = unix_now();
    let recorded = Instant::now();
    for start in (0..events).step_by(CHUNK) {
        let mut body = b"[".to_vec();
        for i in start..(start + CHUNK).min(events) {
            if i > start {
                body.push(b',');
            }
            template.body(i, created, &mut body);
        }
        body.push(b']');
        let status = post(standin_port, "/_emulator/events", &body);
        assert_eq!(status, 201, "recording events in the stand-in");
    }
    println!("    recorded in {:.1} s", recorded.elapsed().as_secs_f64());

    let unknown = run_cli(&env, &args.payments_bin);
    println!(
        "    unknown: `{}` in {:.2} s = {:.0} events/s",
        unknown.summary,
        unknown.secs,
        events as f64 / unknown.secs
    );
    let (state, idle_at) = verify::wait_idle(&js, Duration::from_secs(300)).await;
    let published_secs = idle_at.map(|at| (at - unknown.started).as_secs_f64());
    let statuses = vec![ACCEPTED; events];
    let check = verify::exactly_once(&js, &ids, &statuses)
        .await
        .expect("read PAYMENTS");
    println!(
        "    all published {} s after the command started ({} in PAYMENTS, missing {}, duplicated {}, mismatched {})",
        published_secs.map_or("(timed out)".into(), |s| format!("{s:.2}")),
        state.payments,
        check.missing,
        check.duplicated,
        check.mismatched
    );

    let known = run_cli(&env, &args.payments_bin);
    let known_rate = events as f64 / known.secs;
    println!(
        "    already known: `{}` in {:.2} s = {:.0} events/s (goal ≥ {GOAL_KNOWN_PER_SEC:.0}/s: {})",
        known.summary,
        known.secs,
        known_rate,
        if known_rate >= GOAL_KNOWN_PER_SEC { "met" } else { "NOT met" }
    );
    json!({
        "events": events,
        "page_size": 100,
        "unknown": {
            "summary": unknown.summary,
            "reconcile_secs": unknown.secs,
            "events_per_sec": events as f64 / unknown.secs,
            "all_published_secs": published_secs,
            "payments_messages": state.payments,
            "missing": check.missing,
            "duplicated": check.duplicated,
            "mismatched": check.mismatched,
        },
        "known": {
            "summary": known.summary,
            "reconcile_secs": known.secs,
            "events_per_sec": known_rate,
            "goal_events_per_sec": GOAL_KNOWN_PER_SEC,
        },
    })
}

struct CliRun {
    summary: String,
    secs: f64,
    started: Instant,
}

/// `payments reconcile --since 1h` with the service's environment, timed from spawn to exit.
fn run_cli(env: &ServiceEnv, bin: &std::path::Path) -> CliRun {
    let started = Instant::now();
    let output = Command::new(bin)
        .current_dir(&env.workdir)
        .env_clear()
        .env("NATS_SERVERS", &env.nats_servers)
        .env("STRIPE_SECRET", "sk_test_bench")
        .env("STRIPE_ENDPOINT_SECRET", &env.endpoint_secret)
        .env("STRIPE_SUCCESS_URL", procs::SUCCESS_URL)
        .env("STRIPE_CANCEL_URL", procs::CANCEL_URL)
        .env("STRIPE_API_BASE", &env.stripe_api_base)
        .env("RUST_LOG", "warn")
        .args(["reconcile", "--since", "1h"])
        .output()
        .expect("payments reconcile runs");
    let secs = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    assert!(
        output.status.success(),
        "payments reconcile failed: {stdout} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    CliRun {
        summary: stdout,
        secs,
        started,
    }
}

/// A blocking one-shot `POST` of JSON; the status.
fn post(port: u16, path: &str, body: &[u8]) -> u16 {
    let mut stream = TcpStream::connect(loopback(port)).expect("stand-in reachable");
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("write");
    stream.write_all(body).expect("write");
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}
