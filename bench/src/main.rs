//! `payments-bench`: the service's benchmark (see bench/README.md). Run it through `bench/run.sh`, which builds
//! the release binaries and installs nats-server first.

mod echo;
mod events;
mod load;
mod procs;
mod report;
mod scenario;
mod slowloris;
mod usage;
mod verify;

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Args {
    pub duration: Duration,
    pub warmup: Duration,
    pub session_duration: Duration,
    pub concurrency: usize,
    pub session_concurrency: usize,
    /// Open-loop rates (default: the target rate if the closed loop reached it, else half the closed-loop max).
    pub rates: Vec<f64>,
    /// Scrape the service's /metrics every this many seconds during ingestion, as Prometheus would.
    pub scrape_metrics: Option<f64>,
    pub scaling: bool,
    /// Runs the reconciliation benchmark only (`--reconcile`, `--reconcile-events N`).
    pub reconcile: bool,
    pub reconcile_events: usize,
    /// Replicas started at once on a fresh 3-node cluster, `starts` times.
    pub readiness: bool,
    /// SIGKILL of a replica under load, `starts` times: how soon another publishes what it had taken.
    pub recovery: bool,
    /// The slow-clients scenario with this many clients instead of parts 1–4.
    pub slow_clients: Option<usize>,
    /// Records a CPU profile (perf, cpu-clock) of the service during the closed-loop ingestion.
    pub perf: bool,
    pub skip_sessions: bool,
    /// Extra environment for the service (experiments, e.g. LD_PRELOAD of another allocator).
    pub service_env: Vec<(String, String)>,
    /// Skips the diagnostic run with the pipeline paused.
    pub no_diagnostic: bool,
    pub drain_timeout: Duration,
    pub starts: usize,
    pub out: PathBuf,
    pub payments_bin: PathBuf,
    pub standin_bin: PathBuf,
    pub fixture: PathBuf,
    pub logs: PathBuf,
}

const USAGE: &str = "usage: payments-bench [--duration S] [--warmup S] [--session-duration S] [--concurrency N]
                      [--session-concurrency N] [--rate R]... [--scrape-metrics S] [--drain-timeout S] [--starts N] [--scaling] [--reconcile] [--readiness] [--recovery] [--slow-clients N] [--reconcile-events N] [--perf] [--skip-sessions] [--no-diagnostic]
                      [--service-env NAME=VALUE]...
                      [--out FILE] [--payments-bin PATH] [--standin-bin PATH]";

