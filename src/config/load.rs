//! Reading [`Config`] from variables: values trimmed, an empty value counted as unset, then one `envy` pass.
//! `envy` stops at the first value that does not parse and quotes it in its message; so when the pass fails,
//! each variable is read again alone (every other setting at its default) to find all that do not parse, and
//! each is named with the format it expects. Validation ([`super::validate`]) then adds the rest: required
//! values, Stripe key kinds, rules across variables. No message carries a value.

use std::collections::BTreeSet;

use super::Config;

/// Start-up refused: lists every offending variable (never a value).
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration:\n  - {}", .problems.join("\n  - "))]
pub struct ConfigError {
    pub problems: Vec<String>,
}

impl Config {
    /// Reads the process environment. The binary's `main` has already merged `.env` into it, once.
    pub fn from_env() -> Result<Self, ConfigError> {
        // Lossy: a value that is not UTF-8 reaches the parser (and is refused there, by name) instead of panicking.
        Self::from_vars(std::env::vars_os().map(|(name, value)| {
            (
                name.to_string_lossy().into_owned(),
                value.to_string_lossy().into_owned(),
            )
        }))
    }

    /// Builds the configuration from explicit variables (tests use this; nothing global is read).
    pub fn from_vars(
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let vars: Vec<(String, String)> = vars
            .into_iter()
            .map(|(name, value)| (name, value.trim().to_owned()))
            .filter(|(_, value)| !value.is_empty())
            .collect();
        let (config, unparsed) = match envy::from_iter::<_, Config>(vars.clone()) {
            Ok(config) => (config, Vec::new()),
            Err(_) => read_around_unparsed(vars),
        };
        let named: BTreeSet<&str> = unparsed.iter().map(|(name, _)| *name).collect();
        let mut problems: Vec<String> = unparsed
            .iter()
            .map(|(name, expected)| format!("{name} must be {expected}"))
            .collect();
        // A variable refused above is not reported again (as missing, say).
        problems.extend(
            config
                .problems()
                .into_iter()
                .filter(|(name, _)| !named.contains(name))
                .map(|(_, problem)| problem),
        );
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError { problems })
        }
    }
}

/// The configuration without the variables that do not parse, and those variables with what they should be.
fn read_around_unparsed(
    vars: Vec<(String, String)>,
) -> (Config, Vec<(&'static str, &'static str)>) {
    let (bad, good): (Vec<_>, Vec<_>) = vars
        .into_iter()
        .partition(|var| envy::from_iter::<_, Config>([var.clone()]).is_err());
    let mut unparsed: Vec<_> = bad.iter().map(|(name, _)| expected(name)).collect();
    let config = envy::from_iter(good).unwrap_or_else(|_| {
        // Every variable parses alone but not together: the same setting is named twice, in different case.
        unparsed.push(("a variable", "set once (names are not case-sensitive)"));
        Config::default()
    });
    (config, unparsed)
}

/// A variable's canonical name and the format it expects, for the message naming it.
fn expected(name: &str) -> (&'static str, &'static str) {
    const DURATION: &str = "a duration such as 10s, 1m30s, 5m or 30d (not 0)";
    const SIZE: &str = "a size of at least 1MiB, such as 512MiB, 4GiB or 1073741824";
    const URL: &str = "an http(s) URL";
    let name = name.to_ascii_uppercase();
    let known: &[(&'static str, &'static str)] = &[
        ("HOST", "an IP address"),
        ("PORT", "a port number (0-65535)"),
        ("NATS_SERVERS", "comma-separated nats:// (or tls://) URLs"),
        ("NATS_STREAM_REPLICAS", "a number of replicas from 1 to 5"),
        ("STRIPE_ENDPOINT_SECRET", "comma-separated whsec_ secrets"),
        ("STRIPE_SUCCESS_URL", URL),
        ("STRIPE_CANCEL_URL", URL),
        ("STRIPE_API_BASE", "an http(s) URL without a path"),
        ("STRIPE_TIMEOUT", DURATION),
        ("WEBHOOK_TOLERANCE", DURATION),
        ("HTTP_BODY_LIMIT", "a number of bytes (at least 1024)"),
        ("HTTP_HEADER_TIMEOUT", DURATION),
        ("HTTP_BODY_TIMEOUT", DURATION),
        (
            "HTTP_MAX_CONNECTIONS",
            "a number of connections from 1 to 1000000",
        ),
        ("JETSTREAM_TIMEOUT", DURATION),
        ("EVENTS_STREAM", "a stream name (letters, digits, - and _)"),
        ("EVENTS_RETENTION", DURATION),
        ("DEDUP_WINDOW", DURATION),
        ("PIPELINE_ACK_WAIT", DURATION),
        ("PIPELINE_RETRY_MAX", DURATION),
        ("SHUTDOWN_GRACE", DURATION),
        ("LOG_FORMAT", "`text` or `json`"),
        ("EVENTS_MAX_BYTES", SIZE),
        ("PAYMENTS_MAX_BYTES", SIZE),
        ("CALLBACKS_MAX_BYTES", SIZE),
        ("KV_MAX_BYTES", SIZE),
        (
            "CALLBACK_RETRY_SCHEDULE",
            "comma-separated durations such as 1m,5m,15m (at most 20)",
        ),
        ("CALLBACK_ALLOW_PRIVATE", "true or false"),
        ("CALLBACK_TIMEOUT", DURATION),
        ("CALLBACK_PROXY", URL),
        ("RECONCILE_INTERVAL", "a duration such as 10m, or off"),
        ("RECONCILE_LOOKBACK", DURATION),
    ];
    known
        .iter()
        .find(|(known, _)| *known == name)
        .copied()
        // Only a field of `Config` can fail to parse, and each has its line above (a unit test checks).
        .unwrap_or(("a variable", "valid"))
}

#[cfg(test)]
mod tests;
