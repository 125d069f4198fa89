//! A local callback receiver: answers with a scripted sequence of statuses (then 200), records every request,
//! and lets a test await the n-th request instead of sleeping.

use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use axum::{
    body::Bytes,
    extract::State,
    http::{HeaderMap, Method, StatusCode},
    response::IntoResponse,
    Router,
};
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct Received {
    pub method: Method,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    }
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Script {
    /// (status, Retry-After seconds) per request, in order; 200 once empty.
    answers: VecDeque<(u16, Option<u64>)>,
    /// Answer `first` to the first request of each webhook-id, 200 after.
    first_per_id: Option<u16>,
    /// Send `Retry-After` as an HTTP date (that many seconds from now) instead of seconds.
    dated: bool,
    received: Vec<Received>,
}

#[derive(Clone)]
pub struct Receiver {
    pub url: String,
    script: Arc<Mutex<Script>>,
    count: watch::Receiver<usize>,
    _server: Arc<tokio::task::JoinHandle<()>>,
}

impl Receiver {
    pub async fn start(answers: &[(u16, Option<u64>)]) -> Receiver {
        Self::launch(answers.iter().copied().collect(), None, false).await
    }

    /// As `start`, with each `Retry-After` in its HTTP-date form.
    pub async fn start_dated(answers: &[(u16, Option<u64>)]) -> Receiver {
        Self::launch(answers.iter().copied().collect(), None, true).await
    }

    /// Fails the first attempt of every callback with `status`, accepts the rest.
    pub async fn failing_first_attempts(status: u16) -> Receiver {
        Self::launch(VecDeque::new(), Some(status), false).await
    }

    async fn launch(
        answers: VecDeque<(u16, Option<u64>)>,
        first_per_id: Option<u16>,
        dated: bool,
    ) -> Receiver {
        let script = Arc::new(Mutex::new(Script {
            answers,
            first_per_id,
            dated,
            received: Vec::new(),
        }));
        let (tx, count) = watch::channel(0);
        let state = (script.clone(), Arc::new(tx));
        let app = Router::new().fallback(answer).with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!(
            "http://127.0.0.1:{}/hooks/payments",
            listener.local_addr().unwrap().port()
        );
        let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Receiver {
            url,
            script,
            count,
            _server: Arc::new(server),
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().unwrap().received.clone()
    }

    /// Waits until `n` requests have arrived.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let mut count = self.count.clone();
        tokio::time::timeout(Duration::from_secs(30), count.wait_for(|c| *c >= n))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{n} callback requests did not arrive ({} did)",
                    self.received().len()
                )
            })
            .unwrap();
        self.received()
    }
}

type Shared = (Arc<Mutex<Script>>, Arc<watch::Sender<usize>>);

async fn answer(
    State((script, count)): State<Shared>,
    method: Method,
    headers: HeaderMap,
    body: Bytes,
) -> impl IntoResponse {
    let (status, retry_after, dated, n) = {
        let mut script = script.lock().unwrap();
        let id = headers
            .get("webhook-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let seen_before = script.received.iter().any(|r| r.header("webhook-id") == id);
        let (status, retry_after) = match (script.first_per_id, seen_before) {
            (Some(first), false) => (first, None),
            (Some(_), true) => (200, None),
            (None, _) => script.answers.pop_front().unwrap_or((200, None)),
        };
        script.received.push(Received {
            method,
            headers,
            body,
            at: Instant::now(),
        });
        (status, retry_after, script.dated, script.received.len())
    };
    count.send_replace(n);
    let mut response = (StatusCode::from_u16(status).unwrap(), "ok").into_response();
    if let Some(seconds) = retry_after {
        let value = if dated {
            let at = std::time::SystemTime::now() + Duration::from_secs(seconds);
            httpdate::fmt_http_date(at)
        } else {
            seconds.to_string()
        };
        response
            .headers_mut()
            .insert("retry-after", value.parse().unwrap());
    }
    response
}
