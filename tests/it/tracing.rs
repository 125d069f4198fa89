//! Tracing (CONTRACT §10) through the real binary: a caller's `traceparent` (HTTP header, NATS header) reaches the
//! Stripe call and the session's Stripe metadata, comes back with the webhook events, and goes out on the published
//! message and the callback; the spans reach an in-test OTLP collector. The binary runs as a process of its own:
//! tracing is set up once per process, from the process environment, as in production.

use std::{
    process::{Child, Command, Stdio},
    time::Duration,
};

use crate::support::{self as common, otlp::Collector, receiver::Receiver};
use bytes::Bytes;
use futures::StreamExt;
use serde_json::{json, Value};
use stripe_standin::{Method, StandIn};
use testkit::NatsServer;

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER_SPAN: &str = "00f067aa0ba902b7";
const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn traceparent(trace: &str, span: &str) -> String {
    format!("00-{trace}-{span}-01")
}

/// (trace id, span id) of a `traceparent`, checked to be well-formed W3C.
fn parts(traceparent: &str) -> (String, String) {
    let fields: Vec<&str> = traceparent.split('-').collect();
    let hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    assert!(
        fields.len() == 4
            && fields[0] == "00"
            && hex(fields[1], 32)
            && hex(fields[2], 16)
            && hex(fields[3], 2)
            && fields[1].bytes().any(|b| b != b'0')
            && fields[2].bytes().any(|b| b != b'0'),
        "not a W3C traceparent: {traceparent:?}"
    );
    (fields[1].to_owned(), fields[2].to_owned())
}

/// The service binary, run as an operator runs it; stopped with SIGTERM (or killed when dropped).
struct Service {
    child: Child,
    base: String,
}

impl Service {
    async fn start(nats: &NatsServer, standin: &StandIn, extra: &[(&str, &str)]) -> Service {
        Self::start_on(common::free_port(), nats, standin, extra).await
    }

    async fn start_on(
        port: u16,
        nats: &NatsServer,
        standin: &StandIn,
        extra: &[(&str, &str)],
    ) -> Service {
        let port = port.to_string();
        let mut env = vec![
            ("PORT", port.as_str()),
            ("CALLBACK_SIGNING_SECRET", SIGNING_SECRET),
            ("CALLBACK_ALLOW_PRIVATE", "true"),
        ];
        let log = std::env::var("TEST_LOG").ok();
        if let Some(filter) = &log {
            env.push(("RUST_LOG", filter));
        }
        env.extend_from_slice(extra);
        let child = Command::new(env!("CARGO_BIN_EXE_payments"))
            .current_dir(std::env::temp_dir())
            .env_clear()
            .envs(common::vars(&nats.url(), &standin.base_url(), &env))
            .stdout(Stdio::null())
            .stderr(if log.is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("service starts");
        let base = format!("http://127.0.0.1:{port}");
        common::wait_ready_at(&base).await;
        Service { child, base }
    }

    /// An exporting service on `port`; `delay` is the batch processor's schedule (`OTEL_BSP_SCHEDULE_DELAY`, ms).
    async fn exporting(
        port: u16,
        nats: &NatsServer,
        standin: &StandIn,
        collector: &Collector,
        delay: &str,
    ) -> Service {
        Self::start_on(
            port,
            nats,
            standin,
            &[
                ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint),
                ("OTEL_BSP_SCHEDULE_DELAY", delay),
            ],
        )
        .await
    }

