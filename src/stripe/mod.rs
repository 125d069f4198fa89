//! Everything that speaks Stripe: the API client, `Stripe-Signature` verification, and lenient event parsing.

pub mod client;
pub mod error;
pub mod event;
pub mod signature;
pub mod transport;
