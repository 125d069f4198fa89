//! The processes a benchmark runs: nats-server (one, or a 3-node cluster on loopback), the Stripe stand-in and
//! the service, each on free loopback ports (what `/proc` says about them is in `usage`).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// A free loopback port (bound then released: a race is possible but unlikely on this machine).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

pub struct Proc {
    pub name: String,
    pub child: Child,
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then SIGKILL after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let until = Instant::now() + grace;
        while Instant::now() < until {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(10));
    }
}

/// One nats-server with JetStream (`node` = None) or a member of a cluster.
pub struct Nats {
    pub procs: Vec<Proc>,
    pub ports: Vec<u16>,
    _store: tempfile::TempDir,
}

impl Nats {
    pub fn urls(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect()
    }
    pub fn url(&self) -> String {
        self.urls()[0].clone()
    }
    pub fn pids(&self) -> Vec<u32> {
        self.procs.iter().map(|p| p.pid()).collect()
    }

    pub fn single(logs: &Path) -> Nats {
        let store = tempfile::Builder::new()
            .prefix("payments-bench-nats")
            .tempdir()
            .expect("store dir");
        let port = free_port();
        let proc = spawn_nats(
            "nats",
            &[
                "-js".into(),
                "-a".into(),
                "127.0.0.1".into(),
                "-p".into(),
                port.to_string(),
                "-sd".into(),
                store.path().display().to_string(),
            ],
            logs,
        );
        Nats {
            procs: vec![proc],
            ports: vec![port],
            _store: store,
        }
    }

    /// Three nodes on loopback ports, one cluster `bench`, JetStream on each.
    pub fn cluster(logs: &Path) -> Nats {
        let store = tempfile::Builder::new()
            .prefix("payments-bench-cluster")
            .tempdir()
            .expect("store dir");
        let ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let routes_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let routes = routes_ports
            .iter()
            .map(|p| format!("nats://127.0.0.1:{p}"))
            .collect::<Vec<_>>()
            .join(",");
        // Start all three before waiting: JetStream in a cluster waits for its peers (meta leader election).
        let mut pending = Vec::new();
        for n in 0..3 {
            let dir = store.path().join(format!("n{}", n + 1));
            std::fs::create_dir_all(&dir).expect("node dir");
            let args: Vec<String> = vec![
                "-js".into(),
                "-a".into(),
                "127.0.0.1".into(),
                "-p".into(),
                ports[n].to_string(),
                "-cluster".into(),
                format!("nats://127.0.0.1:{}", routes_ports[n]),
                "-routes".into(),
                routes.clone(),
                "-cluster_name".into(),
                "bench".into(),
                "-server_name".into(),
                format!("n{}", n + 1),
                "-sd".into(),
                dir.display().to_string(),
            ];
            pending.push(start_nats(&format!("nats-n{}", n + 1), &args, logs));
        }
        let procs = pending
            .into_iter()
            .map(|(proc, ready)| {
                wait_nats(&proc.name, &ready);
                proc
            })
            .collect();
        Nats {
            procs,
            ports,
            _store: store,
        }
    }
}

fn spawn_nats(name: &str, args: &[String], logs: &Path) -> Proc {
    let (proc, ready) = start_nats(name, args, logs);
    wait_nats(name, &ready);
    proc
}

fn start_nats(name: &str, args: &[String], logs: &Path) -> (Proc, mpsc::Receiver<()>) {
    let mut child = Command::new(testkit::nats_server_bin())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!("cannot start nats-server ({e}): run bench/run.sh, which installs it")
        });
    let stderr = child.stderr.take().expect("piped");
    let (tx, rx) = mpsc::channel();
    let mut log = File::create(logs.join(format!("{name}.log"))).expect("log file");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = writeln!(log, "{line}");
            if line.contains("Server is ready") {
                let _ = tx.send(());
            }
        }
    });
    (
        Proc {
            name: name.into(),
            child,
        },
        rx,
    )
}

