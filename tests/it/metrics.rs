//! `GET /metrics`: refused, unusable and published webhooks are counted by type and result. The Prometheus recorder
//! is per process: each test runs the service as a process of its own, so that it reads its own counts only.

use crate::support::{self, events::Payment, fixture, TestApp};

fn counter(text: &str, event_type: &str, result: &str) -> u64 {
    let needle = format!(
        "payments_webhook_events_total{{event_type=\"{event_type}\",result=\"{result}\"}} "
    );
    text.lines()
        .find_map(|l| l.strip_prefix(&needle))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn webhook_results_are_counted() {
    let app = TestApp::spawn_process(&[]).await;
    let unusable = fixture("charge.succeeded").to_string(); // no orderId
    assert_eq!(app.post_event(&unusable).await.status(), 200);
    assert_eq!(app.post_event(&unusable).await.status(), 200); // Stripe's redelivery
    assert_eq!(app.post_signed(&unusable, "t=1,v1=00").await.status(), 400);
    assert_eq!(
        app.post_event(&Payment::new("m").charge_succeeded())
            .await
            .status(),
        200
    );
    app.wait_pipeline_idle().await;

    let response = app.http.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = response.text().await.unwrap();
    assert_eq!(counter(&text, "charge.succeeded", "unusable"), 1, "{text}");
    assert_eq!(counter(&text, "charge.succeeded", "duplicate"), 1, "{text}");
    assert_eq!(counter(&text, "charge.succeeded", "published"), 1, "{text}");
    assert_eq!(counter(&text, "unknown", "rejected_signature"), 1, "{text}");
    assert!(!text.contains(support::STRIPE_SECRET) && !text.contains(support::ENDPOINT_SECRET));
}

#[tokio::test]
async fn http_stripe_jetstream_and_nats_metrics_are_exported() {
    let app = TestApp::spawn_process(&[]).await;
    let body = format!(
        r#"{{"orderId":"{}","currency":"usd","items":[{{"name":"a","price":1,"quantity":1}}]}}"#,
        support::ORDER
    );
    assert_eq!(
        app.post_json("/payments/create-session", &body)
            .await
            .status(),
        200
    );
    assert_eq!(
        app.post_json("/payments/create-session", "{}")
            .await
            .status(),
        400
    );
    assert_eq!(
        app.post_event(&Payment::new("jm").expired()).await.status(),
        200
    );
    app.wait_pipeline_idle().await;
    let reply = app
        .client
        .request("create.payment.session", body.clone().into())
        .await
        .unwrap();
    assert!(reply.headers.is_none());

    let text = app.metrics().await;
    let has = |needle: &str| text.lines().any(|l| l.starts_with(needle));
    for needle in [
        r#"payments_http_requests_total{route="/payments/create-session",method="POST",status="200"}"#,
        r#"payments_http_requests_total{route="/payments/create-session",method="POST",status="400"}"#,
        r#"payments_http_request_duration_seconds_bucket{route="/payments/webhook",method="POST",le="0.005"}"#,
        r#"payments_stripe_requests_total{operation="create_checkout_session",result="ok"}"#,
        r#"payments_stripe_request_duration_seconds_count{operation="create_checkout_session"}"#,
        r#"payments_jetstream_publish_duration_seconds_count{stream="events"}"#,
        r#"payments_jetstream_publish_duration_seconds_count{stream="PAYMENTS"}"#,
        r#"payments_nats_requests_total{format="plain",status="200"}"#,
        "payments_nats_connected 1",
    ] {
        assert!(has(needle), "{needle} missing from\n{text}");
    }
}
