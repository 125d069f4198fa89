//! The `payments` binary as an operator runs it: configuration errors at start-up, SIGTERM while a request is in
//! flight (the request completes, the process exits 0), SIGTERM with slow and half-open clients connected (the
//! process still exits within SHUTDOWN_GRACE + 5 s), and help texts that print no configured value.

use std::{process::Stdio, time::Duration};

use stripe_standin::{Fault, StandIn};
use testkit::NatsServer;

use crate::support::{
    self, await_until,
    process::{exit_code, payments, serve, sigterm},
};

/// How long a step of these tests may take: a process start or a log line on a busy machine.
const WITHIN: Duration = Duration::from_secs(20);

#[test]
fn missing_and_invalid_configuration_names_every_variable_and_no_secret() {
    let output = payments()
        .env("PORT", "eighty")
        .env("STRIPE_SECRET", "sk_test_must_not_be_printed")
        .env("STRIPE_SUCCESS_URL", "nope")
        .env("NATS_SERVERS", "http://user:pa55word@x")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    for name in [
        "PORT",
        "STRIPE_ENDPOINT_SECRET",
        "STRIPE_SUCCESS_URL",
        "STRIPE_CANCEL_URL",
        "NATS_SERVERS",
    ] {
        assert!(stderr.contains(name), "{name} not named in: {stderr}");
    }
    assert!(!stderr.contains("sk_test_must_not_be_printed"), "{stderr}");
    assert!(!stderr.contains("pa55word"), "{stderr}");
}

/// A create-session request for one item of order `ORDER`.
fn one_item() -> String {
    format!(
        r#"{{"orderId":"{}","currency":"usd","items":[{{"name":"a","price":1,"quantity":1}}]}}"#,
        support::ORDER
    )
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_request_finish_then_exits_zero() {
    let nats = NatsServer::start();
    let standin = StandIn::with_api_key(support::STRIPE_SECRET).await;
    let (mut child, base) = serve(&nats, &standin, &[], Stdio::null()).await;
    let request = reqwest::Client::new()
        .post(format!("{base}/payments/create-session"))
        .header("content-type", "application/json")
        .body(one_item())
        .send();
    let response = sigterm_during(&standin, &mut child, request).await;
    assert_eq!(response.expect("in-flight request answered").status(), 200);
}

#[tokio::test]
async fn sigterm_lets_an_in_flight_nats_request_finish() {
    let nats = NatsServer::start();
    let standin = StandIn::with_api_key(support::STRIPE_SECRET).await;
    let (mut child, _) = serve(&nats, &standin, &[], Stdio::null()).await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let packet = format!(
        r#"{{"pattern":"create.payment.session","data":{},"id":"in-flight"}}"#,
        one_item()
    );
    let request = async move {
        client
            .request("create.payment.session", packet.into())
            .await
    };
    let reply = sigterm_during(&standin, &mut child, request)
        .await
        .expect("in-flight NATS request answered");
    let reply: serde_json::Value = serde_json::from_slice(&reply.payload).unwrap();
    assert_eq!(reply["id"], "in-flight");
    assert!(reply["response"]["sessionId"].is_string(), "{reply}");
}

#[tokio::test]
async fn json_logs_carry_request_and_event_ids_and_no_secret() {
    let nats = NatsServer::start();
    let standin = StandIn::with_api_key(support::STRIPE_SECRET).await;
    let log = tempfile::NamedTempFile::new().unwrap();
    let (mut child, base) = serve(
        &nats,
        &standin,
        &[("LOG_FORMAT", "json")],
        log.reopen().unwrap().into(),
    )
    .await;
    let http = reqwest::Client::new();
    let event = support::events::Payment::new("logs").charge_succeeded();
    let reply = http
        .post(format!("{base}/payments/webhook"))
        .header("x-request-id", "req-log-test")
        .header(
            "stripe-signature",
            support::sign_now(support::ENDPOINT_SECRET, &event),
        )
        .body(event)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status(), 200);
    let text = || std::fs::read_to_string(log.path()).unwrap();
    await_until(
        "the outcome is logged",
        WITHIN,
        || async { text() },
        |log| log.contains("outcome published"),
    )
    .await;
    sigterm(&child);
    child.wait().unwrap();

    let lines: Vec<serde_json::Value> = text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    let stored = lines
        .iter()
        .find(|l| l["message"] == "webhook stored")
        .expect("webhook log line");
    assert_eq!(stored["span"]["request_id"], "req-log-test");
    assert_eq!(stored["span"]["event_id"], "evt_ch_ch_logs");
    let published = lines
        .iter()
        .find(|l| l["message"] == "outcome published")
        .expect("pipeline log line");
    assert_eq!(published["span"]["event_id"], "evt_ch_ch_logs");
    let all = text();
    for secret in [support::STRIPE_SECRET, support::ENDPOINT_SECRET] {
        assert!(!all.contains(secret), "a secret reached the logs");
    }
}

