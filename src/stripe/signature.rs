//! Stripe's `Stripe-Signature` scheme, as the service uses it: the code is `stripe-wire`'s, shared with the Stripe
//! stand-in, `payments trigger` and the benchmark, so the signer and the verifier cannot drift apart.

pub use stripe_wire::signature::*;
