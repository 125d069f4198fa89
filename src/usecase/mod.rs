//! The application layer: the service's use cases, each wiring the payment core to the adapters it needs. The
//! HTTP and NATS adapters both call these, so a create request means the same whichever way it arrives. (The other
//! use case, processing a stored Stripe event, is the pipeline's `Processor`.)

pub mod create_checkout;
