//! The payment domain: money, the create-session request, the outcomes published on NATS, and the lifecycle rules
//! that keep an order's outcomes truthful and in order.

pub mod checkout;
pub mod lifecycle;
pub mod money;
pub mod outcome;
