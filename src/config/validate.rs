//! Field-by-field validation of the raw variables: each problem is recorded (never with the value, which may be a
//! secret or a URL with credentials) and a placeholder returned, so one pass reports everything.

use std::time::Duration;

use super::{NatsAuth, Secret};

/// Collects problems while producing placeholder values, so every variable is checked in one pass.
#[derive(Default)]
pub(super) struct Validator {
    pub(super) problems: Vec<String>,
}

impl Validator {
    pub(super) fn parse<T: Default>(
        &mut self,
        name: &str,
        value: Option<String>,
        default: &str,
        parse: impl Fn(&str) -> Option<T>,
        expected: &str,
    ) -> T {
        let text = non_empty(value).unwrap_or_else(|| default.to_owned());
        parse(&text).unwrap_or_else(|| {
            // Values are never quoted back: a URL may carry credentials.
            self.problems.push(format!("{name} must be {expected}"));
            T::default()
        })
    }

    pub(super) fn duration(
        &mut self,
        name: &str,
        value: Option<String>,
        default: &str,
    ) -> Duration {
        self.parse(
            name,
            value,
            default,
            |s| humantime::parse_duration(s).ok().filter(|d| !d.is_zero()),
            "a duration such as 10s, 5m or 30d",
        )
    }

    pub(super) fn required(&mut self, name: &str, value: Option<String>) -> String {
        non_empty(value).unwrap_or_else(|| {
            self.problems.push(format!("{name} is required"));
            String::new()
        })
    }

    pub(super) fn required_url(&mut self, name: &str, value: Option<String>) -> String {
        let text = self.required(name, value);
        if !text.is_empty() && parse_http_url(&text).is_none() {
            self.problems.push(format!("{name} must be an http(s) URL"));
        }
        text
    }

    /// A secret (`sk_`) or restricted (`rk_`) key; a publishable `pk_` key is the classic mistake and said so.
    pub(super) fn stripe_secret(&mut self, value: Option<String>) -> Secret {
        let text = self.required("STRIPE_SECRET", value);
        if !text.is_empty() && !SECRET_KEY_PREFIXES.iter().any(|p| text.starts_with(p)) {
            let hint = if text.starts_with("pk_") {
                " (this is a publishable key: the service needs the secret key, from the same page of the Stripe dashboard)"
            } else {
                ""
            };
            self.problems.push(format!(
                "STRIPE_SECRET must be a Stripe secret or restricted key (sk_test_, sk_live_, rk_test_ or rk_live_){hint}"
            ));
        }
        Secret::new(text)
    }

    pub(super) fn endpoint_secrets(&mut self, value: Option<String>) -> Vec<Secret> {
        let text = self.required("STRIPE_ENDPOINT_SECRET", value);
        let secrets: Vec<Secret> = text
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(Secret::new)
            .collect();
        if !text.is_empty() && secrets.is_empty() {
            self.problems
                .push("STRIPE_ENDPOINT_SECRET must hold at least one whsec_ secret".into());
        }
        // Positions, never values, name the culprits: any of them may be a real secret with a typo.
        let bad: Vec<String> = secrets
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.expose().starts_with("whsec_"))
            .map(|(i, _)| (i + 1).to_string())
            .collect();
        if !bad.is_empty() {
            self.problems.push(format!(
                "STRIPE_ENDPOINT_SECRET must hold webhook signing secrets starting with whsec_ (not so: value {} of {})",
                bad.join(", "),
                secrets.len()
            ));
        }
        secrets
    }

    pub(super) fn signing_secret(&mut self, value: Option<String>) -> Option<Secret> {
        use base64::Engine;
        let text = non_empty(value)?;
        let valid = text
            .strip_prefix("whsec_")
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .is_some_and(|key| key.len() >= 16);
        if !valid {
            self.problems.push(
                "CALLBACK_SIGNING_SECRET must be whsec_ followed by at least 16 bytes in base64"
                    .into(),
            );
        }
        Some(Secret::new(text))
    }

    pub(super) fn nats_auth(
        &mut self,
        creds: Option<String>,
        token: Option<String>,
        user: Option<String>,
        password: Option<String>,
    ) -> NatsAuth {
        match (
            non_empty(creds),
            non_empty(token),
            non_empty(user),
            non_empty(password),
        ) {
            (None, None, None, None) => NatsAuth::None,
            (Some(file), None, None, None) => NatsAuth::CredsFile(file),
            (None, Some(token), None, None) => NatsAuth::Token(Secret::new(token)),
            (None, None, Some(user), Some(password)) => {
                NatsAuth::UserPassword(user, Secret::new(password))
            }
            (None, None, Some(_), None) | (None, None, None, Some(_)) => {
                self.problems
                    .push("NATS_USER and NATS_PASSWORD must be set together".into());
                NatsAuth::None
            }
            _ => {
                self.problems.push(
                    "NATS_CREDS_FILE, NATS_TOKEN and NATS_USER/NATS_PASSWORD are alternatives: set one".into(),
                );
                NatsAuth::None
            }
        }
    }
}

/// What a key the service can call Stripe with starts with (live or test mode, secret or restricted).
const SECRET_KEY_PREFIXES: [&str; 4] = ["sk_test_", "sk_live_", "rk_test_", "rk_live_"];

pub(super) fn non_empty(value: Option<String>) -> Option<String> {
    value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

pub(super) fn parse_http_url(text: &str) -> Option<String> {
    let url = url::Url::parse(text).ok()?;
    matches!(url.scheme(), "http" | "https")
        .then(|| text.trim_end_matches('/').to_owned())
        .filter(|_| url.host().is_some())
}

/// Splits on commas, trims, and adds the default port 4222 where a URL names none.
pub(super) fn parse_nats_servers(text: &str) -> Option<Vec<String>> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            let with_scheme = if s.contains("://") {
                s.to_owned()
            } else {
                format!("nats://{s}")
            };
            let url = url::Url::parse(&with_scheme).ok()?;
            if !matches!(url.scheme(), "nats" | "tls" | "ws" | "wss") || url.host_str().is_none() {
                return None;
            }
            Some(match url.port() {
                Some(_) => with_scheme,
                None if matches!(url.scheme(), "nats" | "tls") => {
                    // Rebuild rather than mutate: `Url::set_port` refuses non-special schemes.
                    let auth = match (url.username(), url.password()) {
                        ("", _) => String::new(),
                        (u, Some(p)) => format!("{u}:{p}@"),
                        (u, None) => format!("{u}@"),
                    };
                    format!("{}://{auth}{}:4222", url.scheme(), url.host_str()?)
                }
                None => with_scheme,
            })
        })
        .collect::<Option<Vec<_>>>()
        .filter(|v| !v.is_empty())
}

pub(super) fn is_stream_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}
