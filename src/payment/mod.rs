//! The payment domain: money, the create-session request, and the outcomes published on NATS.

pub mod checkout;
pub mod money;
pub mod outcome;
