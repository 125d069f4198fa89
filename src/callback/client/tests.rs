//! The callback client against real sockets: what it refuses never gets a connection, and the environment's proxy
//! is never used (checked in a child process, since the environment is shared by every test of this binary).

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

use super::*;
use secrecy::SecretString;

fn config(allow_private: bool, proxy: Option<&str>) -> CallbackConfig {
    CallbackConfig {
        signing_secret: None,
        retry_schedule: vec![Duration::from_secs(1)],
        allow_private,
        timeout: Duration::from_secs(5),
        proxy: proxy.map(SecretString::from),
    }
}

/// The next request line a listener saw, within a deadline.
async fn next(seen: &mut tokio::sync::mpsc::UnboundedReceiver<String>) -> String {
    tokio::time::timeout(Duration::from_secs(10), seen.recv())
        .await
        .expect("a request in time")
        .expect("listener running")
}

/// A listener that answers `204` to each request and reports the request line it got.
async fn listener() -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let tx = tx.clone();
            tokio::spawn(async move {
                let mut buf = vec![0; 4096];
                let n = socket.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let _ = tx.send(head.lines().next().unwrap_or_default().to_owned());
                let _ = socket
                    .write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    (format!("http://{addr}"), rx)
}

#[tokio::test]
async fn a_name_resolving_to_loopback_is_refused_inside_the_resolver() {
    let (base, mut seen) = listener().await;
    let port = base.rsplit(':').next().unwrap();
    let client = build(&config(false, None)).unwrap();
    let error = client
        .post(format!("http://localhost:{port}/hook"))
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            refusal(&error),
            Some(GuardError::Forbidden {
                reason: "loopback",
                ..
            })
        ),
        "{error:?}"
    );
    assert!(seen.try_recv().is_err(), "no connection was made");

    // The same client shape with the guard lifted reaches it, through the same resolver.
    let open = build(&config(true, None)).unwrap();
    let response = open
        .post(format!("http://localhost:{port}/hook"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(next(&mut seen).await, "POST /hook HTTP/1.1");
}

#[tokio::test]
async fn callback_proxy_is_used_and_may_be_private() {
    let (proxy, mut at_proxy) = listener().await;
    // The proxy is named (not an IP literal), so its private address goes through the resolver too.
    let port = proxy.rsplit(':').next().unwrap();
    let client = build(&config(false, Some(&format!("http://localhost:{port}")))).unwrap();
    let response = client
        .post("http://receiver.example/hook")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(
        next(&mut at_proxy).await,
        "POST http://receiver.example/hook HTTP/1.1"
    );
}

/// Run by `environment_proxies_are_ignored` in a child process with `HTTP_PROXY` set: sends to `TARGET_URL`.
#[tokio::test]
#[ignore = "run by environment_proxies_are_ignored in a child process"]
async fn child_sends_with_a_proxy_in_the_environment() {
    let target = std::env::var("TARGET_URL").expect("TARGET_URL");
    let client = build(&config(true, None)).unwrap();
    let response = client.post(target).send().await.unwrap();
    assert_eq!(response.status(), 204);
}

#[tokio::test]
async fn environment_proxies_are_ignored() {
    let (target, mut at_target) = listener().await;
    let (proxy, mut at_proxy) = listener().await;
    let output = tokio::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "callback::client::tests::child_sends_with_a_proxy_in_the_environment",
            "--ignored",
            "--test-threads=1",
        ])
        .env("TARGET_URL", format!("{target}/hook"))
        .env("HTTP_PROXY", &proxy)
        .env("http_proxy", &proxy)
        .env("HTTPS_PROXY", &proxy)
        .env("ALL_PROXY", &proxy)
        .env_remove("NO_PROXY")
        .env_remove("no_proxy")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(next(&mut at_target).await, "POST /hook HTTP/1.1");
    assert!(
        at_proxy.try_recv().is_err(),
        "the environment's proxy was not used"
    );
}
