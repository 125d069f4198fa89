//! The stand-in's shared state: recorded requests, queued faults, stored objects and idempotency results.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use crate::faults::Fault;
use crate::idempotency::Entry;
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
    #[allow(dead_code)] // read by the Checkout emulator to come
    pub payment_intent_metadata: serde_json::Map<String, Value>,
}

/// Mutable state behind [`Shared::lock`].
#[derive(Default)]
pub(crate) struct Inner {
    pub requests: Vec<RecordedRequest>,
    pub faults: VecDeque<(Fault, usize)>,
    pub sessions: HashMap<String, StoredSession>,
    pub sessions_created: usize,
    pub payment_intents: HashMap<String, Value>,
    pub charges: HashMap<String, Value>,
    pub idempotency: HashMap<String, Entry>,
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
    pub api_key: Option<String>,
    inner: Mutex<Inner>,
}

impl Shared {
    pub fn new(base_url: String, api_key: Option<String>) -> Self {
        Shared {
            base_url,
            api_key,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// Locks the state; a panic while it was held does not poison it for later tests.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}
