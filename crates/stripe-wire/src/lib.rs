//! Stripe's wire rules, kept in one place for the payments service, the Stripe stand-in and the benchmark, so
//! they agree on what Stripe accepts and sends: the currencies Stripe supports with their decimals in the API
//! ([`currency`]), the rules an amount in minor units must follow before Stripe takes it ([`amount`]), and the
//! `Stripe-Signature` scheme of webhooks ([`signature`]), and the doubling, capped pause between retries
//! ([`backoff`]) that the service's retries and the stand-in's webhook deliveries share.
#![forbid(unsafe_code)]

pub mod amount;
pub mod backoff;
pub mod currency;
pub mod signature;

pub use amount::{check_unit_amount, AmountRule, MAX_UNIT_AMOUNT};
pub use backoff::Backoff;
pub use currency::{Currency, Special};
