//! The runs: the standard benchmark (parts 1–4 of the issue) and `--scaling` (replicas × NATS cluster).

use std::cell::{Cell, RefCell};
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use serde_json::{json, Value};

use crate::events::{self, Ids, Pool, WebhookTemplate};
use crate::load::{self, HttpConn, Mode, Outcome, Report, Sender, Spec};
use crate::procs::{self, Nats, Proc, ServiceEnv};
use crate::verify::{self, ACCEPTED, FAILED, NOT_SENT, REFUSED};
use crate::{report, Args};

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

// ---------------------------------------------------------------------------------------------------------------
// Senders

struct Webhook {
    conn: HttpConn,
    pool: Rc<Pool>,
    statuses: Rc<RefCell<Vec<u8>>>,
}

impl Sender for Webhook {
    async fn send(&mut self, i: usize) -> Outcome {
        let g = self.pool.base + i;
        // FAILED until answered: a request cancelled by the timeout stays FAILED.
        self.statuses.borrow_mut()[g] = FAILED;
        let outcome = match self.conn.exchange(self.pool.request(i)).await {
            Ok((s, _)) if (200..300).contains(&s) => Outcome::Ok,
            Ok((s, _)) => Outcome::Status(s),
            Err(_) => Outcome::Error,
        };
        self.statuses.borrow_mut()[g] = match outcome {
            Outcome::Ok => ACCEPTED,
            Outcome::Status(_) => REFUSED,
            Outcome::Error => FAILED,
        };
        outcome
    }
}

/// Any HTTP request whose 2xx means success (session creation, over HTTP or straight to the stand-in).
struct Http {
    conn: HttpConn,
    pool: Rc<Pool>,
}

impl Sender for Http {
    async fn send(&mut self, i: usize) -> Outcome {
        match self.conn.exchange(self.pool.request(i)).await {
            Ok((s, body)) if (200..300).contains(&s) && load::find(body, b"\"url\"").is_some() => {
                Outcome::Ok
            }
            Ok((s, _)) if (200..300).contains(&s) => Outcome::Status(299),
            Ok((s, _)) => Outcome::Status(s),
            Err(_) => Outcome::Error,
        }
    }
}

/// A NestJS `send('create.payment.session', dto)`: request-reply on NATS with the NestJS envelope.
struct NestJs {
    client: async_nats::Client,
    pool: Rc<Pool>,
}

impl Sender for NestJs {
    async fn send(&mut self, i: usize) -> Outcome {
        let payload = Bytes::copy_from_slice(self.pool.request(i));
        match self.client.request("create.payment.session", payload).await {
            Ok(reply)
                if load::find(&reply.payload, b"\"response\"").is_some()
                    && load::find(&reply.payload, b"\"err\"").is_none() =>
            {
                Outcome::Ok
            }
            Ok(_) => Outcome::Status(500),
            Err(_) => Outcome::Error,
        }
    }
}

/// A bare JetStream publish-with-ack, as a minimal client does it.
struct RawPublish {
    js: jetstream::Context,
    pool: Rc<Pool>,
}

impl Sender for RawPublish {
    async fn send(&mut self, i: usize) -> Outcome {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("raw.{}", self.pool.base + i).as_str());
        headers.insert("Stripe-Event-Type", "charge.succeeded");
        let body = Bytes::copy_from_slice(self.pool.body(i));
        match self
            .js
            .publish_with_headers("bench.raw.charge.succeeded", headers, body)
            .await
        {
            Ok(ack) => match ack.await {
                Ok(ack) if !ack.duplicate => Outcome::Ok,
                Ok(_) => Outcome::Status(409),
                Err(_) => Outcome::Error,
            },
            Err(_) => Outcome::Error,
        }
    }
}

async fn http_conns(targets: &[SocketAddr], n: usize) -> Vec<HttpConn> {
    let mut conns = Vec::with_capacity(n);
    for w in 0..n {
        // Round-robin over the replicas: connection w goes to replica w mod R.
        let mut conn = HttpConn::new(targets[w % targets.len()]);
        if let Err(e) = conn.connect().await {
            eprintln!("  connect {}: {e}", targets[w % targets.len()]);
        }
        conns.push(conn);
    }
    conns
}

// ---------------------------------------------------------------------------------------------------------------
// Sampling

/// Samples the RSS of `pids` every 50 ms until stopped; yields the largest seen per pid (MB).
struct RssSampler {
    stop: Rc<Cell<bool>>,
    handle: tokio::task::JoinHandle<(Vec<f64>, Vec<(f64, f64)>)>,
}

