//! Signed callbacks (CONTRACT §7): delivered once per outcome, verified by an independent Standard Webhooks
//! implementation, retried on a schedule that survives restarts and replicas, and refused for private targets.

use std::time::Duration;

use serde_json::{json, Value};
use stripe_standin::Method;

use crate::support::{
    self, await_until, receiver::Receiver, stream_len, Published, Replica, TestApp, ORDER,
};

/// How long a retry schedule of a few seconds may take to play out on a busy machine.
const WITHIN: Duration = Duration::from_secs(30);

const SIGNING_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn settings(schedule: &'static str) -> [(&'static str, &'static str); 3] {
    [
        ("CALLBACK_SIGNING_SECRET", SIGNING_SECRET),
        ("CALLBACK_ALLOW_PRIVATE", "true"),
        ("CALLBACK_RETRY_SCHEDULE", schedule),
    ]
}

/// Creates a session with a callback to `url` and returns its id.
async fn create(app: &TestApp, order: &str, url: &str) -> String {
    let body = json!({
        "orderId": order, "currency": "usd", "items": [{"name": "Mug", "price": 9.5, "quantity": 1}],
        "callback": {"url": url, "method": "POST"}, "metadata": {"cartId": "c-42"},
    });
    let response = app
        .post_json("/payments/create-session", &body.to_string())
        .await;
    let status = response.status();
    let reply: Value = response.json().await.unwrap();
    assert_eq!(status, 200, "{reply}");
    reply["sessionId"].as_str().unwrap().to_owned()
}

/// Pays the session with the emulator and forwards the events Stripe would send.
async fn pay(app: &TestApp, session: &str) {
    let before = app.standin.events().len();
    app.standin.pay(session, Method::Card).await.unwrap();
    app.forward_events(before).await;
}

/// The `payment.callback.failed` messages in `PAYMENTS`.
async fn failed_callbacks(app: &TestApp) -> Vec<Published> {
    let all = app.payments().await;
    all.into_iter()
        .filter(|p| p.subject == "payment.callback.failed")
        .collect()
}

/// Waits until `n` `payment.callback.failed` messages are in `PAYMENTS`, and returns them. The failure is an
/// event to await: the queue can look empty before the job is even enqueued.
async fn wait_failed(app: &TestApp, n: usize) -> Vec<Published> {
    await_until(
        format!("{n} payment.callback.failed published"),
        WITHIN,
        || failed_callbacks(app),
        |failed| failed.len() >= n,
    )
    .await
}

/// Waits for a `payment.callback.failed`, then for the queue to drain: it must stay the only one.
async fn the_one_failure(app: &TestApp) -> Published {
    wait_failed(app, 1).await;
    wait_queue_empty(app).await;
    let mut failed = failed_callbacks(app).await;
    assert_eq!(failed.len(), 1, "{failed:#?}");
    failed.remove(0)
}

async fn wait_queue_empty(app: &TestApp) {
    await_until(
        "the callback queue is drained",
        WITHIN,
        || stream_len(&app.js, "PAYMENT_CALLBACKS"),
        |queued| *queued == 0,
    )
    .await;
}

