//! Stripe's `Stripe-Signature` webhook header: verification over the raw request body (the service), and
//! signing (the stand-in's deliveries, `payments trigger`, the benchmark and tests), in one place.
//!
//! Stripe signs `"{t}.{raw body}"` with HMAC-SHA256 keyed by the endpoint secret (`whsec_…`,
//! used whole as the key) and sends `t=<unix secs>,v1=<hex>[,v1=<hex>…]`. Several secrets may
//! be configured during rotation; any secret matching any `v1` value passes.

use std::fmt;
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Stripe's default tolerance between the header's timestamp and now (either direction).
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Headers longer than this are rejected before any parsing.
const MAX_HEADER_LEN: usize = 8 * 1024;
/// More `v1` values than this are rejected (Stripe sends one per active secret).
const MAX_V1: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("No Stripe-Signature header")]
    MissingHeader,
    #[error("Unable to parse the Stripe-Signature header: {0}")]
    Unparsable(&'static str),
    #[error("No signatures found matching the expected signature for payload (check the endpoint's signing secret)")]
    NoMatchingSignature,
    #[error("Timestamp outside the tolerance zone ({age_secs} s away from now, tolerance {tolerance_secs} s)")]
    TimestampOutsideTolerance { age_secs: i64, tolerance_secs: u64 },
}

/// Parsed header. `v1` holds decoded 32-byte signatures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub timestamp: i64,
    pub v1: Vec<[u8; 32]>,
}

/// Parses a raw `Stripe-Signature` header value (which may not even be UTF-8).
///
/// Items are comma-separated `key=value` pairs in any order; whitespace around items, keys and
/// values is ignored, as are empty items, items without `=` and keys other than `t` and `v1`
/// (e.g. `v0`). Exactly one `t` is required, and 1 to 32 `v1` values of 64 hex digits each
/// (upper- or lowercase: the case carries no information, the decoded bytes are compared).
pub fn parse_header(header: &[u8]) -> Result<SignatureHeader, SignatureError> {
    use SignatureError::Unparsable;
    if header.len() > MAX_HEADER_LEN {
        return Err(Unparsable("header longer than 8 KiB"));
    }
    let header = std::str::from_utf8(header).map_err(|_| Unparsable("not valid UTF-8"))?;
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let Some((key, value)) = item.split_once('=') else {
            continue;
        };
        let value = value.trim_ascii();
        match key.trim_ascii() {
            "t" => {
                if timestamp.is_some() {
                    return Err(Unparsable("more than one timestamp (t=)"));
                }
                let t = value.parse::<i64>();
                timestamp = Some(t.map_err(|_| Unparsable("timestamp is not an integer"))?);
            }
            "v1" => {
                if v1.len() == MAX_V1 {
                    return Err(Unparsable("more than 32 v1 signatures"));
                }
                let mut sig = [0u8; 32];
                hex::decode_to_slice(value, &mut sig)
                    .map_err(|_| Unparsable("v1 signature is not 64 hex characters"))?;
                v1.push(sig);
            }
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(Unparsable("no timestamp (t=)"))?;
    if v1.is_empty() {
        return Err(Unparsable("no v1 signature"));
    }
    Ok(SignatureHeader { timestamp, v1 })
}

/// Checks `Stripe-Signature` headers against the configured endpoint secrets.
#[derive(Clone)]
pub struct Verifier {
    /// One HMAC state per secret, already keyed (the secrets themselves are not kept).
    keys: Vec<HmacSha256>,
    tolerance: Duration,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("secrets", &self.keys.len())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}

impl Verifier {
    /// `secrets` are whole endpoint secrets (`whsec_…`). With none, nothing ever verifies.
    /// `tolerance` is truncated to whole seconds.
    pub fn new<S: AsRef<str>>(secrets: impl IntoIterator<Item = S>, tolerance: Duration) -> Self {
        let keys = secrets.into_iter().map(|s| keyed(s.as_ref())).collect();
        Self { keys, tolerance }
    }

    /// `header` is None when the request had no Stripe-Signature header. `now` = unix seconds.
    ///
    /// Checks, in order: header present, header parsable, some secret matches some `v1` value
    /// (constant-time), and only then the timestamp, so that nothing about timing is revealed to
    /// a caller without a valid signature.
    pub fn verify(
        &self,
        header: Option<&[u8]>,
        body: &[u8],
        now: i64,
    ) -> Result<(), SignatureError> {
        let header = parse_header(header.ok_or(SignatureError::MissingHeader)?)?;
        let matched = self.keys.iter().any(|key| {
            let mac = signed_payload(key, header.timestamp, body);
            header
                .v1
                .iter()
                .any(|sig| mac.clone().verify_slice(sig).is_ok())
        });
        if !matched {
            return Err(SignatureError::NoMatchingSignature);
        }
        let age_secs = now.saturating_sub(header.timestamp);
        let tolerance_secs = self.tolerance.as_secs();
        if age_secs.unsigned_abs() > tolerance_secs {
            return Err(SignatureError::TimestampOutsideTolerance {
                age_secs,
                tolerance_secs,
            });
        }
        Ok(())
    }
}

/// Builds a valid header value `t=…,v1=…` for `body` signed with `secret`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    Signer::new(secret).sign(timestamp, body)
}

