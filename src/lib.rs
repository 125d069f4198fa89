//! payments: Stripe Checkout and webhooks in front of a NATS JetStream bus, a drop-in successor of the NestJS
//! `payments-ms`. See `README.md` for how it fits, and `CONTRACT.md` for the interface it keeps.
#![forbid(unsafe_code)]

pub mod app;
pub mod callback;
pub mod causes;
pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod metrics;
pub mod nats;
pub mod payment;
pub mod pipeline;
pub mod reconcile;
pub mod stripe;
pub mod telemetry;
pub mod usecase;

pub use app::Application;
pub use config::Config;
