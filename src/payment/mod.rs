//! The payment domain, free of any transport or SDK: money, the create-session request and its idempotency key,
//! the metadata this service writes to Stripe, the outcomes an event reports, and the lifecycle rules that keep an
//! order's outcomes truthful and in order.

pub mod checkout;
pub mod event;
pub mod idempotency;
pub mod lifecycle;
pub mod metadata;
pub mod money;
pub mod outcome;