impl RssSampler {
    fn start(pids: Vec<u32>) -> RssSampler {
        let stop = Rc::new(Cell::new(false));
        let flag = stop.clone();
        let handle = tokio::task::spawn_local(async move {
            let started = Instant::now();
            let mut peak = vec![0.0f64; pids.len()];
            // The first replica's RSS every 0.5 s: when memory grows, and in which phase.
            let mut timeline = Vec::new();
            let mut n = 0u64;
            while !flag.get() {
                for (i, (p, pid)) in peak.iter_mut().zip(&pids).enumerate() {
                    let rss = mb(procs::mem_kib(*pid).get("VmRSS").copied().unwrap_or(0));
                    *p = p.max(rss);
                    if i == 0 && n % 10 == 0 {
                        timeline.push(((started.elapsed().as_secs_f64() * 10.0).round() / 10.0, (rss * 10.0).round() / 10.0));
                    }
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (peak, timeline)
        });
        RssSampler { stop, handle }
    }

    async fn stop(self) -> (Vec<f64>, Vec<(f64, f64)>) {
        self.stop.set(true);
        self.handle.await.unwrap_or_default()
    }
}

/// KiB to MB (10^6 bytes), the unit the targets are written in.
pub fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

fn cpu_json(cpu: &[(String, f64)]) -> Value {
    Value::Object(
        cpu.iter()
            .map(|(n, v)| (n.clone(), json!((v * 10.0).round() / 10.0)))
            .collect(),
    )
}

fn report_json(r: &Report, mode: Mode, concurrency: usize) -> Value {
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

fn line(r: &Report, label: &str) {
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

// ---------------------------------------------------------------------------------------------------------------
// Part 1: webhook ingestion

pub struct Ingestion {
    pub json: Value,
    pub peak_rss_ingestion: Vec<f64>,
    pub closed: Report,
    pub open: Option<(f64, Report)>,
    pub check: verify::Check,
    pub rss_peak_sampled: Vec<f64>,
    pub pipeline_rate: f64,
}

fn webhook_pool(template: &Arc<WebhookTemplate>, base: usize, len: usize) -> Rc<Pool> {
    let t = events::unix_now();
    let started = Instant::now();
    let pool = Pool::build(base, len.min(MAX_POOL), |i, out| template.request(i, t, out));
    println!(
        "    built and signed {} distinct charge.succeeded webhooks ({:.0} MB, body {} B) in {:.1} s",
        pool.len(),
        pool.bytes() as f64 / 1e6,
        pool.mean_body_len(),
        started.elapsed().as_secs_f64()
    );
    Rc::new(pool)
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

async fn run_webhooks(
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

async fn drain(js: &jetstream::Context, args: &Args, what: &str) -> (verify::Pipeline, Option<Instant>) {
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
    let cpu = procs::CpuMeter::start(&all_pids);
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
        let nats: Vec<(String, u32)> = other_pids.iter().filter(|(n, _)| n.starts_with("nats")).cloned().collect();
        (perf_record(args, "service", service_pids, args.duration), perf_record(args, "nats", &nats, args.duration))
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
            let cpu = procs::CpuMeter::start(&all_pids);
            let r = run_webhooks(targets, pool, &statuses, Mode::Open { rate }, args.duration, c).await;
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
        .map(|(_, p)| mb(procs::mem_kib(*p).get("VmHWM").copied().unwrap_or(0)))
        .collect();
    let phases_at = phase_start.elapsed().as_secs_f64();

    // Diagnostic: the webhook path alone, with the pipeline's consumer paused (events stay durable in the
    // events stream and are published once it resumes): how fast ingestion is when the pipeline defers.
    let mut paused = None;
    if open_loop && !args.no_diagnostic {
        match verify::pause_pipeline(&js_client(js), Some("2100-01-01T00:00:00Z")).await {
            Ok(_) => {
                let len = (closed.throughput().max(20_000.0) * 2.5 * args.duration.as_secs_f64()) as usize;
                let pool = webhook_pool(template, next_base(&statuses), len);
                let cpu = procs::CpuMeter::start(&all_pids);
                let r = run_webhooks(targets, pool, &statuses, Mode::Closed, args.duration, c).await;
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
        .map(|(_, p)| mb(procs::mem_kib(*p).get("VmHWM").copied().unwrap_or(0)))
        .collect();

    println!("    checking PAYMENTS: every 2xx event exactly once ...");
    let check = verify::exactly_once(js, ids, &statuses.borrow())
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

/// `perf record` (software cpu-clock, DWARF call graphs) of `pids` for at most 10 s, into
/// results/perf-<label>.data (read it with tools/perf-buckets.py or `perf report`).
fn perf_record(args: &Args, label: &str, pids: &[(String, u32)], duration: Duration) -> std::process::Child {
    let out = args.logs.join(format!("../perf-{label}.data"));
    let pids = pids.iter().map(|(_, p)| p.to_string()).collect::<Vec<_>>().join(",");
    println!("    recording a CPU profile of the {label} into {} (perf record -e cpu-clock -F 499 --call-graph dwarf)", out.display());
    std::process::Command::new("perf")
        .args(["record", "-e", "cpu-clock", "-F", "499", "--call-graph", "dwarf,16384", "-o"])
        .arg(&out)
        .args(["-p", &pids, "--", "sleep"])
        .arg(format!("{}", duration.as_secs_f64().min(10.0)))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("perf (apt-get install linux-perf)")
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

fn js_client(js: &jetstream::Context) -> async_nats::Client {
    js.client()
}

fn template_body_len(template: &WebhookTemplate) -> usize {
    let mut body = Vec::new();
    template.body(0, 0, &mut body);
    body.len()
}

// ---------------------------------------------------------------------------------------------------------------
// Part 2: the limit: raw JetStream publish-with-ack

pub async fn raw_jetstream(
    args: &Args,
    js: &jetstream::Context,
    template: &Arc<WebhookTemplate>,
    replicas: usize,
    pids: &[(String, u32)],
) -> (Report, Value) {
    js.create_stream(stream::Config {
        name: "BENCH_RAW".into(),
        subjects: vec!["bench.raw.>".into()],
        storage: stream::StorageType::File,
        num_replicas: replicas,
        // As the service's events stream: file storage, 4-day de-duplication window, 30-day retention.
        duplicate_window: Duration::from_secs(4 * 86_400),
        max_age: Duration::from_secs(30 * 86_400),
        ..Default::default()
    })
    .await
    .expect("create BENCH_RAW");
    let c = args.concurrency;
    let t = events::unix_now();
    let bodies = |base: usize, len: usize| {
        Rc::new(Pool::build(base, len.min(MAX_POOL), |i, out| {
            template.body(1_000_000_000 + i, t, out);
            0
        }))
    };
    let senders = |pool: &Rc<Pool>| -> Vec<RawPublish> {
        (0..c)
            .map(|_| RawPublish {
                js: js.clone(),
                pool: pool.clone(),
            })
            .collect()
    };
    settle_disk().await;
    let warm_secs = args.warmup.as_secs_f64().clamp(1.0, 3.0);
    let warm_pool = bodies(0, (warm_secs * 100_000.0) as usize);
    let warm = load::drive(
        senders(&warm_pool),
        Spec {
            mode: Mode::Closed,
            duration: Duration::from_secs_f64(warm_secs),
            limit: warm_pool.len(),
            timeout: REQUEST_TIMEOUT,
        },
    )
    .await;
    line(&warm, "warm-up (closed loop)");
    let base = warm_pool.len();
    drop(warm_pool);
    let len = (warm.throughput().max(20_000.0) * 1.6 * args.duration.as_secs_f64()) as usize;
    let pool = bodies(base, len);
    settle_disk().await;
    let mut all = pids.to_vec();
    all.push(("load generator".into(), 0));
    let cpu = procs::CpuMeter::start(&all);
    let r = load::drive(
        senders(&pool),
        Spec {
            mode: Mode::Closed,
            duration: args.duration,
            limit: pool.len(),
            timeout: REQUEST_TIMEOUT,
        },
    )
    .await;
    let cpu = cpu.stop();
    line(&r, &format!("closed loop c={c}"));
    let json = json!({
        "client": "async-nats 0.51 (the service's client), one connection, publish_with_headers + ack",
        "stream": format!("BENCH_RAW: file storage, R{replicas}, 4-day duplicate window, Nats-Msg-Id on every message"),
        "body_bytes": pool.mean_body_len(),
        "closed": report_json(&r, Mode::Closed, c),
        "cpu_percent": cpu_json(&cpu),
    });
    (r, json)
}

// ---------------------------------------------------------------------------------------------------------------
// Part 3: session creation

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Via {
    StandIn,
    Http,
    Nats,
}

impl Via {
    fn label(self) -> &'static str {
        match self {
            Via::StandIn => "stand-in direct",
            Via::Http => "service over HTTP",
            Via::Nats => "service over NATS (NestJS)",
        }
    }
    fn key(self) -> &'static str {
        match self {
            Via::StandIn => "standin_direct",
            Via::Http => "service_http",
            Via::Nats => "service_nats",
        }
    }
}

/// One session run: a fresh stand-in (and a fresh service in front of it), warm-up, then the measurement.
async fn session_run(
    args: &Args,
    env: &ServiceEnv,
    nats_pid: u32,
    client: &async_nats::Client,
    via: Via,
    mode: Mode,
    run: usize,
) -> (Report, Vec<(String, f64)>) {
    let c = args.session_concurrency;
    let (standin, url, standin_port) =
        procs::standin(&args.standin_bin, &args.logs, "standin-sessions");
    let mut service: Option<Proc> = None;
    let mut port = 0;
    if via != Via::StandIn {
        let env = ServiceEnv {
            stripe_api_base: url.clone(),
            ..env.clone()
        };
        port = procs::free_port();
        let (mut p, t0) = procs::spawn_service(&env, port, "service-sessions");
        procs::wait_ready(&mut p, port, t0, Duration::from_secs(30))
            .expect("session service ready");
        service = Some(p);
    }
    let ids = Ids::new(crate::scenario::seed() ^ run as u64);
    let build = |base: usize, len: usize| -> Rc<Pool> {
        Rc::new(match via {
            Via::StandIn => Pool::build(base, len, |i, out| {
                events::standin_request(&ids, i, procs::SUCCESS_URL, procs::CANCEL_URL, out)
            }),
            Via::Http => Pool::build(base, len, |i, out| events::session_http_request(&ids, i, out)),
            Via::Nats => Pool::build(base, len, |i, out| events::session_nestjs_payload(&ids, i, out)),
        })
    };
    let secs = args.session_duration.as_secs_f64();
    let warm_secs = 2.0;
    // Warm-up (closed loop) on one pool, the measurement on another: every request a distinct order.
    let warm_len = (40_000.0 * warm_secs) as usize;
    let len = match mode {
        Mode::Closed => (40_000.0 * secs) as usize,
        Mode::Open { rate } => (rate * secs).ceil() as usize + 2,
    };
    let warm_pool = build(0, warm_len);
    let main_pool = build(warm_len, len);
    let target = loopback(if via == Via::StandIn { standin_port } else { port });
    let spec = |mode, duration, limit| Spec {
        mode,
        duration,
        limit,
        timeout: REQUEST_TIMEOUT,
    };
    let run_on = |pool: Rc<Pool>, mode: Mode, duration: Duration| {
        let client = client.clone();
        async move {
            let limit = pool.len();
            match via {
                Via::Nats => {
                    let senders: Vec<NestJs> = (0..c)
                        .map(|_| NestJs {
                            client: client.clone(),
                            pool: pool.clone(),
                        })
                        .collect();
                    load::drive(senders, spec(mode, duration, limit)).await
                }
                _ => {
                    let senders: Vec<Http> = http_conns(&[target], c)
                        .await
                        .into_iter()
                        .map(|conn| Http {
                            conn,
                            pool: pool.clone(),
                        })
                        .collect();
                    load::drive(senders, spec(mode, duration, limit)).await
                }
            }
        }
    };
    let _warm = run_on(warm_pool, Mode::Closed, Duration::from_secs_f64(warm_secs)).await;
    let mut pids = vec![("stand-in".to_string(), standin.pid()), ("nats-server".to_string(), nats_pid)];
    if let Some(s) = &service {
        pids.push(("service".into(), s.pid()));
    }
    pids.push(("load generator".into(), 0));
    let cpu = procs::CpuMeter::start(&pids);
    let profiler = (args.perf && via == Via::Http && matches!(mode, Mode::Closed)).then(|| {
        let svc: Vec<(String, u32)> = pids.iter().filter(|(n, _)| n == "service").cloned().collect();
        perf_record(args, "sessions", &svc, args.session_duration)
    });
    let r = run_on(main_pool, mode, args.session_duration).await;
    let cpu = cpu.stop();
    if let Some(mut p) = profiler {
        let _ = p.wait();
    }
    line(&r, &format!("{} ({})", via.label(), mode_label(mode)));
    if let Some(mut s) = service {
        s.stop(Duration::from_secs(30));
    }
    drop(standin);
    (r, cpu)
}

fn mode_label(mode: Mode) -> String {
    match mode {
        Mode::Closed => "closed".into(),
        Mode::Open { rate } => format!("open @ {rate:.0}/s"),
    }
}

pub struct Sessions {
    pub json: Value,
}

pub async fn sessions(args: &Args, env: &ServiceEnv, nats_pid: u32, client: &async_nats::Client) -> Sessions {
    let c = args.session_concurrency;
    let vias = [Via::StandIn, Via::Http, Via::Nats];
    let mut closed = Vec::new();
    for (n, via) in vias.iter().enumerate() {
        closed.push(session_run(args, env, nats_pid, client, *via, Mode::Closed, n).await);
    }
    let max = closed
        .iter()
        .map(|(r, _)| r.throughput())
        .fold(f64::INFINITY, f64::min);
    // Latency is compared at one fixed arrival rate that all three sustain: half the slowest one's maximum.
    let rate = (max * 0.5).max(50.0);
    let mut open = Vec::new();
    for (n, via) in vias.iter().enumerate() {
        open.push(session_run(args, env, nats_pid, client, *via, Mode::Open { rate }, 10 + n).await);
    }
    let direct_closed = closed[0].0.throughput();
    let direct_open = &open[0].0;
    let mut json = serde_json::Map::new();
    json.insert("concurrency".into(), json!(c));
    json.insert("open_loop_rate_per_s".into(), json!(rate));
    for (i, via) in vias.iter().enumerate() {
        let (cr, ccpu) = &closed[i];
        let (or, ocpu) = &open[i];
        let mut entry = json!({
            "closed": report_json(cr, Mode::Closed, c),
            "open": report_json(or, Mode::Open { rate }, c),
            "cpu_percent_closed": cpu_json(ccpu),
            "cpu_percent_open": cpu_json(ocpu),
        });
        if *via != Via::StandIn {
            entry["throughput_ratio"] = json!(cr.throughput() / direct_closed.max(1e-9));
            entry["added_p50_ms"] =
                json!(load::p(&or.latency, 0.5) - load::p(&direct_open.latency, 0.5));
            entry["added_p99_ms"] =
                json!(load::p(&or.latency, 0.99) - load::p(&direct_open.latency, 0.99));
            entry["added_p50_ms_closed"] =
                json!(load::p(&cr.latency, 0.5) - load::p(&closed[0].0.latency, 0.5));
            entry["added_p99_ms_closed"] =
                json!(load::p(&cr.latency, 0.99) - load::p(&closed[0].0.latency, 0.99));
        }
        json.insert(via.key().into(), entry);
    }
    Sessions {
        json: Value::Object(json),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// The standard run

pub async fn standard(args: &Args) -> Value {
    let machine = report::machine();
    report::banner(&machine, args);
    let fixture = std::fs::read_to_string(&args.fixture).expect("read the charge.succeeded fixture");
    let nats = Nats::single(&args.logs);
    let (standin, standin_url, _) = procs::standin(&args.standin_bin, &args.logs, "standin-ingest");
    let ids = Ids::new(seed());
    let secret = format!("whsec_bench{}", ids.tag());
    let workdir = tempfile::tempdir().expect("workdir");
    let env = ServiceEnv {
        bin: args.payments_bin.clone(),
        nats_servers: nats.url(),
        stripe_api_base: standin_url,
        endpoint_secret: secret.clone(),
        replicas: 1,
        workdir: workdir.path().into(),
        logs: args.logs.clone(),
        extra: args.service_env.clone(),
    };

    // Part 4 first: start-up (fresh NATS, then restarts) and idle memory.
    println!("\n[start-up] {} starts of the release binary, /ready polled every 250 µs", args.starts);
    let port = procs::free_port();
    let mut starts = Vec::new();
    let mut service = None;
    for n in 0..args.starts {
        let (mut p, t0) = procs::spawn_service(&env, port, "service");
        let ready = procs::wait_ready(&mut p, port, t0, Duration::from_secs(30))
            .unwrap_or_else(|| panic!("the service was not ready within 30 s (see bench/results/logs/service.log)"));
        let ms = ready.as_secs_f64() * 1000.0;
        println!(
            "    start {}: ready after {ms:.1} ms{}",
            n + 1,
            if n == 0 { " (fresh NATS: creates streams, bucket and consumer)" } else { "" }
        );
        starts.push(ms);
        if n + 1 < args.starts {
            p.stop(Duration::from_secs(30));
        } else {
            service = Some(p);
        }
    }
    let service = service.expect("a running service");
    let pid = service.pid();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let idle = procs::mem_kib(pid);
    let idle_rss = mb(idle.get("VmRSS").copied().unwrap_or(0));
    println!("    idle RSS 5 s after ready: {idle_rss:.1} MB");

    let client = async_nats::connect(nats.url()).await.expect("bench NATS client");
    let js = jetstream::new(client.clone());
    let template = Arc::new(WebhookTemplate::new(&fixture, &secret, ids.clone()));

    println!("\n[1. ingestion] POST /payments/webhook, c={}, {} s after a {} s warm-up", args.concurrency, args.duration.as_secs_f64(), args.warmup.as_secs_f64());
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
    let mem = procs::mem_kib(pid);
    let peak_rss = ingest.peak_rss_ingestion.first().copied().unwrap_or(0.0);
    let peak_with_diagnostic = mb(mem.get("VmHWM").copied().unwrap_or(0));
    let after_rss = mb(mem.get("VmRSS").copied().unwrap_or(0));
    println!(
        "    peak RSS (VmHWM) {peak_rss:.1} MB during ingestion, {peak_with_diagnostic:.1} MB including the diagnostic; RSS now {after_rss:.1} MB"
    );
    let mut service = service;
    service.stop(Duration::from_secs(30));
    drop(standin);

    println!("\n[2. the limit] raw JetStream publish-with-ack of the same bodies, c={}", args.concurrency);
    let (raw, raw_json) = raw_jetstream(args, &js, &template, 1, &[("nats-server".into(), nats.pids()[0])]).await;

    println!("\n[3. sessions] create a Checkout Session, c={}, {} s each; fresh stand-in (and service) per run", args.session_concurrency, args.session_duration.as_secs_f64());
    let sessions = if args.skip_sessions {
        println!("    skipped (--skip-sessions)");
        Sessions { json: Value::Null }
    } else {
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

// ---------------------------------------------------------------------------------------------------------------
// --scaling

pub async fn scaling(args: &Args) -> Value {
    let machine = report::machine();
    report::banner(&machine, args);
    let fixture = std::fs::read_to_string(&args.fixture).expect("read the charge.succeeded fixture");
    let scenarios: [(&str, bool, usize); 4] = [
        ("1 nats-server, R1 streams, 1 replica", false, 1),
        ("1 nats-server, R1 streams, 2 replicas", false, 2),
        ("3-node cluster, R3 streams, 1 replica", true, 1),
        ("3-node cluster, R3 streams, 2 replicas", true, 2),
    ];
    let mut rows = Vec::new();
    for (name, cluster, n_services) in scenarios {
        println!("\n[scaling] {name}");
        let nats = if cluster { Nats::cluster(&args.logs) } else { Nats::single(&args.logs) };
        let replicas = if cluster { 3 } else { 1 };
        let (standin, standin_url, _) = procs::standin(&args.standin_bin, &args.logs, "standin-scaling");
        let ids = Ids::new(seed());
        let secret = format!("whsec_bench{}", ids.tag());
        let workdir = tempfile::tempdir().expect("workdir");
        let urls = nats.urls();
        // A cluster's JetStream is usable only once its meta leader is elected: wait for it, so that the
        // replicas' start-up is not spent waiting for the cluster.
        let js_ready = Instant::now();
        let probe = connect(&urls).await;
        wait_jetstream(&probe).await;
        println!("    JetStream ready {:.1} s after the servers", js_ready.elapsed().as_secs_f64());
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
            let (mut p, t0) = procs::spawn_service(&env, port, &format!("service-scaling-{}", s + 1));
            let ready = procs::wait_ready(&mut p, port, t0, Duration::from_secs(60)).expect("replica ready");
            println!("    replica {} ready after {:.1} ms", s + 1, ready.as_secs_f64() * 1000.0);
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
        let ingest = ingestion(args, &targets, &service_pids, &others, &template, &ids, &js, false).await;
        let peak = ingest.peak_rss_ingestion.clone();
        for mut s in services {
            s.stop(Duration::from_secs(30));
        }
        drop(standin);
        println!("    raw JetStream publish-with-ack, R{replicas}:");
        let nats_pids: Vec<(String, u32)> = others.iter().filter(|(n, _)| n.starts_with("nats")).cloned().collect();
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
