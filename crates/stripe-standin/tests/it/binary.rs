//! The `stripe-standin` binary: configured by environment variables, it serves the API and the hosted page,
//! forwards signed events to `WEBHOOK_URL`, logs each delivery attempt to stderr and stops on SIGTERM.

use std::process::Stdio;
use std::time::Duration;

use reqwest::redirect::Policy;
use serde_json::Value;
use testkit::await_until;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::process::Command;

use crate::support::receiver::{Receiver, SECRET};

const BIN: &str = env!("CARGO_BIN_EXE_stripe-standin");

#[tokio::test]
async fn serves_forwards_logs_and_stops_on_sigterm() {
    let receiver = Receiver::start().await;
    let mut child = Command::new(BIN)
        .env_clear()
        .envs([
            ("HOST", "127.0.0.1"),
            ("PORT", "0"),
            ("API_KEY", "sk_test_bin"),
            ("WEBHOOK_URL", receiver.url.as_str()),
            ("WEBHOOK_SECRET", SECRET),
            ("PUBLIC_URL", "http://checkout.test:9000/"),
            ("SETTLE_DELAY", "0"),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut base = String::new();
    stdout.read_line(&mut base).await.unwrap();
    let base = base.trim().to_owned();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let http = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let session: Value = http
        .post(format!("{base}/v1/checkout/sessions"))
        .bearer_auth("sk_test_bin")
        .form(&[
            ("mode", "payment"),
            ("success_url", "https://shop.example/ok"),
            ("line_items[0][price_data][currency]", "eur"),
            ("line_items[0][price_data][product_data][name]", "Mug"),
            ("line_items[0][price_data][unit_amount]", "990"),
            ("line_items[0][quantity]", "1"),
            ("payment_intent_data[metadata][orderId]", "o-1"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = session["id"].as_str().expect("a session").to_owned();
    assert_eq!(
        session["url"],
        format!("http://checkout.test:9000/checkout/{id}").as_str()
    );
    let paid = http
        .post(format!("{base}/checkout/{id}/pay?method=delayed_success"))
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status().as_u16(), 303);

    await_until(
        "4 events delivered",
        Duration::from_secs(10),
        || async { receiver.delivered_types() },
        |delivered| delivered.len() >= 4,
    )
    .await;
    let received = receiver.received();
    assert_eq!(received.len(), 4);
    for r in &received {
        r.verify(SECRET);
        assert_eq!(
            r.event()["data"]["object"]["metadata"]["orderId"],
            if r.event_type().starts_with("checkout") {
                Value::Null
            } else {
                "o-1".into()
            }
        );
    }

    let pid = child.id().unwrap().to_string();
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
        .await
        .expect("stops on SIGTERM")
        .unwrap();
    assert!(status.success(), "{status}");
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    assert!(
        stderr.contains("stripe-standin: accepting only the key in API_KEY"),
        "{stderr}"
    );
    for event_type in [
        "checkout.session.completed",
        "payment_intent.succeeded",
        "charge.succeeded",
        "checkout.session.async_payment_succeeded",
    ] {
        assert!(
            stderr.contains(&format!("{event_type} evt_")),
            "{event_type} not logged in {stderr}"
        );
    }
    assert_eq!(stderr.matches("attempt 1: 200 (delivered)").count(), 4);
    assert!(
        !stderr.contains(SECRET),
        "the given secret is never printed"
    );
}

#[tokio::test]
async fn refuses_bad_settings_with_exit_code_2() {
    for (name, value) in [
        ("SETTLE_DELAY", "soon"),
        ("PORT", "http"),
        ("WEBHOOK_URL", "localhost:3000"),
    ] {
        let run = Command::new(BIN)
            .env_clear()
            .env("PORT", "0")
            .env(name, value)
            .kill_on_drop(true)
            .output();
        // A setting taken for valid starts a server that never exits: a failure, not a hang.
        let output = tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .unwrap_or_else(|_| panic!("{name}={value} was accepted: still running after 10 s"))
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}={value}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(name), "{stderr}");
    }
}