/// Verifies with the `standardwebhooks` package from PyPI, an implementation independent of ours.
fn verify_independently(request: &support::receiver::Received) {
    let python = testkit::tools_python();
    let script = r#"
import json, sys
from standardwebhooks.webhooks import Webhook
headers, body = json.loads(sys.argv[1]), sys.argv[2]
Webhook(sys.argv[3]).verify(body, headers)
print("verified")
"#;
    let headers = json!({
        "webhook-id": request.header("webhook-id"),
        "webhook-timestamp": request.header("webhook-timestamp"),
        "webhook-signature": request.header("webhook-signature"),
    });
    let output = std::process::Command::new(&python)
        .args([
            "-c",
            script,
            &headers.to_string(),
            std::str::from_utf8(&request.body).unwrap(),
            SIGNING_SECRET,
        ])
        .output()
        .unwrap_or_else(|e| panic!("{python:?}: {e} (scripts/test.sh installs it)"));
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("verified"),
        "standardwebhooks rejected the signature: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn each_final_outcome_is_called_back_once_signed_per_standard_webhooks() {
    let receiver = Receiver::start(&[]).await;
    let app = TestApp::spawn_with(&settings("1s")).await;
    let paid = create(&app, ORDER, &receiver.url).await;
    pay(&app, &paid).await;
    let requests = receiver.wait_for(1).await;
    let call = &requests[0];
    assert_eq!(call.method, "POST");
    assert_eq!(
        call.json(),
        json!({"id": paid, "orderId": ORDER, "status": "succeeded", "metadata": {"cartId": "c-42"}})
    );
    assert!(call.header("webhook-id").starts_with("msg_"));
    assert!(call.header("webhook-signature").starts_with("v1,"));
    verify_independently(call);

    let expiring = create(&app, "order-expiring", &receiver.url).await;
    let before = app.standin.events().len();
    app.standin.expire(&expiring).await.unwrap();
    app.forward_events(before).await;
    let requests = receiver.wait_for(2).await;
    assert_eq!(requests[1].json()["status"], "expired");
    assert_eq!(requests[1].json()["id"], expiring.as_str());
    assert_ne!(requests[1].header("webhook-id"), call.header("webhook-id"));
    verify_independently(&requests[1]);

    // Stripe's redeliveries of the same events call back nothing more.
    app.forward_events(0).await;
    app.wait_pipeline_idle().await;
    wait_queue_empty(&app).await;
    assert_eq!(receiver.received().len(), 2);
    let metrics = app.metrics().await;
    assert!(
        metrics.contains(r#"payments_callback_attempts_total{result="delivered"}"#),
        "{metrics}"
    );
    assert!(!metrics.contains(SIGNING_SECRET));
}

#[tokio::test]
async fn a_later_request_cannot_move_the_callback_target() {
    let owner = Receiver::start(&[]).await;
    let hijacker = Receiver::start(&[]).await;
    let app = TestApp::spawn_with(&settings("1s")).await;
    let request = |url: &str| {
        let body = json!({
            "orderId": ORDER, "currency": "usd", "items": [{"name": "Mug", "price": 9.5, "quantity": 1}],
            "callback": {"url": url, "method": "POST"}, "metadata": {"cartId": "c-42"},
        });
        app.http
            .post(app.url("/payments/create-session"))
            .header("content-type", "application/json")
            .header("idempotency-key", "checkout-77")
            .body(body.to_string())
            .send()
    };
    let first = request(&owner.url).await.unwrap();
    assert_eq!(first.status(), 200);
    let session = first.json::<Value>().await.unwrap()["sessionId"]
        .as_str()
        .unwrap()
        .to_owned();
    let hijack = request(&hijacker.url).await.unwrap();
    assert_eq!(hijack.status(), 409);
    assert_eq!(
        hijack.json::<Value>().await.unwrap()["message"],
        "Idempotency-Key checkout-77 was used for another request"
    );
    // A retry of the first request is still fine, and the payment is called back where it first said.
    assert_eq!(request(&owner.url).await.unwrap().status(), 200);
    assert_eq!(app.standin.sessions_created(), 1);
    pay(&app, &session).await;
    let calls = owner.wait_for(1).await;
    assert_eq!(calls[0].json()["id"], session.as_str());
    app.wait_pipeline_idle().await;
    wait_queue_empty(&app).await;
    assert!(hijacker.received().is_empty(), "the hijacker got nothing");
}

#[tokio::test]
async fn a_declined_attempt_calls_nobody_back_and_the_payment_once() {
    let receiver = Receiver::start(&[]).await;
    let app = TestApp::spawn_with(&settings("1s")).await;
    let session = create(&app, ORDER, &receiver.url).await;
    let before = app.standin.events().len();
    app.standin
        .pay(&session, Method::DeclinedThenCard)
        .await
        .unwrap();
    app.forward_events(before).await;
    let requests = receiver.wait_for(1).await;
    assert_eq!(requests[0].json()["status"], "succeeded");
    // Stripe's redeliveries, the decline included, change nothing.
    app.forward_events(before).await;
    app.wait_pipeline_idle().await;
    wait_queue_empty(&app).await;
    assert_eq!(receiver.received().len(), 1, "only the final outcome");
    let subjects: Vec<String> = app
        .payments()
        .await
        .into_iter()
        .map(|p| p.subject)
        .collect();
    assert_eq!(subjects, ["payment.attempt_failed", "payment.succeeded"]);
}

#[tokio::test]
async fn failures_then_success_retry_with_the_same_webhook_id() {
    let receiver = Receiver::start(&[(500, None), (502, None)]).await;
    let app = TestApp::spawn_with(&settings("1s,1s,1s")).await;
    let session = create(&app, ORDER, &receiver.url).await;
    pay(&app, &session).await;
    let requests = receiver.wait_for(3).await;
    wait_queue_empty(&app).await;
    let ids: Vec<String> = requests.iter().map(|r| r.header("webhook-id")).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "{ids:?}");
    assert!(
        requests[1].at - requests[0].at >= Duration::from_millis(900),
        "waited the schedule"
    );
    assert_eq!(receiver.received().len(), 3);
    assert!(app
        .payments()
        .await
        .iter()
        .all(|p| p.subject != "payment.callback.failed"));
}

