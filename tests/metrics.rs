//! `GET /metrics`: refused, unusable and published webhooks are counted by type and result. Its own test binary,
//! because the Prometheus recorder is per process.

mod common;

use common::{events::Payment, fixture, TestApp};

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
    let app = TestApp::spawn().await;
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
    assert!(!text.contains(common::STRIPE_SECRET) && !text.contains(common::ENDPOINT_SECRET));
}
