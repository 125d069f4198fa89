//! `/metrics` never grows with input (CONTRACT §9): invented methods and random paths are counted under `other`,
//! so no request creates a new series. The service runs as a process of its own: the Prometheus recorder is per
//! process, and another test's requests would add series of their own.

use std::collections::BTreeSet;

use reqwest::Method;

use crate::support::TestApp;

/// The HTTP series in the exposition, by name and labels (values dropped).
async fn http_series(app: &TestApp) -> BTreeSet<String> {
    let text = app.metrics().await;
    text.lines()
        .filter(|l| l.starts_with("payments_http_"))
        .filter_map(|l| l.rsplit_once(' ').map(|(series, _)| series.to_owned()))
        .collect()
}

fn random_token(len: usize) -> String {
    uuid::Uuid::new_v4().simple().to_string()[..len].to_owned()
}

/// Sends one request of each hostile kind: an invented method on a route, and a random path with each method.
async fn hostile_round(app: &TestApp) -> Vec<String> {
    let method = format!("X{}", random_token(8).to_uppercase());
    let path = format!("/{}/{}", random_token(6), random_token(10));
    let requests = [
        (method.as_str(), "/health"),
        (method.as_str(), path.as_str()),
        ("GET", path.as_str()),
        ("POST", path.as_str()),
    ];
    for (method, path) in requests {
        let response = app
            .http
            .request(
                Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(path),
            )
            .send()
            .await
            .unwrap();
        assert!(response.status().is_client_error(), "{method} {path}");
    }
    vec![method, path]
}

#[tokio::test]
async fn invented_methods_and_random_paths_create_no_series() {
    let app = TestApp::spawn_process(&[]).await;
    // One round (and one scrape) first, so that the `other` series and /metrics's own exist.
    hostile_round(&app).await;
    http_series(&app).await;
    let before = http_series(&app).await;

    let mut sent = Vec::new();
    for _ in 0..50 {
        sent.extend(hostile_round(&app).await);
    }
    let after = http_series(&app).await;
    assert_eq!(before, after, "hostile requests created series");
    for series in &after {
        for token in &sent {
            assert!(
                !series.contains(token.as_str()),
                "{token} reached a label: {series}"
            );
        }
    }
    for needle in [
        r#"payments_http_requests_total{route="other",method="GET",status="404"}"#,
        r#"payments_http_requests_total{route="/health",method="other",status="405"}"#,
        r#"payments_http_requests_total{route="other",method="other",status="404"}"#,
    ] {
        assert!(after.contains(needle), "{needle} missing from {after:#?}");
    }
}
