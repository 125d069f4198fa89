//! The stand-in's integration tests: ONE test binary (`cargo test -p stripe-standin --test it`), one module per
//! topic.
//!
//! Layout:
//! - `tests/it/<topic>.rs`: the tests of one topic (the typed client, raw HTTP, the emulator's page, events,
//!   webhooks, the binary). A new topic is a new file plus a `mod <topic>;` line below (keep the list sorted).
//! - `tests/it/support/`: what the topics share, one concept per module (see `support/mod.rs`). Every wait for
//!   something asynchronous goes through `testkit::await_until` (a deadline and a description).
//!
//! All tests run in one process, in parallel: a test changes no process-wide state (no `std::env::set_var`, no
//! fixed port); each starts its own stand-in and receivers on free ports.

mod support;

mod binary;
mod client_failures;
mod client_objects;
mod emulator_after_payment;
mod emulator_client;
mod emulator_declines;
mod emulator_events;
mod emulator_page;
mod emulator_webhooks;
mod event_list;
mod http_behaviour;
mod http_errors;
mod result_page;
