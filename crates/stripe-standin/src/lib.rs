//! A local stand-in of the Stripe API, and an offline Checkout emulator, for tests and development.
//!
//! [`StandIn`] serves a subset of Stripe's REST API with Stripe's wire format: form-encoded requests with bracket
//! notation, `Authorization: Bearer sk_…`, complete JSON objects in responses, Stripe-shaped error bodies,
//! `Idempotency-Key` replays and a `Request-Id` on every response. It records every request it receives and can be
//! told to misbehave ([`StandIn::inject`]).
//!
//! Served: `POST /v1/checkout/sessions`, `GET /v1/checkout/sessions/{id}`,
//! `GET /v1/checkout/sessions/{id}/line_items`, `POST /v1/checkout/sessions/{id}/expire`,
//! `GET /v1/payment_intents/{id}`, `GET /v1/charges/{id}`, `GET /v1/refunds/{id}`, `GET /v1/disputes/{id}`,
//! `GET /v1/events/{id}`, `GET /v1/events` (a list).
//!
//! The Checkout emulator: each session's `url` is a hosted page (`/checkout/{id}`) whose
//! buttons pay, cancel or expire it, as [`StandIn::pay`], [`StandIn::cancel`] and [`StandIn::expire`] do; paying
//! creates the payment intent and charge, and the [`events`] Stripe would send are POSTed, signed, to the
//! configured webhook URL with retries ([`StandIn::builder`], [`StandIn::deliveries`]). After payment, a charge can
//! be refunded ([`StandIn::refund`]) or disputed ([`StandIn::dispute`], [`StandIn::close_dispute`]), also through
//! the admin routes `POST /_emulator/charges/{id}/refund|dispute` and `POST /_emulator/disputes/{id}/close`.
//! `POST /_emulator/objects` stores objects for later `GET`s.
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

mod admin;
mod admin_body;
mod after_payment;
mod auth;
mod builder;
mod checkout;
mod delivery;
mod dispute_object;
pub mod disputes;
mod errors;
mod event_list;
pub mod events;
mod expand;
mod faults;
mod flows;
pub mod form;
mod gate;
mod idempotency;
mod ids;
pub mod objects;
mod page;
mod payment;
mod price;
mod refunds;
mod result_page;
mod routes;
mod state;
mod webhooks;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

pub use after_payment::ChargeError;
pub use builder::{Builder, Retry};
pub use delivery::Delivery;
pub use faults::{Fault, ListFault};
pub use flows::{FlowError, Method, Paid};
pub use payment::{DECLINE_MESSAGE, FAILURE_MESSAGE};
pub use state::RecordedRequest;
use state::Shared;
pub use webhooks::signature;

/// A running stand-in server. Dropping it stops the server.
pub struct StandIn {
    shared: Arc<Shared>,
    server: tokio::task::JoinHandle<()>,
}

impl StandIn {
    /// Starts on 127.0.0.1:0. Accepts any `Bearer sk_…`/`rk_…` key unless `with_api_key` is used.
    pub async fn start() -> StandIn {
        Builder::default().start().await
    }

    /// Starts, and answers 401 (Stripe's error body) unless the Bearer key equals `key`.
    pub async fn with_api_key(key: &str) -> StandIn {
        Builder::default().api_key(key).start().await
    }

    /// Starts on a given address; `api_key` as in [`StandIn::with_api_key`].
    ///
    /// # Panics
    /// If the address cannot be bound.
    pub async fn bind(addr: SocketAddr, api_key: Option<String>) -> StandIn {
        let mut builder = Builder::default().addr(addr);
        builder.api_key = api_key;
        builder.start().await
    }

    /// A configuration to start from: webhook forwarding, public URL, retry schedule, settle delay.
    pub fn builder() -> Builder {
        Builder::default()
    }

