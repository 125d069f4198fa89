//! The load generator: N workers (one keep-alive connection each) on one single-threaded runtime.
//!
//! - Closed loop (`Mode::Closed`): each worker sends its next request as soon as the previous one is answered,
//!   so N requests are always in flight: the maximum throughput at concurrency N. Latency is measured from the
//!   moment the request is written.
//! - Open loop (`Mode::Open`, wrk2-style): request k is due at `start + k / rate` whatever happened before; the
//!   first free worker takes it. Its latency is measured from the time it was *due* whenever no worker was free
//!   then (the wait for a connection is part of its latency: no coordinated omission). When a worker was free and
//!   only the 1 ms timer woke it late, latency is measured from the actual write, so timer granularity does not
//!   count against the service.
//!
//! The HTTP client is a minimal HTTP/1.1 client (write the pre-built request, read status line, headers and a
//! `Content-Length` body), so the generator spends as little of the shared CPU as possible.

use std::cell::{Cell, RefCell};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What a request came back as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Status(u16),
    Error,
}

pub trait Sender {
    /// Sends request `i` of the pool this sender works on.
    async fn send(&mut self, i: usize) -> Outcome;
}

#[derive(Debug, Clone, Copy)]
pub enum Mode {
    Closed,
    Open { rate: f64 },
}

#[derive(Debug, Clone)]
pub struct Spec {
    pub mode: Mode,
    pub duration: Duration,
    /// Requests available (the pool's size): the run ends early when they are used up.
    pub limit: usize,
    /// Per-request timeout (counted as an error).
    pub timeout: Duration,
}

pub struct Report {
    pub ok: u64,
    pub non_2xx: u64,
    pub errors: u64,
    /// First request written to last answer received.
    pub elapsed: Duration,
    /// Latency, µs: from the due time in open-loop runs (see the module doc), from the write in closed loops.
    pub latency: Histogram<u64>,
    /// From the write, µs (service time, for comparison with `latency`).
    pub service_time: Histogram<u64>,
    pub exhausted: bool,
    pub statuses: Vec<(u16, u64)>,
    /// 2xx answers completed in each second of the run (shows stalls and slow-downs).
    pub per_second: Vec<u64>,
}

impl Report {
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

struct State {
    next: Cell<usize>,
    ok: Cell<u64>,
    non_2xx: Cell<u64>,
    errors: Cell<u64>,
    last_done: Cell<Instant>,
    exhausted: Cell<bool>,
    latency: RefCell<Histogram<u64>>,
    service_time: RefCell<Histogram<u64>>,
    statuses: RefCell<Vec<(u16, u64)>>,
    per_second: RefCell<Vec<u64>>,
}

fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 120_000_000, 3).expect("histogram bounds")
}

/// Runs `senders` (one worker each) under `spec`; call inside a `LocalSet`.
pub async fn drive<S: Sender + 'static>(senders: Vec<S>, spec: Spec) -> Report {
    let start = Instant::now();
    let state = Rc::new(State {
        next: Cell::new(0),
        ok: Cell::new(0),
        non_2xx: Cell::new(0),
        errors: Cell::new(0),
        last_done: Cell::new(start),
        exhausted: Cell::new(false),
        latency: RefCell::new(histogram()),
        service_time: RefCell::new(histogram()),
        statuses: RefCell::new(Vec::new()),
        per_second: RefCell::new(Vec::new()),
    });
    let deadline = start + spec.duration;
    let handles: Vec<_> = senders
        .into_iter()
        .map(|sender| {
            let state = state.clone();
            let spec = spec.clone();
            tokio::task::spawn_local(worker(sender, state, spec, start, deadline))
        })
        .collect();
    for h in handles {
        let _ = h.await;
    }
    let state = Rc::try_unwrap(state).ok().expect("workers done");
    Report {
        ok: state.ok.get(),
        non_2xx: state.non_2xx.get(),
        errors: state.errors.get(),
        elapsed: state.last_done.get().saturating_duration_since(start),
        latency: state.latency.into_inner(),
        service_time: state.service_time.into_inner(),
        exhausted: state.exhausted.get(),
        statuses: state.statuses.into_inner(),
        per_second: state.per_second.into_inner(),
    }
}

