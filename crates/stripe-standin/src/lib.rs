//! A local, in-process stand-in of the Stripe API for tests.
//!
//! [`StandIn`] serves a subset of Stripe's REST API on `127.0.0.1` with Stripe's wire format: form-encoded
//! requests with bracket notation, `Authorization: Bearer sk_…`, complete JSON objects in responses, Stripe-shaped
//! error bodies, `Idempotency-Key` replays and a `Request-Id` on every response. It records every request it
//! receives and can be told to misbehave ([`StandIn::inject`]).
//!
//! Served: `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions/{id}`,
//! `GET /v1/checkout/sessions/{id}/line_items`, `GET /v1/payment_intents/{id}`, `GET /v1/charges/{id}`.
//!
//! ```
//! # async fn demo() {
//! use stripe_standin::{Fault, StandIn};
//! let standin = StandIn::start().await; // point the Stripe client at standin.base_url()
//! standin.inject(Fault::server_error(), 1); // the next request gets a 500 api_error
//! // … exercise the code under test …
//! assert_eq!(standin.sessions_created(), 1);
//! assert_eq!(standin.requests()[0].form_value("metadata[orderId]"), Some("42"));
//! # }
//! ```
#![forbid(unsafe_code)]

mod auth;
mod checkout;
mod errors;
mod expand;
mod faults;
pub mod form;
mod gate;
mod idempotency;
mod ids;
pub mod objects;
mod routes;
mod state;

use std::net::SocketAddr;
use std::sync::Arc;

pub use faults::Fault;
pub use state::RecordedRequest;
use state::Shared;

/// A running stand-in server. Dropping it stops the server.
pub struct StandIn {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl StandIn {
    /// Starts on 127.0.0.1:0. Accepts any `Bearer sk_…`/`rk_…` key unless `with_api_key` is used.
    pub async fn start() -> StandIn {
        Self::launch(None, SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts, and answers 401 (Stripe's error body) unless the Bearer key equals `key`.
    pub async fn with_api_key(key: &str) -> StandIn {
        Self::launch(Some(key.to_owned()), SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts on a given address (used by the `stripe-standin` binary); `api_key` as in [`StandIn::with_api_key`].
    ///
    /// # Panics
    /// If the address cannot be bound.
    pub async fn bind(addr: SocketAddr, api_key: Option<String>) -> StandIn {
        Self::launch(api_key, addr).await
    }

    async fn launch(api_key: Option<String>, addr: SocketAddr) -> StandIn {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("stripe-standin: cannot bind {addr}: {e}"));
        let local = listener
            .local_addr()
            .expect("bound listener has an address");
        let shared = Arc::new(Shared::new(format!("http://{local}"), api_key));
        let app = routes::router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("stripe-standin: server stopped: {e}");
            }
        });
        StandIn { shared, server }
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// Every request received so far, in order of arrival (including faulted and rejected ones).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Distinct Checkout sessions actually created (idempotent replays not counted).
    pub fn sessions_created(&self) -> usize {
        self.shared.lock().sessions_created
    }

    /// The next `n` requests (any path) get `fault` instead of normal handling. Faults injected by successive
    /// calls queue up behind each other.
    pub fn inject(&self, fault: Fault, n: usize) {
        if n > 0 {
            self.shared.lock().faults.push_back((fault, n));
        }
    }

    /// Stores a payment intent (keyed by its `id`) so `GET /v1/payment_intents/{id}` returns it. `expand[]` of its
    /// `latest_charge` gives the charge stored under that id, or leaves the id if there is none. Inserting again
    /// replaces it.
    ///
    /// # Panics
    /// If `pi` has no string `id`.
    pub fn insert_payment_intent(&self, pi: serde_json::Value) {
        let id = object_id(&pi, "payment_intent");
        self.shared.lock().payment_intents.insert(id, pi);
    }

    /// Stores a charge (keyed by its `id`) so `GET /v1/charges/{id}` and `expand[]=latest_charge` return it.
    ///
    /// # Panics
    /// If `charge` has no string `id`.
    pub fn insert_charge(&self, charge: serde_json::Value) {
        let id = object_id(&charge, "charge");
        self.shared.lock().charges.insert(id, charge);
    }

    /// The stored Checkout session with this id, as `GET /v1/checkout/sessions/{id}` would return it.
    pub fn session(&self, id: &str) -> Option<serde_json::Value> {
        self.shared
            .lock()
            .sessions
            .get(id)
            .map(|s| s.object.clone())
    }
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn object_id(object: &serde_json::Value, what: &str) -> String {
    object["id"]
        .as_str()
        .unwrap_or_else(|| panic!("stripe-standin: the {what} has no string \"id\""))
        .to_owned()
}
