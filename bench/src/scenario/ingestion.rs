//! Part 1: webhook ingestion: warm-up, the closed-loop and open-loop phases, the diagnostic with the pipeline
//! paused, and the exactly-once check of PAYMENTS.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::{json, Value};

use super::output::{cpu_json, line, report_json};
use super::profile::perf_record;
use super::senders::{http_conns, Webhook};
use super::startup::{mb, RssSampler};
use super::{settle_disk, MAX_POOL, REQUEST_TIMEOUT, TARGET_RATE};
use crate::events::{self, Ids, Pool, WebhookTemplate};
use crate::load::{self, HttpConn, Mode, Report, Spec};
use crate::usage;
use crate::verify::{self, NOT_SENT};
use crate::Args;

pub struct Ingestion {
    pub json: Value,
    pub peak_rss_ingestion: Vec<f64>,
    pub closed: Report,
    pub open: Option<(f64, Report)>,
    pub check: verify::Check,
    pub rss_peak_sampled: Vec<f64>,
    pub pipeline_rate: f64,
}

pub(super) fn webhook_pool(template: &Arc<WebhookTemplate>, base: usize, len: usize) -> Rc<Pool> {
    let t = events::unix_now();
    let started = Instant::now();
    let pool = Pool::build(base, len.min(MAX_POOL), |i, out| {
        template.request(i, t, out)
    });
    println!(
        "    built and signed {} distinct charge.succeeded webhooks ({:.0} MB, body {} B) in {:.1} s",
        pool.len(),
        pool.bytes() as f64 / 1e6,
        pool.mean_body_len(),
        started.elapsed().as_secs_f64()
    );
    Rc::new(pool)
}

pub(super) async fn run_webhooks(
    targets: &[SocketAddr],
    pool: Rc<Pool>,
    statuses: &Rc<RefCell<Vec<u8>>>,
    mode: Mode,
    duration: Duration,
    concurrency: usize,
) -> Report {
    settle_disk().await;
    {
        let mut s = statuses.borrow_mut();
        let need = pool.base + pool.len();
        if s.len() < need {
            s.resize(need, NOT_SENT);
        }
    }
    let senders = http_conns(targets, concurrency)
        .await
        .into_iter()
        .map(|conn| Webhook {
            conn,
            pool: pool.clone(),
            statuses: statuses.clone(),
        })
        .collect();
    let limit = pool.len();
    drop(pool);
    load::drive(
        senders,
        Spec {
            mode,
            duration,
            limit,
            timeout: REQUEST_TIMEOUT,
        },
    )
    .await
}

pub(super) async fn drain(
    js: &jetstream::Context,
    args: &Args,
    what: &str,
) -> (verify::Pipeline, Option<Instant>) {
    let started = Instant::now();
    let (state, idle) = verify::wait_idle(js, args.drain_timeout).await;
    match idle {
        Some(_) => println!(
            "    pipeline idle after {:.1} s ({what}): {} events stored, {} in PAYMENTS",
            started.elapsed().as_secs_f64(),
            state.events_stored,
            state.payments
        ),
        None => println!(
            "    pipeline NOT idle after {:.0} s ({what}): {} pending, {} unacknowledged",
            args.drain_timeout.as_secs_f64(),
            state.pending,
            state.ack_pending
        ),
    }
    (state, idle)
}

