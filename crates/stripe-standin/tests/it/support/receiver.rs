//! A webhook receiver for tests: a tiny axum server on 127.0.0.1:0 that records every POST and answers with the
//! status a script picks, and an HMAC check of `Stripe-Signature` written independently of the stand-in's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;
use stripe_standin::{Builder, Retry, StandIn};

pub const SECRET: &str = "whsec_test_receiver_secret";

/// Picks the status of a request from its event and how many times that event came before.
type Script = dyn Fn(&Value, usize) -> u16 + Send + Sync;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub signature: String,
    pub content_type: String,
    pub body: Bytes,
    pub answered: u16,
}

impl Received {
    pub fn event(&self) -> Value {
        serde_json::from_slice(&self.body).expect("the body is JSON")
    }

    pub fn event_type(&self) -> String {
        self.event()["type"].as_str().unwrap().to_owned()
    }

    /// Checks the signature with `secret` as Stripe's libraries do; the signed timestamp.
    pub fn verify(&self, secret: &str) -> i64 {
        let mut t = None;
        let mut v1 = Vec::new();
        for part in self.signature.split(',') {
            match part.split_once('=') {
                Some(("t", value)) => t = Some(value.to_owned()),
                Some(("v1", value)) => v1.push(value.to_owned()),
                _ => {}
            }
        }
        let t = t.expect("a t= timestamp");
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{t}.").as_bytes());
        mac.update(&self.body);
        let expected = hex::encode(mac.finalize().into_bytes());
        assert!(
            v1.contains(&expected),
            "no v1 signature matches in {:?}",
            self.signature
        );
        let t: i64 = t.parse().unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        assert!((now - t).abs() <= 5, "stale timestamp {t}");
        t
    }
}

#[derive(Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Script>,
}

pub struct Receiver {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    server: tokio::task::JoinHandle<()>,
}

impl Receiver {
    /// Answers 200 to everything.
    pub async fn start() -> Receiver {
        Self::scripted(|_, _| 200).await
    }

    pub async fn scripted(
        script: impl Fn(&Value, usize) -> u16 + Send + Sync + 'static,
    ) -> Receiver {
        let received = Arc::new(Mutex::new(Vec::new()));
        let shared = Shared {
            received: received.clone(),
            script: Arc::new(script),
        };
        let app = Router::new()
            .route("/webhook", post(receive))
            .with_state(shared);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/webhook", listener.local_addr().unwrap());
        let server = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Receiver {
            url,
            received,
            server,
        }
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// A stand-in that delivers to this receiver, signed with `SECRET`, retrying fast, settling at once.
    pub fn standin(&self) -> Builder {
        StandIn::builder()
            .webhook_url(&self.url)
            .webhook_secret(SECRET)
            .retry(Retry::fast())
            .settle_delay(Duration::ZERO)
    }

    /// The types of the events answered 2xx, in order of arrival.
    pub fn delivered_types(&self) -> Vec<String> {
        self.received()
            .iter()
            .filter(|r| (200..300).contains(&r.answered))
            .map(Received::event_type)
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.server.abort();
    }
}

async fn receive(State(shared): State<Shared>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let mut received = shared.received.lock().unwrap();
    let before = received
        .iter()
        .filter(|r| r.event()["id"] == event["id"])
        .count();
    let answered = (shared.script)(&event, before);
    received.push(Received {
        signature: header("stripe-signature"),
        content_type: header("content-type"),
        body,
        answered,
    });
    StatusCode::from_u16(answered).unwrap()
}

/// How many times each event id arrived.
pub fn attempts_by_id(received: &[Received]) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for r in received {
        *counts
            .entry(r.event()["id"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    counts
}
