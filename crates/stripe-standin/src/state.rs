//! The stand-in's shared state: its configuration, recorded requests, queued faults, stored objects (sessions,
//! payment intents, charges, refunds, disputes), idempotency
//! results, events and their deliveries, and the background tasks (deliveries, settling payments).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::AtomicBool;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinSet;

use crate::builder::{Builder, Retry};
use crate::delivery::Delivery;
use crate::faults::{Fault, ListFault};
use crate::idempotency::Keys;
use crate::ids;
use crate::objects::LineItem;

/// One request as the stand-in received it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    /// Without query string.
    pub path: String,
    /// Decoded query pairs, e.g. `("expand[]", "latest_charge")`.
    pub query: Vec<(String, String)>,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    /// Decoded form pairs in order, keys as sent, e.g. `("line_items[0][price_data][unit_amount]", "2050")`.
    pub form: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The last value of form key `key` (keys as sent, e.g. `metadata[orderId]`).
    pub fn form_value(&self, key: &str) -> Option<&str> {
        last_value(&self.form, key)
    }

    /// The last value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        last_value(&self.headers, &name.to_ascii_lowercase())
    }
}

fn last_value<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .rev()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

/// A Checkout session as stored: the object `GET` returns, and its line items.
pub(crate) struct StoredSession {
    pub object: Value,
    pub line_items: Vec<LineItem>,
    /// `payment_intent_data[metadata]`: the metadata of the payment intent paying the session will create.
    pub payment_intent_metadata: serde_json::Map<String, Value>,
}

/// Mutable state behind [`Shared::lock`].
#[derive(Default)]
pub(crate) struct Inner {
    pub requests: Vec<RecordedRequest>,
    pub faults: VecDeque<(Fault, usize)>,
    /// How the next `GET /v1/events` calls fail, one entry per call.
    pub list_faults: VecDeque<ListFault>,
    pub sessions: HashMap<String, StoredSession>,
    pub sessions_created: usize,
    pub payment_intents: HashMap<String, Value>,
    pub charges: HashMap<String, Value>,
    pub refunds: HashMap<String, Value>,
    pub disputes: HashMap<String, Value>,
    pub events: HashMap<String, Value>,
    /// Event ids in order of creation.
    pub event_order: Vec<String>,
    pub deliveries: Vec<Delivery>,
    /// Per ordering key (a session id): fires when the key's latest event has had its first delivery attempt.
    pub chains: HashMap<String, oneshot::Receiver<()>>,
    /// Deliveries and settling payments; aborted when the stand-in is dropped.
    pub tasks: JoinSet<()>,
}

impl Inner {
    /// Records a request and takes the fault (if any) that applies to it.
    pub fn record(&mut self, request: RecordedRequest) -> Option<Fault> {
        self.requests.push(request);
        let (fault, remaining) = self.faults.front_mut()?;
        let fault = fault.clone();
        *remaining -= 1;
        if *remaining == 0 {
            self.faults.pop_front();
        }
        Some(fault)
    }
}

/// State shared by the server and the [`crate::StandIn`] handle.
pub(crate) struct Shared {
    pub base_url: String,
    /// The base of hosted page URLs, without a trailing slash.
    pub public_url: String,
    pub api_key: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: String,
    pub retry: Retry,
    pub settle_delay: Duration,
    pub log_deliveries: bool,
    /// Events are recorded (and listed) but not delivered: a misconfigured or disabled endpoint.
    pub withhold: AtomicBool,
    pub http: reqwest::Client,
    /// Bumped after every delivery attempt.
    pub changes: watch::Sender<u64>,
    /// `Idempotency-Key`s and their saved results.
    pub idempotency: Keys,
    inner: Mutex<Inner>,
}

impl Shared {
    pub fn new(base_url: String, config: Builder) -> Self {
        let public_url = config
            .public_url
            .map_or_else(|| base_url.clone(), |u| u.trim_end_matches('/').to_owned());
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(config.retry.attempt_timeout)
            .build()
            .expect("an HTTP client without TLS settings builds");
        Shared {
            base_url,
            public_url,
            api_key: config.api_key,
            webhook_url: config.webhook_url,
            webhook_secret: config
                .webhook_secret
                .unwrap_or_else(|| ids::random_id("whsec_", 32)),
            retry: config.retry,
            settle_delay: config.settle_delay,
            log_deliveries: config.log_deliveries,
            withhold: AtomicBool::new(config.withhold_deliveries),
            http,
            changes: watch::Sender::new(0),
            idempotency: Keys::default(),
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Locks the state; a panic while it was held does not poison it for later tests.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
