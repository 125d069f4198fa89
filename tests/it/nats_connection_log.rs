//! What an operator sees when NATS is unreachable, from the real `payments` binary and a real nats-server that is
//! stopped and started: `payments watch` exits at once naming the server and the cause; `payments serve` logs each
//! change of the connection's state once, with the server and the cause, however many reconnect attempts it makes.

use std::{
    io::{BufRead, BufReader},
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use testkit::{await_until, NatsServer};

use crate::support::process::{exit_code, free_port, payments as bare};

/// Log lines of the binary, read by a test, hence without colours.
fn payments() -> Command {
    let mut cmd = bare();
    cmd.env("NO_COLOR", "1");
    cmd
}

/// A NATS URL nobody listens on: a server that was started, then stopped (its port is free and known).
fn stopped_nats() -> NatsServer {
    let mut nats = NatsServer::start();
    nats.stop();
    nats
}

#[tokio::test]
async fn watch_fails_fast_naming_the_server_and_the_cause_never_credentials() {
    let nats = stopped_nats();
    let url = format!("nats://watcher:s3cret-pw@127.0.0.1:{}", nats.port());
    let started = Instant::now();
    let mut child = payments()
        .args(["watch", "--servers", &url])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let code = exit_code(&mut child, "`payments watch`", Duration::from_secs(15)).await;
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        stderr.contains(&format!(
            "cannot connect to NATS at 127.0.0.1:{}",
            nats.port()
        )),
        "{stderr}"
    );
    assert!(
        stderr.contains("Connection refused"),
        "no cause in: {stderr}"
    );
    assert!(!stderr.contains("s3cret-pw"), "credentials shown: {stderr}");
}

/// stderr of a child, line by line, as it comes.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<String>>>);

/// The log as a failed wait shows it: line by line.
impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "log:\n{}", self.0.lock().unwrap().join("\n"))
    }
}

impl Lines {
    fn follow(child: &mut Child) -> Lines {
        let lines = Lines::default();
        let reader = BufReader::new(child.stderr.take().unwrap());
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in reader.lines().map_while(Result::ok) {
                sink.0.lock().unwrap().push(line);
            }
        });
        lines
    }

    fn count(&self, needle: &str) -> usize {
        self.0
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.contains(needle))
            .count()
    }

    fn matching(&self, needle: &str) -> Vec<String> {
        let all = self.0.lock().unwrap();
        all.iter().filter(|l| l.contains(needle)).cloned().collect()
    }

    /// The lines so far, apart from those still to come.
    fn snapshot(&self) -> Lines {
        Lines(Arc::new(Mutex::new(self.0.lock().unwrap().clone())))
    }

    /// Waits until `ok` holds for the log so far; past 30 s fails with `what` and the whole log.
    async fn wait_until(&self, what: &str, ok: impl Fn(&Lines) -> bool) {
        await_until(
            what,
            Duration::from_secs(30),
            || std::future::ready(self.snapshot()),
            ok,
        )
        .await;
    }
}

const ATTEMPT: &str = "attempting connection";
const UNREACHABLE: &str = "NATS server unreachable";
const CONNECTED: &str = "NATS connected";
const DISCONNECTED: &str = "NATS disconnected";

#[tokio::test]
async fn serve_logs_each_connection_change_once_with_the_server_and_the_cause() {
    let mut nats = stopped_nats();
    let port = free_port();
    let mut child = payments()
        .arg("serve")
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("NATS_SERVERS", nats.url())
        .env("STRIPE_SECRET", "sk_test_connection_log")
        .env("STRIPE_ENDPOINT_SECRET", "whsec_connection_log")
        .env("STRIPE_SUCCESS_URL", "http://localhost/success")
        .env("STRIPE_CANCEL_URL", "http://localhost/cancel")
        .env("SHUTDOWN_GRACE", "1s")
        // The default filter, plus async-nats' debug line for each attempt: the evidence that attempts repeat.
        .env(
            "RUST_LOG",
            "info,async_nats=warn,async_nats::connector=debug",
        )
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let log = Lines::follow(&mut child);
    let server = format!("server=127.0.0.1:{}", nats.port());

    // Down from the start: many attempts, one line, with the server and the OS's reason.
    log.wait_until("8 connection attempts", |l| l.count(ATTEMPT) >= 8)
        .await;
    let unreachable = log.matching(UNREACHABLE);
    assert_eq!(unreachable.len(), 1, "{unreachable:#?}");
    assert!(unreachable[0].contains(&server), "{}", unreachable[0]);
    assert!(
        unreachable[0].contains("Connection refused"),
        "{}",
        unreachable[0]
    );

    // Up: one line.
    nats.start_again();
    log.wait_until("connected", |l| l.count(CONNECTED) == 1)
        .await;

    // Down again: disconnected once, unreachable once more, however many attempts follow.
    let attempts_before = log.count(ATTEMPT);
    nats.stop();
    log.wait_until("8 more attempts", |l| {
        l.count(ATTEMPT) >= attempts_before + 8
    })
    .await;
    assert_eq!(log.count(DISCONNECTED), 1, "{:#?}", log.matching("NATS"));
    assert_eq!(log.count(UNREACHABLE), 2, "{:#?}", log.matching("NATS"));
    assert_eq!(log.count(CONNECTED), 1, "{:#?}", log.matching("NATS"));
    // async-nats' own per-attempt "IO error" event lines stay below the default level.
    assert_eq!(
        log.count("event: client error"),
        0,
        "{:#?}",
        log.matching("event")
    );

    let _ = child.kill();
    let _ = child.wait();
}
