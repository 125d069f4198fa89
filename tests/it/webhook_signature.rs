//! `Stripe-Signature` over real HTTP: every refusal is a 400 naming its reason, and nothing is stored.

use payments::stripe::signature::sign;
use serde_json::Value;

use crate::support::{fixture, now, TestApp, ENDPOINT_SECRET};

async fn refused(app: &TestApp, body: &str, signature: Option<&str>) -> String {
    let mut request = app
        .http
        .post(app.url("/payments/webhook"))
        .body(body.to_owned());
    if let Some(signature) = signature {
        request = request.header("stripe-signature", signature);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), 400);
    let reply: Value = response.json().await.unwrap();
    assert_eq!(reply["status"], 400);
    reply["message"].as_str().unwrap().to_owned()
}

async fn stored_events(app: &TestApp) -> u64 {
    app.js
        .get_stream("STRIPE_EVENTS")
        .await
        .unwrap()
        .info()
        .await
        .unwrap()
        .state
        .messages
}

#[tokio::test]
async fn each_refusal_reason_is_named_and_nothing_is_stored() {
    let app = TestApp::spawn().await;
    let body = fixture("charge.succeeded").to_string();
    let good = sign(ENDPOINT_SECRET, now(), body.as_bytes());

    assert_eq!(
        refused(&app, &body, None).await,
        "Webhook Error: No Stripe-Signature header"
    );
    assert_eq!(
        refused(&app, &body, Some("garbage")).await,
        "Webhook Error: Unable to parse the Stripe-Signature header: no timestamp (t=)"
    );
    assert!(refused(
        &app,
        &body,
        Some(&sign("whsec_other", now(), body.as_bytes()))
    )
    .await
    .starts_with("Webhook Error: No signatures found matching the expected signature"));
    let tampered = body.replace("\"amount\": 100", "\"amount\": 1");
    let tampered = if tampered == body {
        body.replacen("100", "999", 1)
    } else {
        tampered
    };
    assert!(refused(&app, &tampered, Some(&good))
        .await
        .starts_with("Webhook Error: No signatures found"));
    let stale = sign(ENDPOINT_SECRET, now() - 301, body.as_bytes());
    assert!(refused(&app, &body, Some(&stale))
        .await
        .starts_with("Webhook Error: Timestamp outside the tolerance zone"));
    let only_v0 = format!("t={},v0={}", now(), "ab".repeat(32));
    assert_eq!(
        refused(&app, &body, Some(&only_v0)).await,
        "Webhook Error: Unable to parse the Stripe-Signature header: no v1 signature"
    );
    assert_eq!(stored_events(&app).await, 0);

    let response = app.post_signed(&body, &good).await;
    assert_eq!(response.status(), 200);
    assert_eq!(stored_events(&app).await, 1);
}

#[tokio::test]
async fn rotation_multi_v1_and_v0_are_accepted() {
    let app = TestApp::spawn_with(&[(
        "STRIPE_ENDPOINT_SECRET",
        "whsec_old_secret, whsec_new_secret",
    )])
    .await;
    let body = fixture("checkout.session.expired").to_string();
    for secret in ["whsec_old_secret", "whsec_new_secret"] {
        let response = app
            .post_signed(&body, &sign(secret, now(), body.as_bytes()))
            .await;
        assert_eq!(response.status(), 200, "{secret}");
    }
    // Stripe sends one v1 per active secret during rotation, and may add v0.
    let t = now();
    let new = sign("whsec_new_secret", t, body.as_bytes());
    let new_sig = new.split("v1=").nth(1).unwrap();
    let header = format!(
        "t={t},v1={},v1={new_sig},v0={}",
        "00".repeat(32),
        "11".repeat(32)
    );
    assert_eq!(app.post_signed(&body, &header).await.status(), 200);
}

#[tokio::test]
async fn configurable_tolerance() {
    let app = TestApp::spawn_with(&[("WEBHOOK_TOLERANCE", "10s")]).await;
    let body = fixture("charge.succeeded").to_string();
    let old = sign(ENDPOINT_SECRET, now() - 60, body.as_bytes());
    assert!(refused(&app, &body, Some(&old))
        .await
        .contains("tolerance 10 s"));
}
