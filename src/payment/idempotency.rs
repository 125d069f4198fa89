//! Idempotency keys of create requests (CONTRACT §2): a caller's `Idempotency-Key`, checked as Stripe takes it,
//! or one derived from the canonical request; and the conflict of a key used for another request.

use super::checkout::{CreateSession, Invalid};

/// Stripe's own limit for an idempotency key.
const MAX_KEY_CHARS: usize = 255;
/// Longest part of a caller's key repeated in a message: enough to recognise it, never a wall of text.
const SHOWN_KEY_CHARS: usize = 64;

/// A key Stripe takes: 1 to 255 visible ASCII characters (it is sent to Stripe as a header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// A caller's key.
    pub fn parse(key: &str) -> Result<Self, Invalid> {
        if key.is_empty() || key.len() > MAX_KEY_CHARS || !key.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(Invalid::IdempotencyKey { max: MAX_KEY_CHARS });
        }
        Ok(Self(key.to_owned()))
    }

    /// The key derived from the canonical request: the same order, currency and items (after conversion, so
    /// `20.5` and `20.50` agree) give the same key, so a retried request returns the same session.
    pub fn derived(request: &CreateSession) -> Self {
        Self(format!("create-session-{}", request.fingerprint()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The `409` for this key when it belongs to another request.
    pub fn conflict(&self) -> Conflict {
        Conflict {
            key: self.0.clone(),
        }
    }
}

/// A key already claimed by another request: nothing was created or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Idempotency-Key {} was used for another request", shown(key))]
pub struct Conflict {
    key: String,
}

fn shown(key: &str) -> String {
    let shown: String = key.chars().take(SHOWN_KEY_CHARS).collect();
    let more = if shown.len() < key.len() { "…" } else { "" };
    format!("{shown}{more}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_what_stripe_takes() {
        assert!(IdempotencyKey::parse("cart-7").is_ok());
        for bad in ["", "a b", "é", &"k".repeat(256)] {
            assert_eq!(
                IdempotencyKey::parse(bad).unwrap_err().to_string(),
                "Idempotency-Key must be 1 to 255 visible ASCII characters"
            );
        }
    }

    #[test]
    fn a_conflict_shows_a_long_key_shortened() {
        let long = IdempotencyKey::parse(&"k".repeat(100)).unwrap();
        assert_eq!(
            long.conflict().to_string(),
            format!(
                "Idempotency-Key {}… was used for another request",
                "k".repeat(64)
            )
        );
    }
}
