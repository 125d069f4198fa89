//! The checks a single variable's parser cannot make: required values, the kind of Stripe key or secret (with a
//! message that says what is wrong, never the value), and rules across variables. Each problem is returned with
//! the variable it names, so [`super::load`] reports every one at once.

use base64::Engine;
use secrecy::{ExposeSecret, SecretString};

use super::Config;

/// What a key the service can call Stripe with starts with (live or test mode, secret or restricted).
const SECRET_KEY_PREFIXES: [&str; 4] = ["sk_test_", "sk_live_", "rk_test_", "rk_live_"];

impl Config {
    /// Every problem, each with the variable it names first.
    pub(super) fn problems(&self) -> Vec<(&'static str, String)> {
        let mut problems = Vec::new();
        let mut required = |name: &'static str, missing: bool| {
            if missing {
                problems.push((name, format!("{name} is required")));
            }
        };
        required(
            "STRIPE_SECRET",
            self.stripe_secret.expose_secret().is_empty(),
        );
        required(
            "STRIPE_ENDPOINT_SECRET",
            self.stripe_endpoint_secrets.is_empty(),
        );
        required("STRIPE_SUCCESS_URL", self.stripe_success_url.is_empty());
        required("STRIPE_CANCEL_URL", self.stripe_cancel_url.is_empty());
        problems.extend(stripe_secret(&self.stripe_secret).map(|p| ("STRIPE_SECRET", p)));
        problems.extend(
            endpoint_secrets(&self.stripe_endpoint_secrets).map(|p| ("STRIPE_ENDPOINT_SECRET", p)),
        );
        problems.extend(
            self.callback_secret()
                .map(|p| ("CALLBACK_SIGNING_SECRET", p)),
        );
        problems.extend(self.nats_auth_problem());
        if self.dedup_window > self.events_retention {
            problems.push((
                "DEDUP_WINDOW",
                "DEDUP_WINDOW must not be longer than EVENTS_RETENTION".into(),
            ));
        }
        problems
    }

    fn callback_secret(&self) -> Option<String> {
        let secret = self.callbacks.signing_secret.as_ref()?.expose_secret();
        let valid = secret
            .strip_prefix("whsec_")
            .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
            .is_some_and(|key| key.len() >= 16);
        (!valid).then(|| {
            "CALLBACK_SIGNING_SECRET must be whsec_ followed by at least 16 bytes in base64".into()
        })
    }

    fn nats_auth_problem(&self) -> Option<(&'static str, String)> {
        let set = [
            self.nats_creds_file.is_some(),
            self.nats_token.is_some(),
            self.nats_user.is_some() || self.nats_password.is_some(),
        ];
        if set.iter().filter(|set| **set).count() > 1 {
            return Some((
                "NATS_CREDS_FILE",
                "NATS_CREDS_FILE, NATS_TOKEN and NATS_USER/NATS_PASSWORD are alternatives: set one"
                    .into(),
            ));
        }
        (self.nats_user.is_some() != self.nats_password.is_some()).then(|| {
            (
                "NATS_USER",
                "NATS_USER and NATS_PASSWORD must be set together".into(),
            )
        })
    }
}

/// A secret (`sk_`) or restricted (`rk_`) key; a publishable `pk_` key is the classic mistake and said so.
fn stripe_secret(secret: &SecretString) -> Option<String> {
    let key = secret.expose_secret();
    if key.is_empty() || SECRET_KEY_PREFIXES.iter().any(|p| key.starts_with(p)) {
        return None;
    }
    let hint = if key.starts_with("pk_") {
        " (this is a publishable key: the service needs the secret key, from the same page of the Stripe dashboard)"
    } else {
        ""
    };
    Some(format!(
        "STRIPE_SECRET must be a Stripe secret or restricted key (sk_test_, sk_live_, rk_test_ or rk_live_){hint}"
    ))
}

/// Positions, never values, name the culprits: any of them may be a real secret with a typo.
fn endpoint_secrets(secrets: &[SecretString]) -> Option<String> {
    let bad: Vec<String> = secrets
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.expose_secret().starts_with("whsec_"))
        .map(|(i, _)| (i + 1).to_string())
        .collect();
    (!bad.is_empty()).then(|| {
        format!(
            "STRIPE_ENDPOINT_SECRET must hold webhook signing secrets starting with whsec_ (not so: value {} of {})",
            bad.join(", "),
            secrets.len()
        )
    })
}