fn wait_nats(name: &str, ready: &mpsc::Receiver<()>) {
    ready
        .recv_timeout(Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{name} did not become ready (see results/logs/{name}.log)"));
}

pub fn nats_version() -> String {
    Command::new(testkit::nats_server_bin())
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .unwrap_or_else(|_| "unknown".into())
}

/// The stand-in binary on its own port; returns its base URL.
pub fn standin(bin: &Path, logs: &Path, name: &str) -> (Proc, String, u16) {
    let port = free_port();
    let mut child = Command::new(bin)
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env_remove("API_KEY")
        .stdout(Stdio::piped())
        .stderr(File::create(logs.join(format!("{name}.log"))).expect("log"))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped"))
        .read_line(&mut line)
        .expect("stand-in prints its URL");
    (
        Proc {
            name: name.into(),
            child,
        },
        line.trim().to_owned(),
        port,
    )
}

/// What the service is started with.
#[derive(Clone)]
pub struct ServiceEnv {
    pub bin: PathBuf,
    pub nats_servers: String,
    pub stripe_api_base: String,
    pub endpoint_secret: String,
    pub replicas: u32,
    pub workdir: PathBuf,
    pub logs: PathBuf,
    pub extra: Vec<(String, String)>,
}

/// Variables the service reads that must not leak in from the caller's environment.
const SERVICE_VARS: &[&str] = &[
    "PORT",
    "HOST",
    "NATS_SERVERS",
    "STRIPE_SECRET",
    "STRIPE_ENDPOINT_SECRET",
    "STRIPE_SUCCESS_URL",
    "STRIPE_CANCEL_URL",
    "STRIPE_API_BASE",
    "NATS_STREAM_REPLICAS",
    "NATS_CREDS_FILE",
    "NATS_TOKEN",
    "NATS_USER",
    "NATS_PASSWORD",
    "STRIPE_TIMEOUT",
    "WEBHOOK_TOLERANCE",
    "HTTP_BODY_LIMIT",
    "JETSTREAM_TIMEOUT",
    "EVENTS_STREAM",
    "EVENTS_RETENTION",
    "DEDUP_WINDOW",
    "PIPELINE_ACK_WAIT",
    "SHUTDOWN_GRACE",
    "LOG_FORMAT",
    "RUST_LOG",
];

pub const SUCCESS_URL: &str = "http://localhost:3000/payments/success";
pub const CANCEL_URL: &str = "http://localhost:3000/payments/cancel";

/// Spawns the service on `port` and returns at once with the instant just before the spawn.
pub fn spawn_service(env: &ServiceEnv, port: u16, name: &str) -> (Proc, Instant) {
    let mut cmd = Command::new(&env.bin);
    for var in SERVICE_VARS {
        cmd.env_remove(var);
    }
    cmd.current_dir(&env.workdir) // no stray .env file
        .env("HOST", "127.0.0.1")
        .env("PORT", port.to_string())
        .env("NATS_SERVERS", &env.nats_servers)
        .env("STRIPE_SECRET", "sk_test_bench")
        .env("STRIPE_ENDPOINT_SECRET", &env.endpoint_secret)
        .env("STRIPE_SUCCESS_URL", SUCCESS_URL)
        .env("STRIPE_CANCEL_URL", CANCEL_URL)
        .env("STRIPE_API_BASE", &env.stripe_api_base)
        .env("NATS_STREAM_REPLICAS", env.replicas.to_string())
        .env("LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        .envs(env.extra.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(
            File::options()
                .create(true)
                .append(true)
                .open(env.logs.join(format!("{name}.log")))
                .expect("log"),
        );
    let started = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", env.bin.display()));
    (
        Proc {
            name: name.into(),
            child,
        },
        started,
    )
}

/// Polls `GET /ready` every 250 µs (blocking, for precision) until 200; the time since `started`.
pub fn wait_ready(
    proc: &mut Proc,
    port: u16,
    started: Instant,
    timeout: Duration,
) -> Option<Duration> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    while started.elapsed() < timeout {
        if let Ok(Some(status)) = proc.child.try_wait() {
            panic!(
                "{} exited during start-up: {status} (see results/logs)",
                proc.name
            );
        }
        if http_status(addr, "/ready") == Some(200) {
            return Some(started.elapsed());
        }
        std::thread::sleep(Duration::from_micros(250));
    }
    None
}

/// A blocking one-shot GET; None when the connection fails.
pub fn http_status(addr: SocketAddr, path: &str) -> Option<u16> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_millis(100)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .ok()?;
    let mut buf = [0u8; 12];
    s.read_exact(&mut buf).ok()?;
    std::str::from_utf8(&buf[9..12]).ok()?.parse().ok()
}
