//! `payments-bench --nats-echo <url>`: a no-op NATS responder, the floor of part 3's NATS figure. It answers every
//! request on `bench.echo` at once with a fixed NestJS-shaped reply, so the same NestJS sender pointed at it
//! measures only the round trip through nats-server (two hops any NATS request pays), with no service behind it.

use std::fs::File;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use bytes::Bytes;
use futures::StreamExt;

use crate::procs::Proc;

pub const SUBJECT: &str = "bench.echo";

/// What the `NestJs` sender accepts: a `"response"` and no `"err"`.
const REPLY: &[u8] =
    br#"{"response":{"sessionId":"cs_echo","url":"https://example.invalid"},"isDisposed":true,"id":"echo"}"#;

/// The hidden mode: prints `ready` once subscribed, then answers until killed.
pub fn run(url: &str) -> ! {
    // One thread, like the load generator: it shares the two cores with nats-server and the generator.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let client = async_nats::connect(url).await.expect("connect to NATS");
        let mut sub = client.subscribe(SUBJECT).await.expect("subscribe");
        // Once the server has the subscription, no request sent after `ready` can go unanswered.
        client.flush().await.expect("flush");
        println!("ready");
        let _ = std::io::stdout().flush();
        while let Some(msg) = sub.next().await {
            if let Some(reply) = msg.reply {
                let _ = client.publish(reply, Bytes::from_static(REPLY)).await;
            }
        }
    });
    eprintln!("nats-echo: subscription closed");
    std::process::exit(1)
}

/// Starts this binary in the echo mode and waits for its `ready`; `Proc::stop` ends it.
pub fn spawn(url: &str, logs: &Path) -> Proc {
    let exe = std::env::current_exe().expect("the bench's own path");
    let mut child = Command::new(exe)
        .args(["--nats-echo", url])
        .stdout(Stdio::piped())
        .stderr(File::create(logs.join("nats-echo.log")).expect("log"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start the NATS echo: {e}"));
    let mut line = String::new();
    let _ = BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line);
    // Built before the check: if it fails, the unwind's drop stops the child.
    let proc = Proc {
        name: "nats-echo".into(),
        child,
    };
    assert_eq!(
        line.trim(),
        "ready",
        "the NATS echo did not start (see results/logs/nats-echo.log)"
    );
    proc
}
