//! Hostile and broken HTTP clients over real loopback sockets (CONTRACT §9): a head or a body trickled one byte per
//! second, idle and half-open connections, and the connection limit. Timeouts are set short through the
//! environment, as an operator would.

use std::time::{Duration, Instant};

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    task::JoinHandle,
};

use crate::support::{self, TestApp};

const TIMEOUT: Duration = Duration::from_secs(2);

async fn connect(app: &TestApp) -> TcpStream {
    let addr = app.base.trim_start_matches("http://");
    TcpStream::connect(addr).await.expect("connects")
}

/// Reads until the server closes the connection (EOF or reset); returns what it sent and when it closed.
async fn until_closed(mut stream: tokio::net::tcp::OwnedReadHalf) -> (String, Instant) {
    let mut received = Vec::new();
    let mut buf = [0u8; 1024];
    let read_all = async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), read_all)
        .await
        .expect("the server closed the connection");
    (
        String::from_utf8_lossy(&received).into_owned(),
        Instant::now(),
    )
}

/// Writes `bytes` one per second, like a slowloris client; stops quietly once the server has closed.
fn trickle(mut writer: tokio::net::tcp::OwnedWriteHalf, bytes: Vec<u8>) -> JoinHandle<()> {
    tokio::spawn(async move {
        for byte in bytes {
            if writer.write_all(&[byte]).await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    })
}

/// The connection closed after about `TIMEOUT` (scheduling on a loaded machine may add a little).
fn assert_closed_after_timeout(started: Instant, closed: Instant) {
    let took = closed - started;
    assert!(
        took >= TIMEOUT - Duration::from_millis(200) && took < TIMEOUT + Duration::from_secs(3),
        "closed after {took:?}, expected about {TIMEOUT:?}"
    );
}

#[tokio::test]
async fn a_head_trickled_one_byte_per_second_is_cut_off_at_the_header_timeout() {
    let app = TestApp::spawn_with(&[("HTTP_HEADER_TIMEOUT", "2s")]).await;
    let (read, write) = connect(&app).await.into_split();
    let started = Instant::now();
    let writer = trickle(write, b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n".to_vec());
    let (received, closed) = until_closed(read).await;
    assert_closed_after_timeout(started, closed);
    assert!(
        !received.contains("200 OK"),
        "served a head that never completed: {received}"
    );
    writer.abort();
    // The service is unharmed.
    assert_eq!(
        app.http
            .get(app.url("/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

#[tokio::test]
async fn a_body_trickled_one_byte_per_second_gets_408_and_is_closed_at_the_body_timeout() {
    let app = TestApp::spawn_with(&[("HTTP_BODY_TIMEOUT", "2s")]).await;
    let (read, mut write) = connect(&app).await.into_split();
    write
        .write_all(
            b"POST /payments/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
              Stripe-Signature: t=1,v1=00\r\nContent-Length: 100\r\n\r\n",
        )
        .await
        .unwrap();
    let started = Instant::now();
    let writer = trickle(write, vec![b' '; 100]);
    let (received, closed) = until_closed(read).await;
    assert_closed_after_timeout(started, closed);
    assert!(received.starts_with("HTTP/1.1 408"), "{received}");
    assert!(
        received.contains(r#""message":"the request body did not arrive within 2s""#),
        "{received}"
    );
    writer.abort();
    app.wait_pipeline_idle().await;
    assert!(support::read_stream(&app.js, "STRIPE_EVENTS")
        .await
        .is_empty());
}

#[tokio::test]
async fn idle_half_open_and_kept_alive_connections_are_closed_at_the_header_timeout() {
    let app = TestApp::spawn_with(&[("HTTP_HEADER_TIMEOUT", "2s")]).await;
    // Connected and silent.
    let (idle, _idle_write) = connect(&app).await.into_split();
    // Half a request line, then nothing (a client that died mid-request).
    let (half, mut half_write) = connect(&app).await.into_split();
    half_write.write_all(b"GET /hea").await.unwrap();
    // One request served, then the connection kept open and left idle.
    let (mut kept, mut kept_write) = connect(&app).await.into_split();
    kept_write
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();

    let (idle, half, kept) =
        tokio::join!(until_closed(idle), until_closed(half), until_closed(kept));
    for (received, closed) in [idle, half, kept] {
        assert!(received.is_empty(), "{received}");
        // The idle and half-open ones were opened slightly before `started`: they may close slightly earlier.
        let took = closed - started;
        assert!(
            took < TIMEOUT + Duration::from_secs(3),
            "closed after {took:?}"
        );
    }
    assert!(Instant::now() - started >= TIMEOUT - Duration::from_millis(500));
}

#[tokio::test]
async fn past_the_connection_limit_a_client_waits_and_is_served_once_others_close() {
    let mut app = TestApp::spawn_with(&[
        ("HTTP_MAX_CONNECTIONS", "3"),
        ("HTTP_HEADER_TIMEOUT", "60s"),
    ])
    .await;
    // Waiting for readiness may have left a keep-alive connection open, which holds one of the 3 slots: dropping
    // its client closes it (asynchronously: the first connection below may wait for that slot).
    app.http = reqwest::Client::new();
    let mut held = Vec::new();
    for _ in 0..3 {
        let mut stream = connect(&app).await;
        stream
            .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buf))
            .await
            .expect("served within the limit")
            .unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
        held.push(stream); // served, kept alive, now idle
    }

    let mut waiting = connect(&app).await;
    waiting
        .write_all(b"GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 1024];
    let early = tokio::time::timeout(Duration::from_secs(1), waiting.read(&mut buf)).await;
    assert!(
        early.is_err(),
        "served while 3 connections were held: {early:?}"
    );

    drop(held);
    let n = tokio::time::timeout(Duration::from_secs(5), waiting.read(&mut buf))
        .await
        .expect("served once the held connections closed")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}

/// Reads one response (head and a `Content-Length` body) from a raw connection.
async fn response(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    let read = async {
        loop {
            let n = stream.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed before a response");
            received.extend_from_slice(&buf[..n]);
            let text = String::from_utf8_lossy(&received).into_owned();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse().unwrap())
                    })
                    .unwrap_or(0);
                if body.len() >= length {
                    return text;
                }
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read)
        .await
        .expect("a response")
}

#[tokio::test]
async fn a_body_arriving_in_pieces_is_read_whole_and_the_limit_holds_without_content_length() {
    let app = TestApp::spawn_with(&[("HTTP_BODY_LIMIT", "8192")]).await;
    let event = support::events::Payment::new("pieces").charge_succeeded();
    let signature = support::sign_now(support::ENDPOINT_SECRET, &event);
    let mut stream = connect(&app).await;
    stream
        .write_all(
            format!(
                "POST /payments/webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\
                 Stripe-Signature: {signature}\r\nContent-Length: {}\r\n\r\n",
                event.len()
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    // Paced like a slow network, so that the service reads the body in several chunks.
    for piece in event.as_bytes().chunks(event.len() / 3 + 1) {
        stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reply = response(&mut stream).await;
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    app.wait_pipeline_idle().await;
    let stored = support::read_stream(&app.js, "STRIPE_EVENTS").await;
    assert_eq!(stored.len(), 1);
    assert_eq!(
        stored[0].body,
        serde_json::from_str::<serde_json::Value>(&event).unwrap()
    );

    // Chunked, no Content-Length: the limit is counted on the bytes received.
    let mut stream = connect(&app).await;
    stream
        .write_all(b"POST /payments/webhook HTTP/1.1\r\nHost: x\r\nStripe-Signature: t=1,v1=00\r\nTransfer-Encoding: chunked\r\n\r\n")
        .await
        .unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 3000, " ".repeat(3000));
    for _ in 0..3 {
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break; // the service may answer and close before the last chunk
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reply = response(&mut stream).await;
    assert!(reply.starts_with("HTTP/1.1 413"), "{reply}");
    assert!(
        reply.contains("larger than the limit of 8192 bytes"),
        "{reply}"
    );
}