    pub(crate) async fn launch(config: Builder) -> StandIn {
        let addr = config.addr;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .unwrap_or_else(|e| panic!("stripe-standin: cannot bind {addr}: {e}"));
        let local = listener
            .local_addr()
            .expect("bound listener has an address");
        let shared = Arc::new(Shared::new(format!("http://{local}"), config));
        let app = routes::router(shared.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                eprintln!("stripe-standin: server stopped: {e}");
            }
        });
        StandIn { shared, server }
    }

    /// `http://127.0.0.1:PORT` (the bound address), without a trailing slash.
    pub fn base_url(&self) -> String {
        self.shared.base_url.clone()
    }

    /// The base of the hosted page URLs: the configured public URL, or [`StandIn::base_url`].
    pub fn public_url(&self) -> String {
        self.shared.public_url.clone()
    }

    /// The `whsec_…` secret events are signed with (the configured one, or a random one).
    pub fn webhook_secret(&self) -> String {
        self.shared.webhook_secret.clone()
    }

    /// Every event created so far (delivered or not, with or without a webhook URL), oldest first.
    pub fn events(&self) -> Vec<serde_json::Value> {
        let inner = self.shared.lock();
        inner
            .event_order
            .iter()
            .filter_map(|id| inner.events.get(id).cloned())
            .collect()
    }

    /// The webhook delivery of every event so far, oldest event first (empty without a webhook URL).
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.shared.lock().deliveries.clone()
    }

    /// Waits until at least `n` events have been delivered (answered 2xx), at most `timeout`; whether they were.
    pub async fn wait_delivered(&self, n: usize, timeout: Duration) -> bool {
        let delivered = |all: &[Delivery]| all.iter().filter(|d| d.delivered).count() >= n;
        webhooks::wait_until(&self.shared, timeout, delivered).await
    }

    /// Waits until `done` holds for [`StandIn::deliveries`] (checked at once and after every delivery attempt), at
    /// most `timeout`; whether it held. E.g. `|d| d.len() == 3 && d.iter().all(|d| d.delivered || d.gave_up)`.
    pub async fn wait_deliveries(
        &self,
        timeout: Duration,
        done: impl FnMut(&[Delivery]) -> bool,
    ) -> bool {
        webhooks::wait_until(&self.shared, timeout, done).await
    }

    /// Stores a Stripe object (`payment_intent`, `charge`, `checkout.session` or `dispute`, by its `object`
    /// field) as `POST /_emulator/objects` does.
    ///
    /// # Panics
    /// If it is none of those or has no string `id`.
    pub fn insert_object(&self, object: serde_json::Value) {
        let kind = object["object"].as_str().unwrap_or_default();
        assert!(
            admin::STORABLE.contains(&kind),
            "stripe-standin: cannot store an object of type {kind:?}"
        );
        object_id(&object, kind);
        admin::insert(&mut self.shared.lock(), object);
    }

    /// Records events as if the stand-in had created them (`GET /v1/events` lists them, by their `created`) and,
    /// unless deliveries are withheld, delivers them to the webhook URL like its own. Each needs a string `id`
    /// and `type`; `created` defaults to now. Recording an id again replaces the event (and delivers it again).
    ///
    /// # Panics
    /// If an event has no string `id` or `type`.
    pub fn record_events(&self, events: Vec<serde_json::Value>) {
        for event in &events {
            object_id(event, "event");
            assert!(
                event["type"].is_string(),
                "stripe-standin: the event has no string \"type\""
            );
        }
        let mut inner = self.shared.lock();
        for event in events {
            admin::record_event(&self.shared, &mut inner, event);
        }
    }

    /// From now on, events are recorded and listed but not delivered (`true`), or delivered again (`false`: only
    /// events created from then on; the withheld ones stay undelivered, as at Stripe after a fix).
    pub fn withhold_deliveries(&self, withhold: bool) {
        self.shared
            .withhold
            .store(withhold, std::sync::atomic::Ordering::SeqCst);
    }

    /// The next `n` `GET /v1/events` calls fail with `fault` (after any queued before).
    pub fn fail_event_lists(&self, fault: ListFault, n: usize) {
        self.shared
            .lock()
            .list_faults
            .extend(std::iter::repeat_n(fault, n));
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
    /// Stops the server, pending deliveries and payments still settling.
    fn drop(&mut self) {
        self.server.abort();
        let tasks = std::mem::take(&mut self.shared.lock().tasks);
        drop(tasks);
    }
}

fn object_id(object: &serde_json::Value, what: &str) -> String {
    object["id"]
        .as_str()
        .unwrap_or_else(|| panic!("stripe-standin: the {what} has no string \"id\""))
        .to_owned()
}