#[tokio::test]
async fn exhausted_retries_publish_payment_callback_failed() {
    let receiver = Receiver::start(&[(500, None), (500, None), (500, None)]).await;
    let app = TestApp::spawn_with(&settings("1s,1s")).await;
    let session = create(&app, ORDER, &receiver.url).await;
    pay(&app, &session).await;
    receiver.wait_for(3).await;
    let failed = the_one_failure(&app).await;
    assert_eq!(
        failed.body,
        json!({"id": session, "orderId": ORDER, "url": receiver.url, "attempts": 3, "lastStatus": 500})
    );
    assert_eq!(receiver.received().len(), 3, "no attempt after the last");
}

#[tokio::test]
async fn retry_after_is_honoured_within_the_schedule_and_410_stops() {
    let app = TestApp::spawn_with(&settings("1s,3s")).await;
    // In seconds (2 s), and as an HTTP date 3 s from now (2-3 s once truncated to the second).
    let seconds = Receiver::start(&[(503, Some(2)), (200, None)]).await;
    let dated = Receiver::start_dated(&[(503, Some(3)), (200, None)]).await;
    for (receiver, order, form) in [
        (seconds, ORDER, "seconds"),
        (dated, "order-dated", "an HTTP date"),
    ] {
        let session = create(&app, order, &receiver.url).await;
        pay(&app, &session).await;
        let requests = receiver.wait_for(2).await;
        let gap = requests[1].at - requests[0].at;
        assert!(
            gap >= Duration::from_millis(1900),
            "Retry-After as {form} honoured over the 1 s schedule: {gap:?}"
        );
    }

    let gone = Receiver::start(&[(410, None)]).await;
    let session = create(&app, "order-gone", &gone.url).await;
    pay(&app, &session).await;
    gone.wait_for(1).await;
    let failed = the_one_failure(&app).await;
    assert_eq!(failed.body["lastStatus"], 410);
    assert_eq!(failed.body["attempts"], 1);
    assert_eq!(gone.received().len(), 1, "410 stops at once");
}

#[tokio::test]
async fn a_pending_attempt_survives_a_restart_and_happens_once() {
    let receiver = Receiver::start(&[(500, None)]).await;
    let mut first = TestApp::spawn_with(&settings("2s")).await;
    let session = create(&first, ORDER, &receiver.url).await;
    pay(&first, &session).await;
    receiver.wait_for(1).await;
    first.stop().await; // the retry is due in 2 s; nothing of it is in memory any more

    let second = Replica::start(&first, &settings("2s")).await;
    let requests = receiver.wait_for(2).await;
    assert_eq!(
        requests[0].header("webhook-id"),
        requests[1].header("webhook-id")
    );
    wait_queue_empty(&first).await;
    assert_eq!(receiver.received().len(), 2);
    second.stop().await;
}

#[tokio::test]
async fn two_replicas_make_each_attempt_once() {
    let receiver = Receiver::failing_first_attempts(503).await;
    let app = TestApp::spawn_with(&settings("1s")).await;
    let replica = Replica::start(&app, &settings("1s")).await;

    const N: usize = 6;
    for i in 0..N {
        let session = create(&app, &format!("order-replicas-{i}"), &receiver.url).await;
        pay(&app, &session).await;
    }
    receiver.wait_for(2 * N).await;
    wait_queue_empty(&app).await;
    let mut per_id = std::collections::BTreeMap::<String, usize>::new();
    for request in receiver.received() {
        *per_id.entry(request.header("webhook-id")).or_default() += 1;
    }
    assert_eq!(per_id.len(), N);
    assert!(
        per_id.values().all(|&n| n == 2),
        "one failed attempt and one retry each: {per_id:?}"
    );
    replica.stop().await;
}

