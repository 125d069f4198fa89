//! NATS: the connection and its readiness, the `create.payment.session` request/reply service (plain and
//! NestJS wire formats), and the JetStream streams the event pipeline writes to.

pub mod connection;
pub mod consumer;
pub mod create_session;
pub mod envelope;
pub mod idempotency;
pub mod provision;
pub(crate) mod state_log;
pub mod streams;
pub mod unavailable;
