//! The event pipeline: a verified webhook is stored durably in the events stream before Stripe gets its 2xx
//! (`inbox`); a durable consumer shared by all replicas maps each event to an outcome (`processor`) and publishes
//! it to `PAYMENTS` once (`ledger`), whichever replica and whichever of a payment's events gets there first.

pub mod inbox;
pub mod ledger;
pub mod pressure;
pub mod processor;
pub mod replay;