/// Tries to create a session with this callback and metadata; returns the status and message.
async fn attempt(app: &TestApp, callback: Value, metadata: Value) -> (u16, String) {
    let body = json!({"orderId": ORDER, "currency": "usd", "items": [{"name": "a", "price": 1, "quantity": 1}],
        "callback": callback, "metadata": metadata});
    let response = app
        .post_json("/payments/create-session", &body.to_string())
        .await;
    let status = response.status().as_u16();
    (
        status,
        response.json::<Value>().await.unwrap()["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[tokio::test]
async fn private_targets_and_bad_callbacks_are_refused() {
    let receiver = Receiver::start(&[]).await;
    let app = TestApp::spawn_with(&[("CALLBACK_SIGNING_SECRET", SIGNING_SECRET)]).await; // guard on
    for (url, reason) in [
        (receiver.url.as_str(), "loopback"),
        ("http://localhost:8080/x", "loopback"),
        (
            "http://169.254.169.254/latest/meta-data/",
            "link-local or cloud metadata",
        ),
        ("http://10.0.0.7/hook", "private"),
        ("http://[::1]/hook", "loopback"),
        ("http://100.100.100.200/", "carrier-grade NAT"),
        ("http://[::7f00:1]/hook", "IPv4-compatible"),
        ("http://[::ffff:10.0.0.7]/hook", "private"),
        (
            "http://[64:ff9b::a9fe:a9fe]/hook",
            "link-local or cloud metadata",
        ),
        ("http://[2002:c0a8:101::1]/hook", "private"),
        (
            "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/hook",
            "Teredo",
        ),
        ("http://[fec0::1]/hook", "site-local"),
        ("http://192.0.2.10/hook", "documentation"),
    ] {
        let (status, message) =
            attempt(&app, json!({"url": url, "method": "POST"}), json!({})).await;
        assert_eq!(status, 400, "{url}");
        assert!(message.contains(reason), "{url}: {message}");
    }
    let bad = [
        (
            json!({"url": "ftp://example.com/x"}),
            json!({}),
            "callback.url must be an http(s) URL",
        ),
        (
            json!({"url": "https://example.com/x", "method": "GET"}),
            json!({}),
            "callback.method must be POST or PUT",
        ),
        (
            json!({"url": "https://example.com/x", "extra": 1}),
            json!({}),
            "property callback.extra should not exist",
        ),
        (
            json!({"url": "https://example.com/x"}),
            json!({"n": 5}),
            "metadata.n must be a string",
        ),
        (
            json!({"url": "https://example.com/x"}),
            json!({"orderId": "x"}),
            "metadata.orderId is reserved for the service",
        ),
    ];
    for (callback, metadata, expected) in bad {
        let (status, message) = attempt(&app, callback, metadata).await;
        assert_eq!((status, message.as_str()), (400, expected));
    }
    let many: serde_json::Map<String, Value> =
        (0..21).map(|i| (format!("k{i}"), json!("v"))).collect();
    let (status, message) = attempt(
        &app,
        json!({"url": "https://example.com/x"}),
        Value::Object(many),
    )
    .await;
    assert_eq!(
        (status, message.as_str()),
        (
            400,
            "metadata must be an object of at most 20 string values"
        )
    );
    assert_eq!(app.standin.sessions_created(), 0, "nothing reached Stripe");
    assert!(receiver.received().is_empty());

    let unsigned = TestApp::spawn().await; // no CALLBACK_SIGNING_SECRET
    let body = json!({"orderId": ORDER, "currency": "usd", "items": [{"name": "a", "price": 1, "quantity": 1}],
        "callback": {"url": "https://example.com/x"}});
    let response = unsigned
        .post_json("/payments/create-session", &body.to_string())
        .await;
    assert_eq!(response.status(), 400);
}

#[tokio::test]
async fn a_target_that_turned_private_is_refused_at_send_time() {
    let receiver = Receiver::start(&[]).await;
    // One replica allowed it when the session was created; this one, with the guard on, sends. By name, so the
    // refusal comes from the callback client's own resolver, not from a check of an IP literal.
    let by_name = receiver.url.replace("127.0.0.1", "localhost");
    let creator = TestApp::spawn_with(&settings("1s")).await;
    let session = create(&creator, ORDER, &by_name).await;
    let mut creator = creator;
    creator.stop().await;
    let sender = Replica::start(&creator, &[("CALLBACK_SIGNING_SECRET", SIGNING_SECRET)]).await;
    let sender_base = sender.base.clone();

    let before = creator.standin.events().len();
    creator.standin.pay(&session, Method::Card).await.unwrap();
    let http = reqwest::Client::new();
    support::wait_ready_at(&sender_base).await;
    for event in &creator.standin.events()[before..] {
        let body = event.to_string();
        let signature = support::sign_now(support::ENDPOINT_SECRET, &body);
        let reply = support::post_signed_at(&http, &sender_base, &body, &signature)
            .await
            .expect("event sent");
        assert_eq!(reply.status(), 200, "event accepted");
    }
    let failed = the_one_failure(&creator).await;
    assert_eq!(
        failed.body["lastStatus"], 0,
        "no HTTP status: the request was never sent"
    );
    assert!(
        receiver.received().is_empty(),
        "the private address was never contacted"
    );
    sender.stop().await;
}
