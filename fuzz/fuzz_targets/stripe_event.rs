//! `cargo +nightly fuzz run stripe_event`: the Stripe event parser must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = payments::stripe::event::parse(data);
});
