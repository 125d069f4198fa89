//! Shared test harness: a fresh nats-server and Stripe stand-in per test, the real `Application` on port 0,
//! and helpers to sign webhooks and to read what reached `PAYMENTS`.
#![allow(dead_code)]

pub mod events;
pub mod receiver;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream::{self, consumer::pull};
use futures::StreamExt;
use payments::{Application, Config};
use serde_json::Value;
use stripe_standin::StandIn;
use testkit::NatsServer;
use tokio_util::sync::CancellationToken;

pub const ENDPOINT_SECRET: &str = "whsec_test_endpoint_secret";
pub const STRIPE_SECRET: &str = "sk_test_harness_secret_4242";
pub const ORDER: &str = "3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69";

pub struct TestApp {
    pub base: String,
    pub http: reqwest::Client,
    pub nats: NatsServer,
    pub standin: StandIn,
    pub client: async_nats::Client,
    pub js: jetstream::Context,
    shutdown: CancellationToken,
    handle: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
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

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(&[]).await
    }

    pub async fn spawn_with(extra: &[(&str, &str)]) -> TestApp {
        // `TEST_LOG=payments=debug cargo test …` shows the service's logs of a failing test.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_env("TEST_LOG"))
            .with_test_writer()
            .try_init();
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
        let config =
            Config::from_vars(vars(&nats.url(), &standin.base_url(), extra)).expect("config");
        let app = Application::build(config).await.expect("build");
        let base = format!("http://127.0.0.1:{}", app.port());
        let shutdown = CancellationToken::new();
        let handle = tokio::spawn(app.run_until_stopped(shutdown.clone()));
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
            shutdown,
            handle: Some(handle),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Waits until `/ready` answers 200 (streams created).
    pub async fn wait_ready(&mut self) {
        let ready = async {
            loop {
                if let Ok(r) = self.http.get(self.url("/ready")).send().await {
                    if r.status() == 200 {
                        return;
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(20), ready)
            .await
            .expect("service became ready");
    }

    /// Graceful stop, as on SIGTERM; returns when the service has finished.
    pub async fn stop(&mut self) {
        self.shutdown.cancel();
        if let Some(handle) = self.handle.take() {
            handle.await.expect("service task").expect("service ran");
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
        self.http
            .post(self.url("/payments/webhook"))
            .header("stripe-signature", signature)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .expect("webhook sent")
    }

    /// Waits until the pipeline has nothing pending or unacknowledged.
    pub async fn wait_pipeline_idle(&self) {
        let idle = async {
            loop {
                if let Ok(mut stream) = self.js.get_stream("STRIPE_EVENTS").await {
                    let last = stream
                        .info()
                        .await
                        .map(|i| i.state.last_sequence)
                        .unwrap_or(0);
                    if let Ok(mut consumer) = stream
                        .get_consumer::<pull::Config>("payments-pipeline")
                        .await
                    {
                        if let Ok(info) = consumer.info().await {
                            if info.num_pending == 0
                                && info.num_ack_pending == 0
                                && info.ack_floor.stream_sequence >= last
                            {
                                return;
                            }
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), idle)
            .await
            .expect("pipeline became idle");
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

    /// Every message in `PAYMENTS`, in order.
    pub async fn payments(&self) -> Vec<Published> {
        read_stream(&self.js, "PAYMENTS").await
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
        let config = Config::from_vars(vars(&app.nats.url(), &app.standin.base_url(), extra))
            .expect("config");
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

/// Starts the `payments` binary as a separate process (to be killed with SIGKILL), on `port`.
pub fn spawn_binary(
    nats: &NatsServer,
    standin: &StandIn,
    port: u16,
    extra: &[(&str, &str)],
) -> std::process::Child {
    let port = port.to_string();
    let mut env = vec![("PORT", port.as_str())];
    env.extend_from_slice(extra);
    std::process::Command::new(env!("CARGO_BIN_EXE_payments"))
        .current_dir(std::env::temp_dir())
        .env_clear()
        .envs(vars(&nats.url(), &standin.base_url(), &env))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("service starts")
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
    let ready = async {
        while !reqwest::get(format!("{base}/ready"))
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(20), ready)
        .await
        .expect("service became ready");
}

/// A free loopback port.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// Runs the `payments` binary with a subcommand as an operator would (the test's service environment plus
/// `extra`), without blocking the runtime the in-process service runs on. Returns the exit code and all output.
pub async fn run_cli(app: &TestApp, args: &[&str], extra: &[(&str, &str)]) -> (i32, String) {
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_payments"))
        .current_dir(std::env::temp_dir())
        .env_clear()
        .envs(vars(&app.nats.url(), &app.standin.base_url(), extra))
        .args(args)
        .output()
        .await
        .expect("payments runs");
    let text = String::from_utf8_lossy(&output.stdout).to_string()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.code().expect("exit code"), text)
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A message read back from a stream.
#[derive(Debug, Clone)]
pub struct Published {
    pub subject: String,
    pub msg_id: String,
    pub event_id: String,
    pub event_type: String,
    pub body: Value,
}

pub async fn read_stream(js: &jetstream::Context, name: &str) -> Vec<Published> {
    let mut stream = js.get_stream(name).await.expect("stream exists");
    let count = stream.info().await.expect("stream info").state.messages as usize;
    if count == 0 {
        return Vec::new();
    }
    let consumer = stream
        .create_consumer(pull::OrderedConfig::default())
        .await
        .expect("ordered consumer");
    let mut messages = consumer.messages().await.expect("messages");
    let mut out = Vec::with_capacity(count);
    while out.len() < count {
        let message = tokio::time::timeout(Duration::from_secs(10), messages.next())
            .await
            .expect("message in time")
            .expect("stream open")
            .expect("message");
        let header = |name: &str| {
            message
                .headers
                .as_ref()
                .and_then(|h| h.get(name))
                .map(|v| v.to_string())
                .unwrap_or_default()
        };
        out.push(Published {
            subject: message.subject.to_string(),
            msg_id: header("Nats-Msg-Id"),
            event_id: header("Stripe-Event-Id"),
            event_type: header("Stripe-Event-Type"),
            body: serde_json::from_slice(&message.payload).unwrap_or(Value::Null),
        });
    }
    out
}

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn sign_now(secret: &str, body: &str) -> String {
    payments::stripe::signature::sign(secret, now(), body.as_bytes())
}

/// A shared fixture, parsed.
pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/stripe/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture JSON")
}
