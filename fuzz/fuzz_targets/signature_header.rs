//! `cargo +nightly fuzz run signature_header`: the Stripe-Signature parser and verifier must
//! never panic, must never accept a header that was not produced with the secret, and must
//! accept the header `sign` produces for the same (fuzzed) body.
#![no_main]

use libfuzzer_sys::fuzz_target;
use payments::stripe::signature::{parse_header, sign, Verifier, DEFAULT_TOLERANCE};

const SECRET: &str = "whsec_fuzz";
const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    // Input layout: header bytes, then optionally a NUL and the body.
    let (header, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (data, &[][..]),
    };
    let _ = parse_header(header);
    let verifier = Verifier::new([SECRET], DEFAULT_TOLERANCE);
    assert!(
        verifier.verify(Some(header), body, NOW).is_err(),
        "forged header accepted"
    );
    let signed = sign(SECRET, NOW, body);
    assert_eq!(verifier.verify(Some(signed.as_bytes()), body, NOW), Ok(()));
});
