//! The event pipeline: a verified webhook is stored durably in the events stream before Stripe gets its 2xx
//! (`inbox`); a durable consumer shared by all replicas maps each event to what it reports (`processor`),
//! settles it against its order (`settle`) and publishes what that decides (`publish`): the order's journal
//! (`journal`) keeps its outcomes truthful, in order and once each, whichever replica and whichever of a payment's
//! events gets there first.

pub mod backlog;
pub mod inbox;
pub mod journal;
pub mod pressure;
pub mod processor;
mod publish;
pub mod replay;
mod settle;
