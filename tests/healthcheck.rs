//! `payments healthcheck` against receivers that are not a healthy service: a non-200 answer and one that never
//! answers both exit 1, the second within the probe's timeout (the image's HEALTHCHECK allows 5 s).

use std::process::Command;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Runs `payments healthcheck --port PORT` from an empty environment; its exit code and how long it took.
async fn healthcheck(port: u16) -> (Option<i32>, Duration) {
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let status = Command::new(env!("CARGO_BIN_EXE_payments"))
            .current_dir(std::env::temp_dir())
            .env_clear()
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
async fn a_service_answering_503_is_unhealthy() {
    let port = server(Some(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
    ))
    .await;
    assert_eq!(healthcheck(port).await.0, Some(1));
}

#[tokio::test]
async fn a_200_from_the_probed_port_is_healthy() {
    let port = server(Some(
        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok",
    ))
    .await;
    assert_eq!(healthcheck(port).await.0, Some(0));
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