#[tokio::test]
async fn sigterm_exits_within_the_grace_period_whatever_http_clients_hold() {
    use tokio::io::AsyncWriteExt;

    let nats = NatsServer::start();
    let standin = StandIn::with_api_key(support::STRIPE_SECRET).await;
    let (mut child, base) =
        serve(&nats, &standin, &[("SHUTDOWN_GRACE", "1s")], Stdio::null()).await;
    let addr = base.trim_start_matches("http://").to_owned();

    // A request whose body never completes (in flight: graceful shutdown alone would wait for it, up to the 30 s
    // body timeout), a head that never completes, and a silent connection.
    let mut stuck_body = tokio::net::TcpStream::connect(&addr).await.unwrap();
    stuck_body
        .write_all(
            b"POST /payments/webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{\"id\":",
        )
        .await
        .unwrap();
    let mut half_head = tokio::net::TcpStream::connect(&addr).await.unwrap();
    half_head
        .write_all(b"GET /health HTTP/1.1\r\nHost:")
        .await
        .unwrap();
    let _silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    // The three connections are accepted (in order) once a request after them is answered.
    let health = reqwest::get(format!("{base}/health")).await.unwrap();
    assert_eq!(health.status(), 200);

    let started = std::time::Instant::now();
    sigterm(&child);
    let exit = exit_code(
        &mut child,
        "SIGTERM with SHUTDOWN_GRACE=1s",
        Duration::from_secs(15),
    )
    .await;
    let took = started.elapsed();
    assert_eq!(exit, Some(0));
    assert!(
        took < Duration::from_secs(6),
        "exit took {took:?}, more than SHUTDOWN_GRACE (1s) + 5s"
    );
    drop((stuck_body, half_head));
}

#[test]
fn help_texts_print_no_configured_value() {
    let values = [
        (
            "NATS_SERVERS",
            "nats://help-user:help-pa55@nats-help-host:4222",
        ),
        ("STRIPE_API_BASE", "http://stripe-help-host:12111"),
        ("STRIPE_SECRET", "sk_test_help_secret_value"),
        ("STRIPE_ENDPOINT_SECRET", "whsec_help_secret_value"),
        ("NATS_TOKEN", "help-token-value"),
    ];
    for args in [
        &["--help"][..],
        &["serve", "--help"],
        &["healthcheck", "--help"],
        &["inspect", "--help"],
        &["replay", "--help"],
        &["trigger", "--help"],
        &["watch", "--help"],
    ] {
        let output = payments().envs(values).args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8_lossy(&output.stdout).to_string()
            + &String::from_utf8_lossy(&output.stderr);
        for needle in [
            "help-pa55",
            "help-user",
            "nats-help-host",
            "stripe-help-host",
            "help_secret_value",
            "help-token-value",
        ] {
            assert!(
                !text.contains(needle),
                "`payments {}` printed {needle}:\n{text}",
                args.join(" ")
            );
        }
        if args[0] == "watch" {
            // The variable is still named, only its value is hidden.
            assert!(text.contains("NATS_SERVERS"), "{text}");
        }
    }
}

/// Sends `request` while Stripe answers slowly and SIGTERMs the service once the request is in flight; the
/// request's outcome, after checking that the service then exited 0.
async fn sigterm_during<T: Send + 'static>(
    standin: &StandIn,
    child: &mut std::process::Child,
    request: impl std::future::Future<Output = T> + Send + 'static,
) -> T {
    standin.inject(Fault::Delay(Duration::from_millis(1500)), 1);
    let request = tokio::spawn(request);
    sigterm_in_flight(standin, child).await;
    let outcome = request.await.expect("the request's task");
    assert_eq!(exit_code(child, "after SIGTERM", WITHIN).await, Some(0));
    outcome
}

/// SIGTERM as soon as the request has reached Stripe (which answers slowly): the request is in flight then.
async fn sigterm_in_flight(standin: &StandIn, child: &std::process::Child) {
    await_until(
        "the request reached Stripe",
        WITHIN,
        || async { standin.requests().len() },
        |n| *n > 0,
    )
    .await;
    sigterm(child);
}