async fn worker<S: Sender>(
    mut sender: S,
    state: Rc<State>,
    spec: Spec,
    start: Instant,
    deadline: Instant,
) {
    loop {
        let k = state.next.get();
        let fetched = Instant::now();
        let due = match spec.mode {
            Mode::Closed => {
                if fetched >= deadline {
                    return;
                }
                None
            }
            Mode::Open { rate } => {
                let due = start + Duration::from_secs_f64(k as f64 / rate);
                if due >= deadline {
                    return;
                }
                Some(due)
            }
        };
        if k >= spec.limit {
            state.exhausted.set(true);
            return;
        }
        state.next.set(k + 1);
        if let Some(due) = due {
            if due > fetched {
                tokio::time::sleep_until(due.into()).await;
            }
        }
        let sent = Instant::now();
        let outcome = match tokio::time::timeout(spec.timeout, sender.send(k)).await {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Error,
        };
        let done = Instant::now();
        // Open loop: if every worker was busy when the request fell due, its wait counts.
        let reference = match due {
            Some(due) if fetched > due => due,
            _ => sent,
        };
        let us = |d: Duration| (d.as_micros() as u64).max(1);
        state
            .latency
            .borrow_mut()
            .saturating_record(us(done - reference));
        state
            .service_time
            .borrow_mut()
            .saturating_record(us(done - sent));
        match outcome {
            Outcome::Ok => {
                state.ok.set(state.ok.get() + 1);
                let second = (done - start).as_secs() as usize;
                let mut per_second = state.per_second.borrow_mut();
                if per_second.len() <= second {
                    per_second.resize(second + 1, 0);
                }
                per_second[second] += 1;
            }
            Outcome::Status(code) => {
                state.non_2xx.set(state.non_2xx.get() + 1);
                let mut statuses = state.statuses.borrow_mut();
                match statuses.iter_mut().find(|(c, _)| *c == code) {
                    Some((_, n)) => *n += 1,
                    None => statuses.push((code, 1)),
                }
            }
            Outcome::Error => state.errors.set(state.errors.get() + 1),
        }
        if done > state.last_done.get() {
            state.last_done.set(done);
        }
    }
}

/// A keep-alive HTTP/1.1 connection sending pre-built requests.
pub struct HttpConn {
    addr: SocketAddr,
    stream: Option<TcpStream>,
    buf: Vec<u8>,
    /// Set while an exchange runs: still set at the next one means it was cancelled (timed out) half-way, and
    /// the connection is dropped rather than reading a stale response.
    busy: bool,
}

impl HttpConn {
    pub fn new(addr: SocketAddr) -> HttpConn {
        HttpConn {
            addr,
            stream: None,
            buf: Vec::with_capacity(16 * 1024),
            busy: false,
        }
    }

    /// Connects now, so the first measured request does not pay for it.
    pub async fn connect(&mut self) -> io::Result<()> {
        let stream = TcpStream::connect(self.addr).await?;
        stream.set_nodelay(true)?;
        self.stream = Some(stream);
        Ok(())
    }

    /// Sends `request` and returns the response's status code and body.
    pub async fn exchange(&mut self, request: &[u8]) -> io::Result<(u16, &[u8])> {
        if self.busy {
            self.stream = None;
        }
        self.busy = true;
        let result = self.try_exchange(request).await;
        self.busy = false;
        match result {
            Ok((status, start, end)) => Ok((status, &self.buf[start..end])),
            Err(e) => {
                self.stream = None;
                Err(e)
            }
        }
    }

    async fn try_exchange(&mut self, request: &[u8]) -> io::Result<(u16, usize, usize)> {
        if self.stream.is_none() {
            let stream = TcpStream::connect(self.addr).await?;
            stream.set_nodelay(true)?;
            self.stream = Some(stream);
        }
        let stream = self.stream.as_mut().expect("connected");
        stream.write_all(request).await?;
        self.buf.clear();
        let head_end = loop {
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            if let Some(at) = find(&self.buf, b"\r\n\r\n") {
                break at + 4;
            }
        };
        let head = std::str::from_utf8(&self.buf[..head_end])
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "response head"))?;
        let status: u16 = head
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "status line"))?;
        let mut length = None;
        let mut close = false;
        for line in head.split("\r\n").skip(1) {
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse::<usize>().ok();
                } else if name.eq_ignore_ascii_case("connection")
                    && value.trim().eq_ignore_ascii_case("close")
                {
                    close = true;
                } else if name.eq_ignore_ascii_case("transfer-encoding") {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        "chunked responses are not supported by the bench client",
                    ));
                }
            }
        }
        let length = length.unwrap_or(0);
        while self.buf.len() < head_end + length {
            if stream.read_buf(&mut self.buf).await? == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
        }
        if close {
            self.stream = None;
        }
        Ok((status, head_end, head_end + length))
    }
}

pub fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Latency summary in milliseconds.
pub fn percentiles(h: &Histogram<u64>) -> serde_json::Value {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    serde_json::json!({
        "count": h.len(),
        "mean_ms": h.mean() / 1000.0,
        "p50_ms": ms(0.50),
        "p90_ms": ms(0.90),
        "p99_ms": ms(0.99),
        "p99_9_ms": ms(0.999),
        "max_ms": h.max() as f64 / 1000.0,
    })
}

pub fn p(h: &Histogram<u64>, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}
