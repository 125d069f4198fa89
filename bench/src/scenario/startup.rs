//! Part 4: memory and start-up: the start-to-ready times and idle RSS of the release binary, and the RSS sampler
//! that follows the service during ingestion.

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::procs::{self, Proc, ServiceEnv};
use crate::usage;
use crate::Args;

/// The largest RSS seen per pid (MB), and the first pid's `(seconds, MB)` every 0.5 s.
pub(super) type RssSamples = (Vec<f64>, Vec<(f64, f64)>);

/// Samples the RSS of `pids` every 50 ms until stopped; yields the largest seen per pid (MB).
pub(super) struct RssSampler {
    stop: Rc<Cell<bool>>,
    handle: tokio::task::JoinHandle<RssSamples>,
}

impl RssSampler {
    pub(super) fn start(pids: Vec<u32>) -> RssSampler {
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
                    let rss = mb(usage::mem_kib(*pid).get("VmRSS").copied().unwrap_or(0));
                    *p = p.max(rss);
                    if i == 0 && n.is_multiple_of(10) {
                        timeline.push((
                            (started.elapsed().as_secs_f64() * 10.0).round() / 10.0,
                            (rss * 10.0).round() / 10.0,
                        ));
                    }
                }
                n += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (peak, timeline)
        });
        RssSampler { stop, handle }
    }

    pub(super) async fn stop(self) -> RssSamples {
        self.stop.set(true);
        self.handle.await.unwrap_or_default()
    }
}

/// KiB to MB (10^6 bytes), the unit the targets are written in.
pub fn mb(kib: u64) -> f64 {
    kib as f64 * 1024.0 / 1e6
}

/// What the start-ups leave: their start-to-ready times, the last one still running, and its idle RSS.
pub(super) struct StartUp {
    pub starts: Vec<f64>,
    pub service: Proc,
    pub port: u16,
    pub idle_rss: f64,
}

/// `args.starts` starts of the service on one port (the first against a fresh NATS), each stopped but the last;
/// then the last one's RSS after 5 s idle.
pub(super) async fn start_up(args: &Args, env: &ServiceEnv) -> StartUp {
    let port = procs::free_port();
    let mut starts = Vec::new();
    let mut service = None;
    for n in 0..args.starts {
        let (mut p, t0) = procs::spawn_service(env, port, "service");
        let ready =
            procs::wait_ready(&mut p, port, t0, Duration::from_secs(30)).unwrap_or_else(|| {
                panic!("the service was not ready within 30 s (see bench/results/logs/service.log)")
            });
        let ms = ready.as_secs_f64() * 1000.0;
        println!(
            "    start {}: ready after {ms:.1} ms{}",
            n + 1,
            if n == 0 {
                " (fresh NATS: creates streams, bucket and consumer)"
            } else {
                ""
            }
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
    let idle = usage::mem_kib(pid);
    let idle_rss = mb(idle.get("VmRSS").copied().unwrap_or(0));
    println!("    idle RSS 5 s after ready: {idle_rss:.1} MB");
    StartUp {
        starts,
        service,
        port,
        idle_rss,
    }
}
