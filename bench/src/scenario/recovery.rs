//! `--recovery`: events a killed replica had taken are published by another within 10 s (CONTRACT §5). Each run
//! starts from nothing (a nats-server, the stand-in, two replicas of the release binary with the default
//! `PIPELINE_ACK_WAIT`), drives a closed loop of webhooks at replica A for a few seconds, sends A SIGKILL the
//! moment the loop ends — with its pipeline still working through the burst — and measures the time until every
//! event A acknowledged is in `PAYMENTS` exactly once (published by replica B).

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream;
use serde_json::{json, Value};

use super::ingestion::{run_webhooks, webhook_pool};
use super::{loopback, seed};
use crate::events::{Ids, WebhookTemplate};
use crate::load::Mode;
use crate::procs::{self, Nats};
use crate::{report, verify, Args};

/// How long the webhooks are sent before the kill, and the most events one run builds.
const LOAD: Duration = Duration::from_secs(3);
const EVENTS: usize = 200_000;
/// The contract's bound, and when a run stops waiting.
const BOUND_S: f64 = 10.0;
const GIVE_UP: Duration = Duration::from_secs(60);

pub async fn recovery(args: &Args) -> Value {
    let machine = report::machine();
    report::banner(&machine, args);
    let fixture =
        std::fs::read_to_string(&args.fixture).expect("read the charge.succeeded fixture");
    let mut runs = Vec::new();
    for run in 0..args.starts {
        let nats = Nats::single(&args.logs);
        let (_standin, standin_url, _) =
            procs::standin(&args.standin_bin, &args.logs, "standin-recovery");
        let ids = Ids::new(seed() ^ run as u64);
        let secret = format!("whsec_bench{}", ids.tag());
        let workdir = tempfile::tempdir().expect("workdir");
        let env = super::single_env(args, nats.url(), standin_url, &secret, &workdir);
        let (port_a, port_b) = (procs::free_port(), procs::free_port());
        let (mut killed, started_a) = procs::spawn_service(&env, port_a, "service-recovery-a");
        let (mut survivor, started_b) = procs::spawn_service(&env, port_b, "service-recovery-b");
        for (proc, port, started) in [
            (&mut killed, port_a, started_a),
            (&mut survivor, port_b, started_b),
        ] {
            procs::wait_ready(proc, port, started, Duration::from_secs(30)).expect("replica ready");
        }
        let client = async_nats::connect(nats.url())
            .await
            .expect("bench NATS client");
        let js = jetstream::new(client);
        let template = Arc::new(WebhookTemplate::new(&fixture, &secret, ids.clone()));
        let pool = webhook_pool(&template, 0, EVENTS);
        let statuses = Rc::new(RefCell::new(Vec::new()));
        let load = run_webhooks(
            &[loopback(port_a)],
            pool,
            &statuses,
            Mode::Closed,
            LOAD,
            args.concurrency,
        )
        .await;
        let _ = killed.child.kill(); // SIGKILL
        let at_kill = Instant::now();
        let _ = killed.child.wait();
        let backlog = verify::pipeline_state(&js).await.ok();
        let accepted = load.ok;
        let (seconds, check) = loop {
            let published = verify::pipeline_state(&js).await.map_or(0, |p| p.payments);
            if published >= accepted || at_kill.elapsed() > GIVE_UP {
                let answered = statuses.borrow().clone();
                let check = verify::exactly_once(&js, &ids, &answered)
                    .await
                    .expect("read PAYMENTS");
                if check.missing == 0 || at_kill.elapsed() > GIVE_UP {
                    break (at_kill.elapsed().as_secs_f64(), check);
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let unpublished = backlog.as_ref().map(|b| b.pending + b.ack_pending);
        println!(
            "    run {}: {accepted} webhooks acknowledged by A in {:.1} s; at the kill {} not yet published; all \
             published {seconds:.2} s after the kill (missing {}, duplicated {})",
            run + 1,
            load.elapsed.as_secs_f64(),
            unpublished.map_or("?".into(), |n| n.to_string()),
            check.missing,
            check.duplicated
        );
        runs.push(json!({
            "acknowledged": accepted,
            "unpublished_at_kill": unpublished,
            "published_all_after_kill_s": seconds,
            "missing": check.missing,
            "duplicated": check.duplicated,
        }));
        survivor.stop(Duration::from_secs(30));
    }
    let worst = runs
        .iter()
        .filter_map(|r| r["published_all_after_kill_s"].as_f64())
        .fold(0.0, f64::max);
    let lost = runs
        .iter()
        .any(|r| r["missing"] != 0 || r["duplicated"] != 0);
    println!(
        "\n    slowest recovery {worst:.2} s (bound {BOUND_S} s): {}",
        if worst <= BOUND_S && !lost {
            "PASS"
        } else {
            "MISS"
        }
    );
    json!({"machine": machine, "bound_s": BOUND_S, "runs": runs, "slowest_s": worst})
}
