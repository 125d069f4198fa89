//! Part 3: session creation: the stand-in direct, the service over HTTP and over NATS (NestJS), closed loop then
//! open loop at one shared rate; and, open loop only, the floor of the NATS figure: the same NestJS requests to a
//! no-op responder (`echo`), i.e. the round trip through nats-server alone.

use std::rc::Rc;
use std::time::Duration;

use serde_json::{json, Value};

use super::output::{cpu_json, line, report_json};
use super::profile::perf_record;
use super::senders::{http_conns, Http, NestJs};
use super::{loopback, settle_disk, REQUEST_TIMEOUT};
use crate::echo;
use crate::events::{self, Ids, Pool};
use crate::load::{self, Mode, Report, Spec};
use crate::procs::{self, Proc, ServiceEnv};
use crate::usage;
use crate::Args;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Via {
    StandIn,
    Http,
    Nats,
    /// Not a session: the NATS round trip to a no-op responder, what any NATS request pays (open loop only).
    NatsEcho,
}

impl Via {
    fn label(self) -> &'static str {
        match self {
            Via::StandIn => "stand-in direct",
            Via::Http => "service over HTTP",
            Via::Nats => "service over NATS (NestJS)",
            Via::NatsEcho => "NATS round trip, no-op responder (floor)",
        }
    }
    fn key(self) -> &'static str {
        match self {
            Via::StandIn => "standin_direct",
            Via::Http => "service_http",
            Via::Nats => "service_nats",
            Via::NatsEcho => "nats_echo_floor",
        }
    }
}

/// One session run: a fresh stand-in (and a fresh service in front of it), warm-up, then the measurement. The
/// floor run starts the echo responder instead of both.
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
    // No run pays for the disk writeback of what ran before it (parts 1 and 2 leave gigabytes dirty).
    settle_disk().await;
    let standin = (via != Via::NatsEcho)
        .then(|| procs::standin(&args.standin_bin, &args.logs, "standin-sessions"));
    let standin_port = standin.as_ref().map_or(0, |(_, _, p)| *p);
    // What answers: the service (HTTP, NATS) or the echo responder (the floor); none for the stand-in direct.
    let mut service: Option<Proc> = None;
    let mut port = 0;
    match (via, &standin) {
        (Via::NatsEcho, _) => service = Some(echo::spawn(&env.nats_servers, &args.logs)),
        (Via::Http | Via::Nats, Some((_, url, _))) => {
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
        _ => {}
    }
    let ids = Ids::new(crate::scenario::seed() ^ run as u64);
    let build = |base: usize, len: usize| -> Rc<Pool> {
        Rc::new(match via {
            Via::StandIn => Pool::build(base, len, |i, out| {
                events::standin_request(&ids, i, procs::SUCCESS_URL, procs::CANCEL_URL, out)
            }),
            Via::Http => Pool::build(base, len, |i, out| {
                events::session_http_request(&ids, i, out)
            }),
            Via::Nats | Via::NatsEcho => Pool::build(base, len, |i, out| {
                events::session_nestjs_payload(&ids, i, out)
            }),
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
    let target = loopback(if via == Via::StandIn {
        standin_port
    } else {
        port
    });
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
            let subject = match via {
                Via::NatsEcho => echo::SUBJECT,
                _ => "create.payment.session",
            };
            match via {
                Via::Nats | Via::NatsEcho => {
                    let senders: Vec<NestJs> = (0..c)
                        .map(|_| NestJs {
                            client: client.clone(),
                            subject,
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
    let mut pids = vec![("nats-server".to_string(), nats_pid)];
    if let Some((s, _, _)) = &standin {
        pids.insert(0, ("stand-in".into(), s.pid()));
    }
    if let Some(s) = &service {
        let name = if via == Via::NatsEcho {
            "echo"
        } else {
            "service"
        };
        pids.push((name.into(), s.pid()));
    }
    pids.push(("load generator".into(), 0));
    let cpu = usage::CpuMeter::start(&pids);
    let profiler = (args.perf && via == Via::Http && matches!(mode, Mode::Closed)).then(|| {
        let svc: Vec<(String, u32)> = pids
            .iter()
            .filter(|(n, _)| n == "service")
            .cloned()
            .collect();
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

pub async fn sessions(
    args: &Args,
    env: &ServiceEnv,
    nats_pid: u32,
    client: &async_nats::Client,
) -> Sessions {
    let c = args.session_concurrency;
    let vias = [Via::StandIn, Via::Http, Via::Nats];
    // The floor is measured only in the open loop: its closed-loop maximum says nothing about the service.
    let open_vias = [Via::StandIn, Via::Http, Via::Nats, Via::NatsEcho];
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
    for (n, via) in open_vias.iter().enumerate() {
        open.push(
            session_run(
                args,
                env,
                nats_pid,
                client,
                *via,
                Mode::Open { rate },
                10 + n,
            )
            .await,
        );
    }
    let direct_closed = closed[0].0.throughput();
    let direct_open = &open[0].0;
    let (floor, floor_cpu) = &open[3];
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
        if *via == Via::Nats {
            // The part of the added latency any NATS request pays (the floor run's whole round trip).
            entry["nats_floor_p50_ms"] = json!(load::p(&floor.latency, 0.5));
            entry["nats_floor_p99_ms"] = json!(load::p(&floor.latency, 0.99));
        }
        json.insert(via.key().into(), entry);
    }
    json.insert(
        Via::NatsEcho.key().into(),
        json!({
            "open": report_json(floor, Mode::Open { rate }, c),
            "cpu_percent_open": cpu_json(floor_cpu),
        }),
    );
    Sessions {
        json: Value::Object(json),
    }
}
