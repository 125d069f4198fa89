//! Part 2: the limit: raw JetStream publish-with-ack of the same bodies, as a minimal client does it.

use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, stream};
use serde_json::{json, Value};

use super::output::{cpu_json, line, report_json};
use super::senders::RawPublish;
use super::{settle_disk, MAX_POOL, REQUEST_TIMEOUT};
use crate::events::{self, Pool, WebhookTemplate};
use crate::load::{self, Mode, Report, Spec};
use crate::usage;
use crate::Args;

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
    let cpu = usage::CpuMeter::start(&all);
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