fn parse_args() -> Args {
    let bench = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let root = bench.join("..");
    let target = std::env::var_os("PAYMENTS_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let mut args = Args {
        duration: Duration::from_secs(20),
        warmup: Duration::from_secs(5),
        session_duration: Duration::from_secs(10),
        concurrency: 64,
        session_concurrency: 32,
        rates: Vec::new(),
        scrape_metrics: None,
        scaling: false,
        reconcile: false,
        reconcile_events: 10_000,
        readiness: false,
        recovery: false,
        slow_clients: None,
        perf: false,
        skip_sessions: false,
        service_env: Vec::new(),
        no_diagnostic: false,
        drain_timeout: Duration::from_secs(900),
        starts: 5,
        out: PathBuf::new(),
        payments_bin: target.join("release/payments"),
        standin_bin: target.join("release/stripe-standin"),
        fixture: root.join("tests/fixtures/stripe/charge.succeeded.json"),
        logs: bench.join("results/logs"),
    };
    let mut out = None;
    let mut it = std::env::args().skip(1);
    let secs = |v: Option<String>| -> Duration {
        Duration::from_secs_f64(
            v.and_then(|v| v.parse::<f64>().ok())
                .unwrap_or_else(|| die("expected a number of seconds")),
        )
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--duration" => args.duration = secs(it.next()),
            "--warmup" => args.warmup = secs(it.next()),
            "--session-duration" => args.session_duration = secs(it.next()),
            "--drain-timeout" => args.drain_timeout = secs(it.next()),
            "--concurrency" => args.concurrency = num(it.next()),
            "--session-concurrency" => args.session_concurrency = num(it.next()),
            "--starts" => args.starts = num::<usize>(it.next()).max(1),
            "--rate" => args.rates.push(num(it.next())),
            "--scrape-metrics" => args.scrape_metrics = Some(num(it.next())),
            "--scaling" => args.scaling = true,
            "--reconcile" => args.reconcile = true,
            "--reconcile-events" => args.reconcile_events = num::<usize>(it.next()).max(1),
            "--readiness" => args.readiness = true,
            "--recovery" => args.recovery = true,
            "--slow-clients" => args.slow_clients = Some(num(it.next())),
            "--perf" => args.perf = true,
            "--skip-sessions" => args.skip_sessions = true,
            "--no-diagnostic" => args.no_diagnostic = true,
            "--service-env" => {
                let kv = it.next().unwrap_or_else(|| die(USAGE));
                let (k, v) = kv
                    .split_once('=')
                    .unwrap_or_else(|| die("--service-env wants NAME=VALUE"));
                args.service_env.push((k.to_owned(), v.to_owned()));
            }
            "--out" => out = it.next().map(PathBuf::from),
            "--payments-bin" => {
                args.payments_bin = it.next().map(PathBuf::from).unwrap_or_else(|| die(USAGE))
            }
            "--standin-bin" => {
                args.standin_bin = it.next().map(PathBuf::from).unwrap_or_else(|| die(USAGE))
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => die(&format!("unknown argument {other}\n{USAGE}")),
        }
    }
    // The service is started in an empty working directory (no stray .env), so relative paths would not resolve.
    for bin in [&mut args.payments_bin, &mut args.standin_bin] {
        *bin = std::path::absolute(&*bin).unwrap_or_else(|_| bin.clone());
    }
    args.out = out.unwrap_or_else(|| {
        bench.join(if args.scaling {
            "results/scaling.json"
        } else if args.reconcile {
            "results/reconcile.json"
        } else if args.readiness {
            "results/readiness.json"
        } else if args.recovery {
            "results/recovery.json"
        } else if args.slow_clients.is_some() {
            "results/slow-clients.json"
        } else {
            "results/latest.json"
        })
    });
    args
}

fn num<T: std::str::FromStr>(v: Option<String>) -> T {
    v.and_then(|v| v.parse().ok())
        .unwrap_or_else(|| die("expected a number"))
}

fn die(msg: &str) -> ! {
    eprintln!("{msg}");
    std::process::exit(2)
}

fn main() {
    // Hidden mode: part 3's no-op NATS responder, started by the bench itself (see echo.rs).
    let mut argv = std::env::args().skip(1);
    if argv.next().as_deref() == Some("--nats-echo") {
        echo::run(
            &argv
                .next()
                .unwrap_or_else(|| die("--nats-echo wants a NATS url")),
        );
    }
    let args = parse_args();
    for bin in [&args.payments_bin, &args.standin_bin] {
        if !bin.exists() {
            die(&format!(
                "{} is missing: run bench/run.sh (it builds the release binaries)",
                bin.display()
            ));
        }
    }
    std::fs::create_dir_all(&args.logs).expect("logs dir");
    if let Some(dir) = args.out.parent() {
        std::fs::create_dir_all(dir).expect("results dir");
    }
    // The load generator runs on ONE thread: on a 2-core machine shared with the service and nats-server, it
    // should take as little CPU as it can (its share is reported).
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let local = tokio::task::LocalSet::new();
    let result = local.block_on(&runtime, async {
        if args.reconcile {
            scenario::reconcile(&args).await
        } else if args.scaling {
            scenario::scaling(&args).await
        } else if args.readiness {
            scenario::readiness(&args).await
        } else if args.recovery {
            scenario::recovery(&args).await
        } else if let Some(n) = args.slow_clients {
            scenario::slow_clients(&args, n).await
        } else {
            scenario::standard(&args).await
        }
    });
    let text = serde_json::to_string_pretty(&result).expect("json");
    std::fs::write(&args.out, text + "\n").expect("write results");
    println!("\nresults written to {}", args.out.display());
}
