//! Stripe's wire rules, kept in one place for the payments service and the Stripe stand-in, so both agree on
//! what Stripe accepts: the currencies Stripe supports with their decimals in the API ([`currency`]) and the
//! rules an amount in minor units must follow before Stripe takes it ([`amount`]).
#![forbid(unsafe_code)]

pub mod amount;
pub mod currency;

pub use amount::{check_unit_amount, AmountRule, MAX_UNIT_AMOUNT};
pub use currency::{Currency, Special};