    async fn create(&self, body: &Value, traceparent: Option<&str>) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .post(format!("{}/payments/create-session", self.base))
            .json(body);
        if let Some(traceparent) = traceparent {
            request = request.header("traceparent", traceparent);
        }
        let response = request.send().await.expect("create answered");
        let status = response.status().as_u16();
        (status, response.json().await.expect("JSON answer"))
    }

    /// SIGTERM, then the exit code.
    async fn terminate(mut self) -> Option<i32> {
        assert!(Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap()
            .success());
        let mut child = std::mem::replace(&mut self.child, Command::new("true").spawn().unwrap());
        let exit = tokio::time::timeout(
            Duration::from_secs(15),
            tokio::task::spawn_blocking(move || child.wait()),
        )
        .await
        .expect("exited in time after SIGTERM");
        exit.unwrap().unwrap().code()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn order(id: &str) -> Value {
    json!({"orderId": id, "currency": "usd", "items": [{"name": "Mug", "price": 9.5, "quantity": 1}]})
}

/// The `traceparent` the stand-in received in the metadata of the `n`-th session create, and in its payment
/// intent's (which must be the same).
fn metadata_traceparent(standin: &StandIn, n: usize) -> Option<String> {
    let creates: Vec<_> = standin
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/v1/checkout/sessions")
        .collect();
    let create = &creates[n];
    let session = create
        .form_value("metadata[traceparent]")
        .map(str::to_owned);
    let intent = create
        .form_value("payment_intent_data[metadata][traceparent]")
        .map(str::to_owned);
    assert_eq!(session, intent, "the session's and its payment intent's");
    session
}

fn header(headers: Option<&async_nats::HeaderMap>, name: &str) -> Option<String> {
    headers?.get(name).map(|v| v.to_string())
}

#[tokio::test]
async fn a_callers_trace_follows_the_payment_to_stripe_nats_and_the_callback() {
    let nats = NatsServer::start();
    // The stand-in delivers the payment's events to the service's webhook, as Stripe does.
    let port = common::free_port();
    let standin = StandIn::builder()
        .api_key(common::STRIPE_SECRET)
        .webhook_url(format!("http://127.0.0.1:{port}/payments/webhook"))
        .webhook_secret(common::ENDPOINT_SECRET)
        .start()
        .await;
    let collector = Collector::start().await;
    let callbacks = Receiver::start(&[]).await;
    let service = Service::exporting(port, &nats, &standin, &collector, "100").await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let mut published = client.subscribe("payment.>").await.unwrap();

    let mut body = order("order-traced");
    body["callback"] = json!({"url": callbacks.url, "method": "POST"});
    let caller = traceparent(TRACE, CALLER_SPAN);
    let (status, created) = service.create(&body, Some(&caller)).await;
    assert_eq!(status, 200, "{created}");
    let session = created["sessionId"].as_str().unwrap();

    // The Stripe call: its header and the session's metadata carry the caller's trace, under our own spans.
    let in_metadata = metadata_traceparent(&standin, 0).expect("traceparent in the metadata");
    let (trace, create_span) = parts(&in_metadata);
    assert_eq!(trace, TRACE);
    assert_ne!(create_span, CALLER_SPAN, "our span, not the caller's");
    let call = standin
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/checkout/sessions")
        .unwrap();
    let (trace, stripe_span) = parts(call.header("traceparent").expect("traceparent to Stripe"));
    assert_eq!(trace, TRACE);

    // Paid: Stripe's events carry the metadata back (session, payment intent and charge alike).
    let before = standin.events().len();
    standin.pay(session, Method::Card).await.unwrap();
    let events = standin.events()[before..].to_vec();
    assert!(events.len() >= 3, "{events:#?}");
    for event in &events {
        assert_eq!(
            event["data"]["object"]["metadata"]["traceparent"], in_metadata,
            "{}",
            event["type"]
        );
    }
    assert!(
        standin
            .wait_delivered(before + events.len(), Duration::from_secs(20))
            .await,
        "events delivered: {:#?}",
        standin.deliveries()
    );

    // The published outcome and the callback continue the trace.
    let succeeded = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let message = published.next().await.unwrap();
            if message.subject.as_str() == "payment.succeeded" {
                return message;
            }
        }
    })
    .await
    .expect("payment.succeeded published");
    let on_message = header(succeeded.headers.as_ref(), "traceparent").expect("traceparent header");
    let (trace, publish_span) = parts(&on_message);
    assert_eq!(trace, TRACE);
    let called = callbacks.wait_for(1).await;
    let (trace, callback_span) = parts(&called[0].header("traceparent"));
    assert_eq!(trace, TRACE);

    // And the collector received the whole story, each span where the headers said.
    let names = [
        "create_session",
        "stripe POST /v1/checkout/sessions",
        "webhook_intake",
        "process_event",
        "publish payment.succeeded",
        "callback_attempt",
    ];
    let spans = collector
        .wait_trace(TRACE, |spans| {
            names
                .iter()
                .all(|name| spans.iter().any(|s| s.name == *name))
        })
        .await;
    let named = |name: &str| spans.iter().find(|s| s.name == name).unwrap();
    assert!(spans.iter().all(|s| s.service == "payments"), "{spans:#?}");
    assert_eq!(named("create_session").parent_span_id, CALLER_SPAN);
    assert_eq!(named("create_session").span_id, create_span);
    assert_eq!(
        named("stripe POST /v1/checkout/sessions").span_id,
        stripe_span
    );
    assert_eq!(named("publish payment.succeeded").span_id, publish_span);
    assert_eq!(named("callback_attempt").span_id, callback_span);
    assert_eq!(named("callback_attempt").parent_span_id, publish_span);
    for processing in spans.iter().filter(|s| s.name == "process_event") {
        assert_eq!(processing.parent_span_id, create_span, "{processing:?}");
    }
}

