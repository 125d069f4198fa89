//! The service's integration tests: ONE test binary (`cargo test -p payments --test it`), one module per topic.
//!
//! Layout:
//! - `tests/it/<topic>.rs`: the tests of one topic (one contract section, one behaviour). Add a test to the topic
//!   it belongs to; a new topic is a new file plus a `mod <topic>;` line below (keep the list sorted).
//! - `tests/it/support/`: what the topics share, each module one concept: the service under test (`TestApp`,
//!   `Replica`), the `payments` binary as a process, streams read back, Stripe event builders, the callback
//!   receiver; and `support::await_until` (from `testkit`), the one way to poll: every wait for something
//!   asynchronous goes through it (a deadline and a description; no hand-written sleep loops).
//! - `tests/fixtures/`: real Stripe payloads, read with `support::fixture`.
//!
//! All tests of this binary run in one process, in parallel (`--test-threads` = cores). So a test never changes
//! process-wide state (no `std::env::set_var`, no log subscriber of its own, no fixed port): each starts its own
//! nats-server and stand-in on free ports, and the environment of the service goes in through `Config::from_vars`
//! or a child process's `envs`. The service's metrics recorder is per process: a test that reads exact counters
//! or gauges runs the service as a process of its own (`TestApp::spawn_process`). Run one topic with
//! `cargo test -p payments --test it <topic>::`.

mod support;

mod callbacks;
mod cli_unreachable;
mod cluster_readiness;
mod create_session_http;
mod create_session_nats;
mod create_session_no_reply;
mod dotenv;
mod healthcheck;
mod inspect;
mod metric_labels;
mod metrics;
mod nats_connection_log;
mod openapi;
mod payment_lifecycle;
mod process;
mod proto_contract;
mod reconcile;
mod recovery;
mod replay;
mod slow_clients;
mod stream_limits;
mod tracing;
mod trigger;
mod webhook_durability;
mod webhook_outcomes;
mod webhook_signature;
