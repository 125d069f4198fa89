//! What the topics share: the service under test (`app`), the binary as a process (`process`), streams read back
//! (`stream`), Stripe event builders (`events`), a callback receiver (`receiver`), the test secrets, signing and
//! fixtures; and `await_until`, the one way to poll (a deadline and a description).

pub mod app;
pub mod events;
pub mod otlp;
pub mod process;
pub mod receiver;
pub mod stream;

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

pub use app::{
    config, init_test_log, post_signed_at, vars, wait_ready_at, wait_ready_status, Replica, TestApp,
};
pub use process::{free_port, run_cli, spawn_binary};
pub use stream::{of_order, read_stream, stream_len, Published};
pub use testkit::await_until;

pub const ENDPOINT_SECRET: &str = "whsec_test_endpoint_secret";
pub const STRIPE_SECRET: &str = "sk_test_harness_secret_4242";
pub const ORDER: &str = "3f0c7a4e-4a65-4a1e-9b1e-1f2d3c4b5a69";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub fn sign_now(secret: &str, body: &str) -> String {
    payments::stripe::signature::sign(secret, now(), body.as_bytes())
}

/// The keys of a JSON object, in order (`serde_json` keeps them sorted).
pub fn keys(object: &Value) -> Vec<&str> {
    let object = object.as_object().expect("a JSON object");
    object.keys().map(String::as_str).collect()
}

/// A shared fixture, parsed.
pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/stripe/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("fixture JSON")
}