#[tokio::test]
async fn nats_requests_continue_their_trace_and_the_metadata_key_is_reserved() {
    let nats = NatsServer::start();
    let standin = StandIn::with_api_key(common::STRIPE_SECRET).await;
    // No OTLP endpoint: nothing is exported, and the trace context still travels on.
    let _service = Service::start(&nats, &standin, &[]).await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let with_header = |trace: &str| {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("traceparent", traceparent(trace, CALLER_SPAN).as_str());
        headers
    };

    // Plain request/reply.
    let plain_trace = "0af7651916cd43dd8448eb211c80319c";
    let reply = client
        .request_with_headers(
            "create.payment.session",
            with_header(plain_trace),
            Bytes::from(order("order-plain").to_string()),
        )
        .await
        .unwrap();
    let reply: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert!(reply["sessionId"].is_string(), "{reply}");
    let (trace, _) = parts(&metadata_traceparent(&standin, 0).unwrap());
    assert_eq!(trace, plain_trace);

    // The NestJS envelope, with the headers a `NatsRecord` carries.
    let nest_trace = "1bf92f3577b34da6a3ce929d0e0e4731";
    let packet =
        json!({"pattern": "create.payment.session", "data": order("order-nest"), "id": "n-1"});
    let reply = client
        .request_with_headers(
            "create.payment.session",
            with_header(nest_trace),
            Bytes::from(packet.to_string()),
        )
        .await
        .unwrap();
    let reply: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert!(reply["response"]["sessionId"].is_string(), "{reply}");
    let (trace, _) = parts(&metadata_traceparent(&standin, 1).unwrap());
    assert_eq!(trace, nest_trace);

    // A caller's own metadata.traceparent is refused, in both formats, and Stripe is not called.
    let mut reserved = order("order-reserved");
    reserved["metadata"] = json!({"traceparent": traceparent(TRACE, CALLER_SPAN)});
    let reply = client
        .request("create.payment.session", Bytes::from(reserved.to_string()))
        .await
        .unwrap();
    assert_eq!(
        header(reply.headers.as_ref(), "Nats-Service-Error-Code").as_deref(),
        Some("400")
    );
    let body: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("metadata.traceparent"),
        "{body}"
    );
    let packet = json!({"pattern": "create.payment.session", "data": reserved, "id": "n-2"});
    let reply = client
        .request("create.payment.session", Bytes::from(packet.to_string()))
        .await
        .unwrap();
    let reply: Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(reply["err"]["status"], 400, "{reply}");
    assert_eq!(standin.sessions_created(), 2);
}

#[tokio::test]
async fn invalid_traceparents_start_a_new_trace_and_retries_keep_the_first_one() {
    let nats = NatsServer::start();
    let standin = StandIn::with_api_key(common::STRIPE_SECRET).await;
    let service = Service::start(&nats, &standin, &[]).await;

    // The reserved key over HTTP: a 400 that names it.
    let mut reserved = order("order-reserved");
    reserved["metadata"] = json!({"traceparent": "anything"});
    let (status, answer) = service.create(&reserved, None).await;
    assert_eq!(status, 400);
    assert!(
        answer["message"]
            .as_str()
            .unwrap()
            .contains("metadata.traceparent"),
        "{answer}"
    );

    // An invalid value is ignored: a new, valid trace starts.
    let invalid = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
    let (status, first) = service.create(&order("order-invalid"), Some(invalid)).await;
    assert_eq!(status, 200, "{first}");
    let fresh = metadata_traceparent(&standin, 0).expect("a new trace");
    assert_ne!(parts(&fresh).0, "0".repeat(32));

    // Without one, a new trace starts too.
    service.create(&order("order-untraced"), None).await;
    let untraced = metadata_traceparent(&standin, 1).expect("a new trace");
    assert_ne!(parts(&untraced).0, parts(&fresh).0);

    // A retry under another trace gets the same session: Stripe sees the first request's metadata again
    // (Stripe refuses an idempotency key reused with other parameters).
    let (status, again) = service
        .create(
            &order("order-invalid"),
            Some(&traceparent(TRACE, CALLER_SPAN)),
        )
        .await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["sessionId"], first["sessionId"]);
    assert_eq!(metadata_traceparent(&standin, 2), Some(fresh));
    assert_eq!(standin.sessions_created(), 2);
}

#[tokio::test]
async fn shutdown_exports_the_last_spans_and_a_disabled_sdk_exports_none() {
    let nats = NatsServer::start();
    let standin = StandIn::with_api_key(common::STRIPE_SECRET).await;
    let collector = Collector::start().await;

    // OTEL_SDK_DISABLED wins over the endpoint: the trace still travels, nothing is exported. Its process has
    // exited (and would have flushed) before the exporting service below starts.
    let disabled = Service::start(
        &nats,
        &standin,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &collector.endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "10"),
            ("OTEL_SDK_DISABLED", "true"),
        ],
    )
    .await;
    let quiet_trace = "2bf92f3577b34da6a3ce929d0e0e4732";
    let (status, _) = disabled
        .create(
            &order("order-quiet"),
            Some(&traceparent(quiet_trace, CALLER_SPAN)),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        parts(&metadata_traceparent(&standin, 0).unwrap()).0,
        quiet_trace
    );
    assert_eq!(disabled.terminate().await, Some(0));

    // A batch that would wait a minute is exported by the graceful shutdown.
    let exporting =
        Service::exporting(common::free_port(), &nats, &standin, &collector, "60000").await;
    let (status, _) = exporting
        .create(&order("order-last"), Some(&traceparent(TRACE, CALLER_SPAN)))
        .await;
    assert_eq!(status, 200);
    assert_eq!(exporting.terminate().await, Some(0));
    let spans = collector.spans();
    assert!(
        spans
            .iter()
            .any(|s| s.trace_id == TRACE && s.name == "create_session"),
        "{spans:#?}"
    );
    assert!(
        spans.iter().all(|s| s.trace_id != quiet_trace),
        "{spans:#?}"
    );
}
