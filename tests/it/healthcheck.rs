//! `payments healthcheck`: 0 against the running service, 1 with nothing listening; against receivers that are
//! not a healthy service, a non-200 answer, a redirect (even to a healthy server) and one that never answers all
//! exit 1, the last within the probe's timeout (the image's HEALTHCHECK allows 5 s).

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{
    process::{free_port, payments},
    TestApp,
};

/// Runs `payments healthcheck --port PORT` from an empty environment; its exit code and how long it took.
async fn healthcheck(port: u16) -> (Option<i32>, Duration) {
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let status = payments()
            .args(["healthcheck", "--port", &port.to_string()])
            .status()
            .unwrap();
        (status.code(), started.elapsed())
    })
    .await
    .unwrap()
}

/// A loopback server answering every connection with `reply` after reading the request (or, with `None`, holding
/// the connection open without a word).
async fn server(reply: Option<&'static str>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        loop {
            let (mut stream, _) = listener.accept().await.unwrap();
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request).await;
            match reply {
                Some(reply) => {
                    let _ = stream.write_all(reply.as_bytes()).await;
                }
                None => held.push(stream),
            }
        }
    });
    port
}

#[tokio::test]
async fn only_a_200_from_the_probed_port_is_healthy() {
    for (status, expected) in [
        ("200 OK", 0),
        ("503 Service Unavailable", 1),
        ("301 Moved Permanently", 1),
        ("404 Not Found", 1),
    ] {
        let reply = format!("HTTP/1.1 {status}\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        let port = server(Some(reply.leak())).await;
        assert_eq!(healthcheck(port).await.0, Some(expected), "{status}");
    }
}

#[tokio::test]
async fn a_service_that_never_answers_is_unhealthy_within_the_timeout() {
    let port = server(None).await;
    let (code, took) = healthcheck(port).await;
    assert_eq!(code, Some(1));
    assert!(
        took < Duration::from_secs(5),
        "took {took:?}, more than the image's HEALTHCHECK timeout"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed_even_to_a_healthy_server() {
    let healthy = server(Some(
        "HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    ))
    .await;
    let reply = format!(
        "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:{healthy}/health\r\ncontent-length: 0\r\n\
         connection: close\r\n\r\n"
    );
    let port = server(Some(reply.leak())).await;
    assert_eq!(healthcheck(port).await.0, Some(1));
}

#[tokio::test]
async fn healthcheck_subcommand_reports_the_local_service() {
    let port = free_port();
    let down = payments()
        .args(["healthcheck", "--port", &port.to_string()])
        .status()
        .unwrap();
    assert_eq!(down.code(), Some(1), "nothing listens yet");
    let app = TestApp::spawn().await;
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let up = tokio::task::spawn_blocking(move || {
        payments()
            .env("PORT", port)
            .arg("healthcheck")
            .status()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(up.code(), Some(0));
}
