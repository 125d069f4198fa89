//! What the stand-in's test topics share: the typed async-stripe client and its sample session (`client`), raw
//! HTTP against the API (`raw`), a webhook receiver with an independent signature check (`receiver`), an emulator
//! wired to that receiver (`emulator`), and nothing else: waits go through `testkit::await_until`.

/// The test-mode key the helpers send; a stand-in started with `with_api_key(API_KEY)` accepts them.
pub const API_KEY: &str = "sk_test_x";

pub mod client;
pub mod emulator;
pub mod raw;
pub mod receiver;