/// Warm-up, the closed-loop measurement, optionally the open-loop one, then the exactly-once check.
#[allow(clippy::too_many_arguments)]
pub async fn ingestion(
    args: &Args,
    targets: &[SocketAddr],
    service_pids: &[(String, u32)],
    other_pids: &[(String, u32)],
    template: &Arc<WebhookTemplate>,
    ids: &Ids,
    js: &jetstream::Context,
    open_loop: bool,
) -> Ingestion {
    let c = args.concurrency;
    let statuses: Rc<RefCell<Vec<u8>>> = Rc::new(RefCell::new(Vec::new()));
    let next_base = |s: &Rc<RefCell<Vec<u8>>>| s.borrow().len();

    // Warm-up: as fast as it goes, then let the pipeline catch up so the measurement starts from idle.
    let warm_len = ((args.warmup.as_secs_f64() * 60_000.0) as usize).max(1000);
    let pool = webhook_pool(template, 0, warm_len);
    let warm = run_webhooks(targets, pool, &statuses, Mode::Closed, args.warmup, c).await;
    line(&warm, "warm-up (closed loop)");
    drain(js, args, "after warm-up").await;
    let before = verify::pipeline_state(js).await.unwrap_or_default();

    // Closed loop: the throughput at concurrency c.
    let len = (warm.throughput().max(20_000.0) * 1.6 * args.duration.as_secs_f64()) as usize;
    let pool = webhook_pool(template, next_base(&statuses), len);
    let mut all_pids: Vec<(String, u32)> = service_pids.to_vec();
    all_pids.extend_from_slice(other_pids);
    all_pids.push(("load generator".into(), 0));
    let cpu = usage::CpuMeter::start(&all_pids);
    let sampler = RssSampler::start(service_pids.iter().map(|(_, p)| *p).collect());
    let scraper = args.scrape_metrics.map(|every| {
        let targets = targets.to_vec();
        tokio::task::spawn_local(async move {
            let mut conns: Vec<HttpConn> = targets.iter().map(|t| HttpConn::new(*t)).collect();
            loop {
                tokio::time::sleep(Duration::from_secs_f64(every)).await;
                for conn in &mut conns {
                    let _ = conn
                        .exchange(b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
                        .await;
                }
            }
        })
    });
    let profiler = args.perf.then(|| {
        let nats: Vec<(String, u32)> = other_pids
            .iter()
            .filter(|(n, _)| n.starts_with("nats"))
            .cloned()
            .collect();
        (
            perf_record(args, "service", service_pids, args.duration),
            perf_record(args, "nats", &nats, args.duration),
        )
    });
    let phase_start = Instant::now();
    let closed = run_webhooks(targets, pool, &statuses, Mode::Closed, args.duration, c).await;
    if let Some((mut a, mut b)) = profiler {
        let _ = a.wait();
        let _ = b.wait();
    }
    let phase_secs = phase_start.elapsed().as_secs_f64();
    let cpu_closed = cpu.stop();
    line(&closed, &format!("closed loop c={c}"));
    let at_end = verify::pipeline_state(js).await.unwrap_or_default();
    let (after, idle) = drain(js, args, "after the closed loop").await;
    let published = after.payments.saturating_sub(before.payments);
    let drain_secs = idle.map(|t| t.saturating_duration_since(phase_start).as_secs_f64());
    let pipeline_rate = drain_secs.map_or(0.0, |s| published as f64 / s.max(1e-9));
    let pipeline_during = at_end.payments.saturating_sub(before.payments) as f64 / phase_secs;
    println!(
        "    pipeline: {pipeline_during:.0} outcomes/s while ingesting, {pipeline_rate:.0}/s average until idle ({} backlog at the end of the phase)",
        at_end.pending + at_end.ack_pending
    );

    // Open loop: latency at a fixed arrival rate, without coordinated omission.
    let mut open = None;
    let mut open_more = Vec::new();
    let mut cpu_open = Vec::new();
    if open_loop {
        // The target rate when the closed loop reached it; otherwise half the closed-loop maximum, to show the
        // latency below saturation. `--rate` (repeatable) chooses the rates instead.
        let rates = if args.rates.is_empty() {
            vec![if closed.throughput() >= TARGET_RATE {
                TARGET_RATE
            } else {
                (0.5 * closed.throughput()).max(100.0)
            }]
        } else {
            args.rates.clone()
        };
        for (n, rate) in rates.into_iter().enumerate() {
            let len = (rate * args.duration.as_secs_f64()).ceil() as usize + 2;
            let pool = webhook_pool(template, next_base(&statuses), len);
            let cpu = usage::CpuMeter::start(&all_pids);
            let r = run_webhooks(
                targets,
                pool,
                &statuses,
                Mode::Open { rate },
                args.duration,
                c,
            )
            .await;
            let used = cpu.stop();
            line(&r, &format!("open loop @ {rate:.0}/s, c={c}"));
            drain(js, args, "after the open loop").await;
            if n == 0 {
                cpu_open = used;
                open = Some((rate, r));
            } else {
                open_more.push(json!({
                    "open": report_json(&r, Mode::Open { rate }, c),
                    "cpu_percent": cpu_json(&used),
                }));
            }
        }
    }

    // Peak RSS of the ingestion proper (warm-up, closed and open loops, and the pipeline catching up).
    let peak_rss_ingestion: Vec<f64> = service_pids
        .iter()
        .map(|(_, p)| mb(usage::mem_kib(*p).get("VmHWM").copied().unwrap_or(0)))
        .collect();
    let phases_at = phase_start.elapsed().as_secs_f64();

    // Diagnostic: the webhook path alone, with the pipeline's consumer paused (events stay durable in the
    // events stream and are published once it resumes): how fast ingestion is when the pipeline defers.
    let mut paused = None;
    if open_loop && !args.no_diagnostic {
        match verify::pause_pipeline(&js_client(js), Some("2100-01-01T00:00:00Z")).await {
            Ok(_) => {
                let len = (closed.throughput().max(20_000.0) * 2.5 * args.duration.as_secs_f64())
                    as usize;
                let pool = webhook_pool(template, next_base(&statuses), len);
                let cpu = usage::CpuMeter::start(&all_pids);
                let r =
                    run_webhooks(targets, pool, &statuses, Mode::Closed, args.duration, c).await;
                let cpu = cpu.stop();
                line(&r, &format!("diagnostic: pipeline paused, c={c}"));
                if let Err(e) = verify::pause_pipeline(&js_client(js), None).await {
                    println!("    could not resume the pipeline consumer: {e}");
                }
                drain(js, args, "after the diagnostic").await;
                paused = Some((r, cpu));
            }
            Err(e) => println!("    diagnostic skipped: cannot pause the consumer ({e})"),
        }
    }
    let (rss_peak_sampled, rss_timeline) = sampler.stop().await;
    if let Some(s) = scraper {
        s.abort();
    }
    let peak_rss_with_diagnostic: Vec<f64> = service_pids
        .iter()
        .map(|(_, p)| mb(usage::mem_kib(*p).get("VmHWM").copied().unwrap_or(0)))
        .collect();

    println!("    checking PAYMENTS: every 2xx event exactly once ...");
    // Every sender is done: take the statuses out rather than hold a `RefCell` borrow across the read.
    let statuses = std::mem::take(&mut *statuses.borrow_mut());
    let check = verify::exactly_once(js, ids, &statuses)
        .await
        .unwrap_or_else(|e| panic!("reading PAYMENTS: {e}"));
    println!(
        "    {} events answered 2xx, {} messages in PAYMENTS: {} missing, {} duplicated, {} mismatched, {} published without a 2xx (read in {:.1} s)",
        check.accepted, check.payments_messages, check.missing, check.duplicated, check.mismatched,
        check.published_without_2xx, check.read_secs
    );

    let json = json!({
        "event": "charge.succeeded (tests/fixtures/stripe), distinct evt/ch/pi ids and orderId per request",
        "body_bytes": template_body_len(template),
        "warmup": report_json(&warm, Mode::Closed, c),
        "closed": report_json(&closed, Mode::Closed, c),
        "open": open.as_ref().map(|(rate, r)| report_json(r, Mode::Open { rate: *rate }, c)),
        "open_more_rates": open_more,
        "metrics_scraped_every_s": args.scrape_metrics,
        "cpu_percent_closed": cpu_json(&cpu_closed),
        "cpu_percent_open": cpu_json(&cpu_open),
        "pipeline": {
            "outcomes_per_s_while_ingesting": pipeline_during,
            "outcomes_per_s_until_idle": pipeline_rate,
            "backlog_at_end_of_closed_loop": at_end.pending + at_end.ack_pending,
            "seconds_from_start_to_idle": drain_secs,
            "redelivered": after.redelivered,
        },
        "exactly_once": {
            "accepted_2xx": check.accepted,
            "payments_messages": check.payments_messages,
            "missing": check.missing,
            "duplicated": check.duplicated,
            "mismatched": check.mismatched,
            "published_without_2xx": check.published_without_2xx,
            "foreign": check.foreign,
        },
        "rss_peak_sampled_mb": rss_peak_sampled,
        "peak_rss_ingestion_mb": peak_rss_ingestion,
        "peak_rss_including_diagnostic_mb": peak_rss_with_diagnostic,
        "rss_timeline_first_replica": {
            "what": "[seconds since the closed loop started, RSS MB] every 0.5 s; the diagnostic starts after `diagnostic_starts_at_s`",
            "diagnostic_starts_at_s": phases_at,
            "samples": rss_timeline,
        },
        "diagnostic_pipeline_paused": paused.as_ref().map(|(r, cpu)| json!({
            "what": "closed loop with the payments-pipeline consumer paused: the webhook path alone",
            "closed": report_json(r, Mode::Closed, c),
            "cpu_percent": cpu_json(cpu),
        })),
    });
    Ingestion {
        json,
        peak_rss_ingestion,
        closed,
        open,
        check,
        rss_peak_sampled,
        pipeline_rate,
    }
}

fn js_client(js: &jetstream::Context) -> async_nats::Client {
    js.client()
}

fn template_body_len(template: &WebhookTemplate) -> usize {
    let mut body = Vec::new();
    template.body(0, 0, &mut body);
    body.len()
}
