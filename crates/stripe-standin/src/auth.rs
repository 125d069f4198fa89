//! API key checks on `Authorization: Bearer …`, answered with Stripe's 401 bodies (keys masked, never echoed).

use axum::http::HeaderMap;

use crate::errors::ApiError;

const NO_KEY: &str = "You did not provide an API key. You need to provide your API key in the Authorization header, \
                      using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY'). See \
                      https://stripe.com/docs/api#authentication for details, or we can help at \
                      https://support.stripe.com/.";

/// Accepts the request's Bearer key if it equals `expected`, or (with no `expected`) looks like a secret or
/// restricted key (`sk_…`, `rk_…`).
pub(crate) fn check(headers: &HeaderMap, expected: Option<&str>) -> Result<(), ApiError> {
    let key = bearer(headers).ok_or_else(|| unauthorized(NO_KEY))?;
    let accepted = match expected {
        Some(expected) => key == expected,
        None => key.starts_with("sk_") || key.starts_with("rk_"),
    };
    if accepted {
        Ok(())
    } else if expected.is_none() && key.starts_with("pk_") {
        Err(unauthorized(
            "This API call cannot be made with a publishable API key. Please use a secret API key. You can find \
             a list of your API keys at https://dashboard.stripe.com/account/apikeys.",
        ))
    } else {
        Err(unauthorized(&format!(
            "Invalid API Key provided: {}",
            mask(key)
        )))
    }
}

/// The key of an `Authorization: Bearer <key>` header, if there is a non-empty one.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, key) = value.split_once(' ')?;
    let key = key.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !key.is_empty()).then_some(key)
}

/// Masks a key as Stripe does: the `sk_test_`-style prefix, then `*` for all but the last four characters.
pub(crate) fn mask(key: &str) -> String {
    let prefix_len = key
        .match_indices('_')
        .take(2)
        .last()
        .map_or(0, |(i, _)| i + 1);
    let (prefix, secret) = key.split_at(prefix_len);
    let chars: Vec<char> = secret.chars().collect();
    let shown = if chars.len() > 8 { 4 } else { 0 };
    let hidden = "*".repeat(chars.len() - shown);
    let tail: String = chars[chars.len() - shown..].iter().collect();
    format!("{prefix}{hidden}{tail}")
}

fn unauthorized(message: &str) -> ApiError {
    ApiError::new(401, "invalid_request_error", message)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_like_stripe() {
        assert_eq!(mask("sk_test_51Habcdefgh1234"), "sk_test_***********1234");
        assert_eq!(mask("sk_test_x"), "sk_test_*");
        assert_eq!(mask("rk_live_abcdefgh"), "rk_live_********");
        assert_eq!(mask("nonsense"), "********");
        assert_eq!(mask("sk_abcdefghijk"), "sk_*******hijk");
    }

    #[test]
    fn bearer_parsing() {
        let mut h = HeaderMap::new();
        assert!(check(&h, None).is_err());
        h.insert("authorization", "Bearer sk_test_1".parse().unwrap());
        assert!(check(&h, None).is_ok());
        assert!(check(&h, Some("sk_test_2")).is_err());
        assert!(check(&h, Some("sk_test_1")).is_ok());
        h.insert("authorization", "Basic c2tfdGVzdF8xOg==".parse().unwrap());
        assert!(check(&h, None).is_err());
        h.insert("authorization", "Bearer pk_test_1".parse().unwrap());
        assert!(check(&h, None).is_err());
    }
}
