//! Slow clients for the `--slow-clients` scenario: N connections, each sending one byte per second, on a thread
//! (and runtime) of their own so that they do not compete with the measured load inside the generator.
//!
//! Half trickle a request head (`POST /payments/webhook HTTP/1.1 …`, never finished), half send a complete head
//! announcing a 1 MB body and trickle the body. When the service closes a connection (header or body timeout),
//! the client counts it and connects again at once, as an attacker would: N connections stay open throughout.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const HEAD: &[u8] = b"POST /payments/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
X-Slow: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const BODY_HEAD: &[u8] =
    b"POST /payments/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
Stripe-Signature: t=1,v1=00\r\nContent-Length: 1000000\r\n\r\n";

/// What the slow clients saw (shared with the measuring thread).
#[derive(Default)]
pub struct Stats {
    pub open: AtomicUsize,
    pub bytes_sent: AtomicU64,
    /// Connections the service closed while their head was trickling in.
    pub head_closed: AtomicU64,
    /// Connections the service closed while their body was trickling in.
    pub body_closed: AtomicU64,
    /// Of those, the ones answered `408` first.
    pub answered_408: AtomicU64,
    pub connect_errors: AtomicU64,
}

pub struct SlowClients {
    pub stats: Arc<Stats>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl SlowClients {
    /// Starts `n` slow clients against `addr`, opened over about a second.
    pub fn start(addr: SocketAddr, n: usize) -> SlowClients {
        let stats = Arc::new(Stats::default());
        let stop = Arc::new(AtomicBool::new(false));
        let thread = std::thread::spawn({
            let (stats, stop) = (stats.clone(), stop.clone());
            move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("slow clients' runtime");
                runtime.block_on(async move {
                    let clients: Vec<_> = (0..n)
                        .map(|i| {
                            let (stats, stop) = (stats.clone(), stop.clone());
                            tokio::spawn(async move {
                                tokio::time::sleep(Duration::from_micros(500 * i as u64)).await;
                                client(addr, i % 2 == 1, &stats, &stop).await
                            })
                        })
                        .collect();
                    for c in clients {
                        let _ = c.await;
                    }
                });
            }
        });
        SlowClients {
            stats,
            stop,
            thread: Some(thread),
        }
    }

    /// Waits (bounded) until `n` connections are open; false if they never were.
    pub async fn wait_open(&self, n: usize, timeout: Duration) -> bool {
        let until = std::time::Instant::now() + timeout;
        while self.stats.open.load(Relaxed) < n {
            if std::time::Instant::now() > until {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        true
    }

    /// Stops every client (within about a second: they look at the flag on each tick) and closes their sockets.
    pub fn stop(mut self) -> Arc<Stats> {
        self.stop.store(true, Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
        self.stats.clone()
    }
}

/// One slow client: connects, trickles, and connects again whenever the service closes the connection.
async fn client(addr: SocketAddr, body: bool, stats: &Stats, stop: &AtomicBool) {
    let mut buf = [0u8; 512];
    while !stop.load(Relaxed) {
        let mut stream = match TcpStream::connect(addr).await {
            Ok(stream) => stream,
            Err(_) => {
                stats.connect_errors.fetch_add(1, Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if body && stream.write_all(BODY_HEAD).await.is_err() {
            continue;
        }
        stats.open.fetch_add(1, Relaxed);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut sent = 0usize;
        let mut got_408 = false;
        let closed = loop {
            tokio::select! {
                _ = tick.tick() => {
                    if stop.load(Relaxed) {
                        break false;
                    }
                    let byte = if body { b' ' } else { HEAD.get(sent).copied().unwrap_or(b'a') };
                    if stream.write_all(&[byte]).await.is_err() {
                        break true;
                    }
                    sent += 1;
                    stats.bytes_sent.fetch_add(1, Relaxed);
                }
                read = stream.read(&mut buf) => match read {
                    Ok(0) | Err(_) => break true,
                    Ok(n) => got_408 |= buf[..n].starts_with(b"HTTP/1.1 408"),
                },
            }
        };
        stats.open.fetch_sub(1, Relaxed);
        if closed {
            let counter = if body {
                &stats.body_closed
            } else {
                &stats.head_closed
            };
            counter.fetch_add(1, Relaxed);
            if got_408 {
                stats.answered_408.fetch_add(1, Relaxed);
            }
        }
    }
}
