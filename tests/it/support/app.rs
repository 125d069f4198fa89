//! The service under test: the real `Application` on port 0 in this process, with a fresh nats-server and Stripe
//! stand-in per test (`TestApp`), further instances on the same NATS and stand-in (`Replica`), and the
//! environment they run with. What is per process in the service (the Prometheus recorder: counters and gauges)
//! is shared by every test of this binary; a test that reads exact values there runs the service as its own
//! process instead (`TestApp::spawn_process`).

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull};
use payments::{Application, Config};
use serde_json::Value;
use stripe_standin::StandIn;
use testkit::{await_until, NatsServer};
use tokio_util::sync::CancellationToken;

use super::process::{exit_code, serve, sigterm};
use super::stream::{read_stream, Published};
use super::{sign_now, ENDPOINT_SECRET, STRIPE_SECRET};

/// How long a service may take to become ready, and the pipeline to catch up: generous for a busy CI machine.
const READY_WITHIN: Duration = Duration::from_secs(20);
const IDLE_WITHIN: Duration = Duration::from_secs(30);

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub nats: NatsServer,
    pub standin: StandIn,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    service: Service,
}

/// Where the service of a `TestApp` runs.
enum Service {
    InProcess {
        shutdown: CancellationToken,
        handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    },
    Process(Option<std::process::Child>),
}

/// The environment a test service runs with; `extra` overrides or adds variables.
pub fn vars(nats_url: &str, stripe_base: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = [
        ("PORT", "0"),
        ("HOST", "127.0.0.1"),
        ("NATS_SERVERS", nats_url),
        ("STRIPE_SECRET", STRIPE_SECRET),
        ("STRIPE_ENDPOINT_SECRET", ENDPOINT_SECRET),
        (
            "STRIPE_SUCCESS_URL",
            "http://localhost:3000/payments/success",
        ),
        ("STRIPE_CANCEL_URL", "http://localhost:3000/payments/cancel"),
        ("STRIPE_API_BASE", stripe_base),
        ("STRIPE_TIMEOUT", "2s"),
        ("JETSTREAM_TIMEOUT", "2s"),
        ("SHUTDOWN_GRACE", "5s"),
        // NATS reserves each stream's byte limit on disk when it is created: tests stay small, so that a CI
        // machine with little free disk still runs them.
        ("EVENTS_MAX_BYTES", "256MiB"),
        ("PAYMENTS_MAX_BYTES", "64MiB"),
        ("CALLBACKS_MAX_BYTES", "16MiB"),
        ("KV_MAX_BYTES", "32MiB"),
        // Tests decide what Stripe "missed": no background reconciliation unless a test turns it on.
        ("RECONCILE_INTERVAL", "off"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, v) in extra {
        vars.retain(|(name, _)| name != k);
        vars.push((k.to_string(), v.to_string()));
    }
    vars
}

/// The in-process services' log, for all tests of the binary (a subscriber is per process): off, unless
/// `TEST_LOG=payments=debug cargo test …` asks to see what a failing test's service did.
pub fn init_test_log() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_env("TEST_LOG"))
        .with_test_writer()
        .try_init();
}

