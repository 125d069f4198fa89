//! `--slow-clients N`: the webhook load with and without N slow clients (one byte per second each) held open
//! (issue 14): the load must keep ≥ 80 % of its throughput and the service's RSS stay under 100 MB. Then SIGTERM
//! with the slow clients still connected: the exit time, against `SHUTDOWN_GRACE` + 5 s.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::{json, Value};

use super::ingestion::{drain, run_webhooks, webhook_pool};
use super::output::{cpu_json, line, report_json};
use super::startup::{mb, RssSampler};
use super::{loopback, seed};
use crate::events::{Ids, WebhookTemplate};
use crate::load::Mode;
use crate::procs::{self, Nats};
use crate::slowloris::SlowClients;
use crate::{report, usage, Args};

const MIN_RATIO: f64 = 0.8;
const MAX_RSS_MB: f64 = 100.0;
/// Short, so that the shutdown with the slow clients held is measured quickly (the bound is grace + 5 s).
const GRACE_S: u64 = 2;

pub async fn slow_clients(args: &Args, n: usize) -> Value {
    let machine = report::machine();
    report::banner(&machine, args);
    raise_open_files(n);
    let fixture =
        std::fs::read_to_string(&args.fixture).expect("read the charge.succeeded fixture");
    let nats = Nats::single(&args.logs);
    let (standin, standin_url, _) = procs::standin(&args.standin_bin, &args.logs, "standin-slow");
    let ids = Ids::new(seed());
    let secret = format!("whsec_bench{}", ids.tag());
    let workdir = tempfile::tempdir().expect("workdir");
    let mut env = super::single_env(args, nats.url(), standin_url, &secret, &workdir);
    env.extra
        .push(("SHUTDOWN_GRACE".into(), format!("{GRACE_S}s")));
    let port = procs::free_port();
    let (mut service, t0) = procs::spawn_service(&env, port, "service-slow");
    procs::wait_ready(&mut service, port, t0, Duration::from_secs(30))
        .expect("the service was not ready within 30 s (see bench/results/logs/service-slow.log)");
    let pid = service.pid();
    let client = async_nats::connect(nats.url())
        .await
        .expect("bench NATS client");
    let js = jetstream::new(client.clone());
    let template = Arc::new(WebhookTemplate::new(&fixture, &secret, ids.clone()));
    let targets = [loopback(port)];
    let statuses = Rc::new(RefCell::new(Vec::new()));
    let c = args.concurrency;
    let pids = vec![
        ("service".to_string(), pid),
        ("nats-server".to_string(), nats.pids()[0]),
        ("load generator + slow clients".to_string(), 0),
    ];
    let pids = &pids;
    let run = |label: &'static str, duration: Duration, js: &jetstream::Context| {
        let (template, statuses, js) = (template.clone(), statuses.clone(), js.clone());
        async move {
            let base = statuses.borrow().len();
            let pool = webhook_pool(
                &template,
                base,
                (30_000.0 * duration.as_secs_f64()) as usize,
            );
            let cpu = usage::CpuMeter::start(pids);
            let r = run_webhooks(&targets, pool, &statuses, Mode::Closed, duration, c).await;
            let cpu = cpu.stop();
            line(&r, label);
            drain(&js, args, label).await;
            (r, cpu)
        }
    };

    println!("\n[slow clients] POST /payments/webhook, c={c}, {} s, without then with {n} clients sending 1 byte/s", args.duration.as_secs_f64());
    let (warm, _) = run("warm-up", args.warmup, &js).await;
    let (alone, cpu_alone) = run("alone (closed loop)", args.duration, &js).await;
    let rss_before = mb(usage::mem_kib(pid).get("VmRSS").copied().unwrap_or(0));

    let slow = SlowClients::start(loopback(port), n);
    let all_open = slow.wait_open(n, Duration::from_secs(30)).await;
    let rss_held = mb(usage::mem_kib(pid).get("VmRSS").copied().unwrap_or(0));
    println!("    {n} slow clients {}; service RSS {rss_before:.1} MB before, {rss_held:.1} MB with them", if all_open { "open" } else { "NOT all open" });
    let sampler = RssSampler::start(vec![pid]);
    let (loaded, cpu_loaded) = run("with the slow clients (closed loop)", args.duration, &js).await;
    let (peak, timeline) = sampler.stop().await;
    let peak_rss = peak.first().copied().unwrap_or(0.0);
    let open_at_end = slow.stats.open.load(Relaxed);
    // Before SIGTERM: afterwards every client fails to reconnect until it is stopped.
    let connect_errors = slow.stats.connect_errors.load(Relaxed);

    // SIGTERM while the slow clients still hold their connections.
    let stopping = Instant::now();
    service.stop(Duration::from_secs(GRACE_S + 30));
    let exit_s = stopping.elapsed().as_secs_f64();
    let stats = slow.stop();
    drop((js, client, standin, nats));

    let ratio = loaded.throughput() / alone.throughput().max(1e-9);
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    println!("\n| metric | target | measured | |\n|---|---|---|---|");
    println!(
        "| webhooks/s alone, c={c} | | {:.0}/s | |",
        alone.throughput()
    );
    println!(
        "| webhooks/s with {n} slow clients | ≥ 80 % of alone | {:.0}/s ({:.0} %) | {} |",
        loaded.throughput(),
        ratio * 100.0,
        verdict(ratio >= MIN_RATIO)
    );
    println!("| service peak RSS with them | < {MAX_RSS_MB:.0} MB | {peak_rss:.1} MB (before {rss_before:.1}) | {} |", verdict(peak_rss < MAX_RSS_MB));
    println!(
        "| slow clients open at the end (connect errors) | {n} | {open_at_end} ({connect_errors}) | {} |",
        verdict(all_open && open_at_end >= n * 95 / 100)
    );
    println!(
        "| cut by the service (head / body; 408 read first) | | {} / {} ({}) | |",
        stats.head_closed.load(Relaxed),
        stats.body_closed.load(Relaxed),
        stats.answered_408.load(Relaxed)
    );
    println!("| exit after SIGTERM, slow clients held | ≤ grace {GRACE_S} s + 5 s | {exit_s:.2} s | {} |", verdict(exit_s <= (GRACE_S + 5) as f64));

    json!({
        "benchmark": "payments --slow-clients",
        "when_unix": crate::events::unix_now(),
        "machine": machine,
        "slow_clients": n,
        "concurrency": c,
        "duration_s": args.duration.as_secs_f64(),
        "warm_up": report_json(&warm, Mode::Closed, c),
        "alone": { "run": report_json(&alone, Mode::Closed, c), "cpu_percent": cpu_json(&cpu_alone) },
        "with_slow_clients": { "run": report_json(&loaded, Mode::Closed, c), "cpu_percent": cpu_json(&cpu_loaded) },
        "throughput_ratio": ratio,
        "rss_mb": { "before": rss_before, "slow_clients_open": rss_held, "peak_during_load": peak_rss, "timeline": timeline },
        "slow": {
            "all_open": all_open,
            "open_at_end": open_at_end,
            "bytes_sent": stats.bytes_sent.load(Relaxed),
            "closed_head": stats.head_closed.load(Relaxed),
            "closed_body": stats.body_closed.load(Relaxed),
            "answered_408": stats.answered_408.load(Relaxed),
            "connect_errors_while_serving": connect_errors,
        },
        "shutdown": { "grace_s": GRACE_S, "exit_after_sigterm_s": exit_s },
        "pass": ratio >= MIN_RATIO && peak_rss < MAX_RSS_MB && exit_s <= (GRACE_S + 5) as f64,
    })
}

/// Each slow client is a socket here and one in the service (which inherits this limit): raise the soft limit
/// of open files to the hard one when it is too low for them.
fn raise_open_files(n: usize) {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct passed.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return;
        }
        let want = (2 * n as libc::rlim_t + 1024).min(limit.rlim_max);
        if limit.rlim_cur < want {
            limit.rlim_cur = want;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
    println!(
        "    open files: soft limit {} (hard {})",
        limit.rlim_cur, limit.rlim_max
    );
}