/// Signs many bodies with one secret, keying the HMAC once (the benchmark signs each request it sends).
#[derive(Clone)]
pub struct Signer {
    key: HmacSha256,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Signer")
    }
}

impl Signer {
    pub fn new(secret: &str) -> Self {
        Self { key: keyed(secret) }
    }

    /// The `Stripe-Signature` header value for `body` signed at `timestamp`.
    pub fn sign(&self, timestamp: i64, body: &[u8]) -> String {
        let mac = signed_payload(&self.key, timestamp, body);
        format!(
            "t={timestamp},v1={}",
            hex::encode(mac.finalize().into_bytes())
        )
    }
}

fn keyed(secret: &str) -> HmacSha256 {
    HmacSha256::new_from_slice(secret.as_bytes()).expect("HMAC accepts keys of any length")
}

/// The keyed MAC fed with Stripe's signed payload `"{timestamp}.{body}"`.
fn signed_payload(key: &HmacSha256, timestamp: i64, body: &[u8]) -> HmacSha256 {
    let mut mac = key.clone();
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use SignatureError::*;

    const SECRET: &str = "whsec_test_secret";
    const T: i64 = 1_700_000_000;
    const BODY: &[u8] = br#"{"id":"evt_1"}"#;
    /// `python3 -c "import hmac,hashlib;print(hmac.new(b'whsec_test_secret',
    /// b'1700000000.{\"id\":\"evt_1\"}', hashlib.sha256).hexdigest())"`
    const KAT_V1: &str = "248a374f50f943a28b0f6ab50faf9a7e7e29b710fa26df9fb1618b9bf8ea9c9a";
    const REASONS: [&str; 8] = [
        "header longer than 8 KiB",
        "not valid UTF-8",
        "no timestamp (t=)",
        "more than one timestamp (t=)",
        "timestamp is not an integer",
        "no v1 signature",
        "more than 32 v1 signatures",
        "v1 signature is not 64 hex characters",
    ];

    fn verifier() -> Verifier {
        Verifier::new([SECRET], DEFAULT_TOLERANCE)
    }

    fn check(header: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
        verifier().verify(Some(header.as_bytes()), body, now)
    }

    #[test]
    fn known_answer_from_python_hmac() {
        assert_eq!(sign(SECRET, T, BODY), format!("t={T},v1={KAT_V1}"));
        assert_eq!(check(&format!("t={T},v1={KAT_V1}"), BODY, T), Ok(()));
    }

    #[test]
    fn valid_missing_tampered_and_wrong_secret() {
        assert_eq!(DEFAULT_TOLERANCE, Duration::from_secs(300));
        let header = sign(SECRET, T, BODY);
        assert_eq!(check(&header, BODY, T + 10), Ok(()));
        assert_eq!(verifier().verify(None, BODY, T), Err(MissingHeader));
        let nomatch = Err(NoMatchingSignature);
        assert_eq!(check(&header, br#"{"id":"evt_2"}"#, T), nomatch);
        assert_eq!(check(&sign("whsec_other", T, BODY), BODY, T), nomatch);
        // The timestamp is part of the signed payload.
        let moved = header.replace("t=1700000000", "t=1700000001");
        assert_eq!(check(&moved, BODY, T), nomatch);
        let none = Verifier::new(Vec::<String>::new(), DEFAULT_TOLERANCE);
        assert_eq!(none.verify(Some(header.as_bytes()), BODY, T), nomatch);
    }

    #[test]
    fn each_unparsable_reason() {
        let sig = format!("v1={KAT_V1}");
        let many = vec![sig.as_str(); 33].join(",");
        let cases: [(Vec<u8>, &str); 10] = [
            (vec![b' '; 8193], REASONS[0]),
            (b"t=1,v1=\xff".to_vec(), REASONS[1]),
            (sig.clone().into_bytes(), REASONS[2]),
            (b"".to_vec(), REASONS[2]),
            (format!("t=1,t=1,{sig}").into_bytes(), REASONS[3]),
            (format!("t=1.5,{sig}").into_bytes(), REASONS[4]),
            (format!("t=9{T}{T},{sig}").into_bytes(), REASONS[4]),
            (b"t=1,v0=abcd".to_vec(), REASONS[5]),
            (format!("t=1,{many}").into_bytes(), REASONS[6]),
            (format!("t=1,{sig}0").into_bytes(), REASONS[7]),
        ];
        for (header, reason) in cases {
            assert_eq!(parse_header(&header), Err(Unparsable(reason)), "{header:?}");
            let result = verifier().verify(Some(&header), BODY, T);
            assert_eq!(result, Err(Unparsable(reason)));
        }
        let not_hex = format!("t=1,v1={}", "g".repeat(64));
        assert_eq!(
            parse_header(not_hex.as_bytes()),
            Err(Unparsable(REASONS[7]))
        );
        let max = format!("t=1,{}", vec![sig.as_str(); 32].join(","));
        assert_eq!(parse_header(max.as_bytes()).map(|h| h.v1.len()), Ok(32));
    }

    #[test]
    fn rotation_multiple_v1_and_v0() {
        let two = Verifier::new(["whsec_old", SECRET], DEFAULT_TOLERANCE);
        let header = sign(SECRET, T, BODY);
        assert_eq!(two.verify(Some(header.as_bytes()), BODY, T), Ok(()));
        let wrong = format!("v1={}", "0".repeat(64));
        let several = format!("{wrong},{header},v0={wrong}");
        assert_eq!(check(&several, BODY, T), Ok(()));
        let only_wrong = format!("t={T},{wrong}");
        assert_eq!(check(&only_wrong, BODY, T), Err(NoMatchingSignature));
    }

    #[test]
    fn tolerance_both_directions_after_signature() {
        let header = sign(SECRET, T, BODY);
        assert_eq!(check(&header, BODY, T + 300), Ok(()));
        assert_eq!(check(&header, BODY, T - 300), Ok(()));
        let outside = |age_secs| {
            Err(TimestampOutsideTolerance {
                age_secs,
                tolerance_secs: 300,
            })
        };
        assert_eq!(check(&header, BODY, T + 301), outside(301));
        assert_eq!(check(&header, BODY, T - 301), outside(-301));
        // A bad signature is reported as such whatever the timestamp.
        assert_eq!(check(&header, b"x", T + 10_000), Err(NoMatchingSignature));
        let strict = Verifier::new([SECRET], Duration::from_millis(10_999));
        assert!(strict
            .verify(Some(header.as_bytes()), BODY, T + 11)
            .is_err());
        // Extreme timestamps saturate instead of overflowing.
        let min = sign(SECRET, i64::MIN, BODY);
        assert!(min.starts_with("t=-9223372036854775808,"));
        assert_eq!(check(&min, BODY, 0), outside(i64::MAX));
        let max = sign(SECRET, i64::MAX, BODY);
        assert_eq!(check(&max, BODY, i64::MIN), outside(i64::MIN));
    }

    #[test]
    fn whitespace_empty_items_and_uppercase_hex() {
        let spaced = format!(" \tt = {T} ,, v1= {KAT_V1}\t, junk ,");
        assert_eq!(check(&spaced, BODY, T), Ok(()));
        // Decision: uppercase hex is accepted (it decodes to the same 32 bytes).
        let upper = format!("t={T},v1={}", KAT_V1.to_uppercase());
        assert_eq!(check(&upper, BODY, T), Ok(()));
    }

    #[test]
    fn debug_does_not_leak_secrets() {
        let verifier = Verifier::new(["whsec_a", "whsec_b"], DEFAULT_TOLERANCE);
        let debug = format!("{verifier:?}");
        assert!(!debug.contains("whsec"), "{debug}");
        assert!(debug.contains("secrets: 2"), "{debug}");
    }

    /// Parsing a random header gives Ok or a known reason; verifying it fails to parse or to
    /// match (forging a v1 value being out of reach).
    fn assert_documented(header: &[u8], body: &[u8], now: i64) {
        let known = |reason| assert!(REASONS.contains(&reason), "unknown reason {reason}");
        match parse_header(header) {
            Ok(_) => {}
            Err(Unparsable(reason)) => known(reason),
            Err(other) => panic!("parse_header returned {other:?}"),
        }
        match verifier().verify(Some(header), body, now) {
            Err(Unparsable(reason)) => known(reason),
            other => assert_eq!(other, Err(NoMatchingSignature)),
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(header in prop::collection::vec(any::<u8>(), 0..9000),
                                       body in prop::collection::vec(any::<u8>(), 0..64),
                                       now in any::<i64>()) {
            assert_documented(&header, &body, now);
        }

        #[test]
        fn near_valid_headers_never_panic(
            header in "((t|v1|v0| t|v1 )=( ?-?[0-9]{1,20}|[0-9a-fA-F]{62,66}|x)? ?,?){0,6}",
            now in any::<i64>(),
        ) {
            assert_documented(header.as_bytes(), BODY, now);
        }

        #[test]
        fn sign_then_verify_round_trips(secret in any::<String>(),
                                        body in prop::collection::vec(any::<u8>(), 0..512),
                                        t in any::<i64>(), skew in -300i64..=300) {
            let verifier = Verifier::new([&secret], DEFAULT_TOLERANCE);
            let header = sign(&secret, t, &body);
            prop_assert_eq!(verifier.verify(Some(header.as_bytes()), &body, t.saturating_add(skew)), Ok(()));
        }

        #[test]
        fn flipping_any_body_byte_fails(body in prop::collection::vec(any::<u8>(), 1..512),
                                        index in any::<prop::sample::Index>(), mask in 1u8..) {
            let header = sign(SECRET, T, &body);
            let mut tampered = body.clone();
            tampered[index.index(body.len())] ^= mask;
            prop_assert_eq!(check(&header, &tampered, T), Err(NoMatchingSignature));
        }
    }
}