/// The service's configuration for a NATS and a stand-in, plus `extra`.
pub fn config(nats: &NatsServer, standin: &StandIn, extra: &[(&str, &str)]) -> Config {
    Config::from_vars(vars(&nats.url(), &standin.base_url(), extra)).expect("config")
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
        init_test_log();
        let nats = NatsServer::start();
        let standin = StandIn::with_api_key(STRIPE_SECRET).await;
        let mut app = Self::start_service(nats, standin, extra).await;
        app.wait_ready().await;
        app
    }

    /// Starts the service against an existing NATS and stand-in (without waiting for readiness).
    pub async fn start_service(
        nats: NatsServer,
        standin: StandIn,
        extra: &[(&str, &str)],
    ) -> TestApp {
        let app = Application::build(config(&nats, &standin, extra))
            .await
            .expect("build");
        let base = format!("http://127.0.0.1:{}", app.port());
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.run_until_stopped(shutdown.clone()));
        let service = Service::InProcess {
            shutdown,
            handle: Some(handle),
        };
        Self::around(base, nats, standin, service).await
    }

    /// As `spawn_with`, with the service as its own process (the `payments` binary): its metrics are its own.
    /// `TEST_LOG` (a log filter) shows its logs.
    pub async fn spawn_process(extra: &[(&str, &str)]) -> TestApp {
        let nats = NatsServer::start();
        let standin = StandIn::with_api_key(STRIPE_SECRET).await;
        let log = std::env::var("TEST_LOG").ok();
        let mut env = extra.to_vec();
        let stderr = match &log {
            Some(filter) => {
                env.push(("RUST_LOG", filter));
                std::process::Stdio::inherit()
            }
            None => std::process::Stdio::null(),
        };
        let (child, base) = serve(&nats, &standin, &env, stderr).await;
        Self::around(base, nats, standin, Service::Process(Some(child))).await
    }

    async fn around(base: String, nats: NatsServer, standin: StandIn, service: Service) -> TestApp {
        let client = async_nats::connect(nats.url())
            .await
            .expect("test client connects");
        TestApp {
            base,
            http: reqwest::Client::new(),
            js: jetstream::new(client.clone()),
            client,
            nats,
            standin,
            service,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits until `/ready` answers 200 (streams created).
    pub async fn wait_ready(&mut self) {
        wait_ready_at(&self.base).await;
    }

    /// Graceful stop, as on SIGTERM; returns when the service has finished.
    pub async fn stop(&mut self) {
        match &mut self.service {
            Service::InProcess { shutdown, handle } => {
                shutdown.cancel();
                if let Some(handle) = handle.take() {
                    handle.await.expect("service task").expect("service ran");
                }
            }
            Service::Process(child) => {
                if let Some(mut child) = child.take() {
                    sigterm(&child);
                    let code =
                        exit_code(&mut child, "the service after SIGTERM", IDLE_WITHIN).await;
                    assert_eq!(code, Some(0), "the service's exit code");
                }
            }
        }
    }

    pub async fn post_json(&self, path: &str, body: &str) -> reqwest::Response {
        self.http
            .post(self.url(path))
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("request sent")
    }

    /// Posts `body` to the webhook with a valid signature made now.
    pub async fn post_event(&self, body: &str) -> reqwest::Response {
        self.post_signed(body, &sign_now(ENDPOINT_SECRET, body))
            .await
    }

    pub async fn post_signed(&self, body: &str, signature: &str) -> reqwest::Response {
        post_signed_at(&self.http, &self.base, body, signature)
            .await
            .expect("webhook sent")
    }

    /// Waits until the pipeline has nothing pending or unacknowledged.
    pub async fn wait_pipeline_idle(&self) {
        await_until(
            "the pipeline is idle (nothing pending, everything acknowledged)",
            IDLE_WITHIN,
            || pipeline_state(&self.js),
            |state| {
                state.is_some_and(|(pending, ack_pending, acked, last)| {
                    pending == 0 && ack_pending == 0 && acked >= last
                })
            },
        )
        .await;
    }

    /// Forwards the emulator's events (as Stripe would deliver them) from index `from` on; returns the new count.
    pub async fn forward_events(&self, from: usize) -> usize {
        let events = self.standin.events();
        for event in &events[from..] {
            let response = self.post_event(&event.to_string()).await;
            assert_eq!(response.status(), 200, "forwarding {}", event["type"]);
        }
        events.len()
    }

    /// The service's `/metrics` text.
    pub async fn metrics(&self) -> String {
        metrics_of(&self.base).await
    }

    /// How many requests the Stripe stand-in received on paths starting with `prefix`.
    pub fn stripe_requests(&self, prefix: &str) -> usize {
        self.standin
            .requests()
            .iter()
            .filter(|r| r.path.starts_with(prefix))
            .count()
    }

    /// Sends `body` as a `create.payment.session` request and parses the reply (within 10 s).
    pub async fn create_over_nats(&self, body: impl Into<bytes::Bytes>) -> Value {
        let reply = tokio::time::timeout(
            Duration::from_secs(10),
            self.client.request("create.payment.session", body.into()),
        )
        .await
        .expect("reply in time")
        .expect("reply");
        serde_json::from_slice(&reply.payload).expect("JSON reply")
    }

    /// Publishes `body` on `create.payment.session` with `reply` as its reply subject.
    pub async fn publish_create(&self, reply: &str, body: impl Into<bytes::Bytes>) {
        self.client
            .publish_with_reply("create.payment.session", reply.to_owned(), body.into())
            .await
            .expect("published");
    }

    /// Every message in `PAYMENTS`, in order.
    pub async fn payments(&self) -> Vec<Published> {
        read_stream(&self.js, "PAYMENTS").await
    }

    /// Waits until `PAYMENTS` holds at least `n` messages; all of them.
    pub async fn wait_payments(&self, n: usize) -> Vec<Published> {
        let published = await_until(
            format!("{n} messages in PAYMENTS"),
            IDLE_WITHIN,
            || self.payments(),
            |published| published.len() >= n,
        )
        .await;
        published
    }
}

/// The pipeline consumer's (pending, ack pending, ack floor) and the events stream's last sequence, once both
/// exist.
async fn pipeline_state(js: &jetstream::Context) -> Option<(u64, usize, u64, u64)> {
    let mut stream = js.get_stream("STRIPE_EVENTS").await.ok()?;
    let last = stream.info().await.ok()?.state.last_sequence;
    let mut consumer = stream
        .get_consumer::<pull::Config>("payments-pipeline")
        .await
        .ok()?;
    let info = consumer.info().await.ok()?;
    Some((
        info.num_pending,
        info.num_ack_pending,
        info.ack_floor.stream_sequence,
        last,
    ))
}

impl Drop for TestApp {
    fn drop(&mut self) {
        match &mut self.service {
            Service::InProcess { shutdown, .. } => shutdown.cancel(),
            Service::Process(child) => {
                if let Some(mut child) = child.take() {
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
    }
}

/// Another instance of the service on the same NATS and Stripe stand-in (a replica, or the service after a
/// restart).
pub struct Replica {
    pub base: String,
    stop: CancellationToken,
    handle: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Replica {
    pub async fn start(app: &TestApp, extra: &[(&str, &str)]) -> Replica {
        Self::with_config(config(&app.nats, &app.standin, extra)).await
    }

    /// An instance with this configuration (e.g. on another NATS), without waiting for readiness.
    pub async fn with_config(config: Config) -> Replica {
        let service = Application::build(config).await.expect("build");
        let base = format!("http://127.0.0.1:{}", service.port());
        let stop = CancellationToken::new();
        let handle = tokio::spawn(service.run_until_stopped(stop.clone()));
        Replica { base, stop, handle }
    }

    pub async fn stop(self) {
        self.stop.cancel();
        self.handle
            .await
            .expect("replica task")
            .expect("replica ran");
    }
}

/// Posts `body` to the webhook of the service at `base` with `signature`.
pub async fn post_signed_at(
    http: &reqwest::Client,
    base: &str,
    body: &str,
    signature: &str,
) -> reqwest::Result<reqwest::Response> {
    http.post(format!("{base}/payments/webhook"))
        .header("stripe-signature", signature)
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
}

/// The `/metrics` text of the service at `base`.
pub async fn metrics_of(base: &str) -> String {
    reqwest::get(format!("{base}/metrics"))
        .await
        .expect("metrics answer")
        .text()
        .await
        .expect("metrics text")
}

/// Waits until the service at `base` answers `/ready` with 200.
pub async fn wait_ready_at(base: &str) {
    wait_ready_status(base, 200, READY_WITHIN).await;
}

/// Waits until the service at `base` answers `/ready` with `status` (503: it noticed an outage).
pub async fn wait_ready_status(base: &str, status: u16, within: Duration) {
    let url = format!("{base}/ready");
    await_until(
        format!("{url} answers {status}"),
        within,
        || async { reqwest::get(&url).await.map(|r| r.status().as_u16()) },
        |answer| answer.as_ref().is_ok_and(|s| *s == status),
    )
    .await
    .expect("the answer waited for");
}
