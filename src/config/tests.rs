use secrecy::ExposeSecret;

use super::*;

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn minimal() -> Vec<(String, String)> {
    vars(&[
        ("STRIPE_SECRET", "sk_test_abc"),
        ("STRIPE_ENDPOINT_SECRET", "whsec_one"),
        (
            "STRIPE_SUCCESS_URL",
            "http://localhost:3000/payments/success",
        ),
        ("STRIPE_CANCEL_URL", "http://localhost:3000/payments/cancel"),
    ])
}

#[test]
fn defaults_match_the_contract() {
    let c = Config::from_vars(minimal()).unwrap();
    assert_eq!(c.port, 3000);
    assert_eq!(c.host.to_string(), "0.0.0.0");
    assert_eq!(*c.nats_servers, ["nats://localhost:4222"]);
    assert_eq!(c.stripe_api_base, "https://api.stripe.com");
    assert_eq!(c.stream_replicas, 1);
    assert_eq!(c.stripe_timeout, Duration::from_secs(10));
    assert_eq!(c.webhook_tolerance, Duration::from_secs(300));
    assert_eq!(c.events_retention, Duration::from_secs(30 * 86400));
}

#[test]
fn nats_servers_are_split_trimmed_and_given_the_default_port() {
    let mut v = minimal();
    v.extend(vars(&[(
        "NATS_SERVERS",
        " nats://nats , nats://a:5222,b ,tls://c",
    )]));
    let c = Config::from_vars(v).unwrap();
    assert_eq!(
        *c.nats_servers,
        [
            "nats://nats:4222",
            "nats://a:5222",
            "nats://b:4222",
            "tls://c:4222"
        ]
    );
}

#[test]
fn endpoint_secrets_rotate_on_commas() {
    let mut v = minimal();
    v.retain(|(k, _)| k != "STRIPE_ENDPOINT_SECRET");
    v.extend(vars(&[("STRIPE_ENDPOINT_SECRET", "whsec_old, whsec_new")]));
    let c = Config::from_vars(v).unwrap();
    let secrets: Vec<_> = c
        .stripe_endpoint_secrets
        .iter()
        .map(ExposeSecret::expose_secret)
        .collect();
    assert_eq!(secrets, vec!["whsec_old", "whsec_new"]);
}

#[test]
fn every_problem_is_named_at_once_and_no_secret_is_shown() {
    let v = vars(&[
        ("PORT", "http"),
        ("STRIPE_SECRET", ""),
        ("STRIPE_SUCCESS_URL", "not a url"),
        ("NATS_SERVERS", "nats://user:hunter2@"),
        ("STRIPE_API_BASE", "ftp://x"),
    ]);
    let err = Config::from_vars(v).unwrap_err().to_string();
    for name in [
        "PORT",
        "STRIPE_SECRET",
        "STRIPE_ENDPOINT_SECRET",
        "STRIPE_SUCCESS_URL",
        "STRIPE_CANCEL_URL",
        "NATS_SERVERS",
        "STRIPE_API_BASE",
    ] {
        assert!(err.contains(name), "{name} missing from: {err}");
    }
    assert!(!err.contains("hunter2"), "{err}");
}

#[test]
fn secrets_never_print() {
    let c = Config::from_vars(minimal()).unwrap();
    let printed = format!("{c:?}");
    assert!(!printed.contains("sk_test_abc"));
    assert!(!printed.contains("whsec_one"));
}

#[test]
fn durations_and_limits_are_validated() {
    let mut v = minimal();
    v.extend(vars(&[
        ("STRIPE_TIMEOUT", "soon"),
        ("HTTP_BODY_LIMIT", "12"),
        ("LOG_FORMAT", "xml"),
        ("NATS_STREAM_REPLICAS", "0"),
    ]));
    let err = Config::from_vars(v).unwrap_err().to_string();
    for name in [
        "STRIPE_TIMEOUT",
        "HTTP_BODY_LIMIT",
        "LOG_FORMAT",
        "NATS_STREAM_REPLICAS",
    ] {
        assert!(err.contains(name), "{name} missing from: {err}");
    }
}

#[test]
fn stripe_api_base_must_have_no_path() {
    let mut v = minimal();
    v.extend(vars(&[("STRIPE_API_BASE", "http://proxy.local/stripe")]));
    let err = Config::from_vars(v).unwrap_err().to_string();
    assert!(
        err.contains("STRIPE_API_BASE must be an http(s) URL without a path"),
        "{err}"
    );
    let mut v = minimal();
    v.extend(vars(&[("STRIPE_API_BASE", "http://127.0.0.1:12111/")]));
    assert_eq!(
        Config::from_vars(v).unwrap().stripe_api_base,
        "http://127.0.0.1:12111"
    );
}

#[test]
fn callback_settings() {
    let c = Config::from_vars(minimal()).unwrap();
    assert!(c.callbacks.signing_secret.is_none());
    assert!(!c.callbacks.allow_private);
    let minutes: Vec<u64> = c
        .callbacks
        .retry_schedule
        .iter()
        .map(|d| d.as_secs() / 60)
        .collect();
    assert_eq!(minutes, [1, 5, 15, 30, 60]);

    let mut v = minimal();
    v.extend(vars(&[
        (
            "CALLBACK_SIGNING_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
        ("CALLBACK_RETRY_SCHEDULE", "1s, 2s,3s"),
        ("CALLBACK_ALLOW_PRIVATE", "true"),
    ]));
    let c = Config::from_vars(v).unwrap();
    assert_eq!(
        c.callbacks.retry_schedule,
        [1, 2, 3].map(Duration::from_secs)
    );
    assert!(c.callbacks.allow_private);

    let mut v = minimal();
    v.extend(vars(&[
        ("CALLBACK_SIGNING_SECRET", "not-a-secret-value"),
        ("CALLBACK_RETRY_SCHEDULE", "soon"),
    ]));
    let err = Config::from_vars(v).unwrap_err().to_string();
    assert!(
        err.contains("CALLBACK_SIGNING_SECRET") && err.contains("CALLBACK_RETRY_SCHEDULE"),
        "{err}"
    );
    assert!(!err.contains("not-a-secret-value"));
}

#[test]
fn reconcile_settings() {
    let c = Config::from_vars(minimal()).unwrap();
    assert_eq!(c.reconcile.interval, Some(Duration::from_secs(600)));
    assert_eq!(c.reconcile.lookback, Duration::from_secs(72 * 3600));

    let mut v = minimal();
    v.extend(vars(&[
        ("RECONCILE_INTERVAL", "OFF"),
        ("RECONCILE_LOOKBACK", "7d"),
    ]));
    let c = Config::from_vars(v).unwrap();
    assert_eq!(c.reconcile.interval, None);
    assert_eq!(c.reconcile.lookback, Duration::from_secs(7 * 86400));

    let mut v = minimal();
    v.extend(vars(&[
        ("RECONCILE_INTERVAL", "sometimes"),
        ("RECONCILE_LOOKBACK", "0s"),
    ]));
    let err = Config::from_vars(v).unwrap_err().to_string();
    assert!(
        err.contains("RECONCILE_INTERVAL") && err.contains("RECONCILE_LOOKBACK"),
        "{err}"
    );
}

#[test]
fn stream_byte_limits_have_defaults_units_and_a_floor() {
    let c = Config::from_vars(minimal()).unwrap();
    assert_eq!(
        c.limits,
        StreamLimits {
            events: 2 << 30,
            payments: 512 << 20,
            callbacks: 128 << 20,
            kv: 256 << 20,
        }
    );
    let mut v = minimal();
    v.extend(vars(&[
        ("EVENTS_MAX_BYTES", "10GB"),
        ("PAYMENTS_MAX_BYTES", "2 GiB"),
        ("CALLBACKS_MAX_BYTES", "1048576"),
        ("KV_MAX_BYTES", "64mib"),
    ]));
    let c = Config::from_vars(v).unwrap();
    assert_eq!(c.limits.events, 10_000_000_000);
    assert_eq!(c.limits.payments, 2 << 30);
    assert_eq!(c.limits.callbacks, 1 << 20);
    assert_eq!(c.limits.kv, 64 << 20);

    let mut v = minimal();
    v.extend(vars(&[
        ("EVENTS_MAX_BYTES", "1000"),
        ("PAYMENTS_MAX_BYTES", "-5GiB"),
        ("CALLBACKS_MAX_BYTES", "9999999999TiB"),
        ("KV_MAX_BYTES", "1 furlong"),
    ]));
    let problems = Config::from_vars(v).unwrap_err().problems;
    for name in [
        "EVENTS_MAX_BYTES",
        "PAYMENTS_MAX_BYTES",
        "CALLBACKS_MAX_BYTES",
        "KV_MAX_BYTES",
    ] {
        assert!(
            problems.iter().any(|p| p.starts_with(name)),
            "{name} refused: {problems:?}"
        );
    }
}

/// `minimal()` with some variables replaced.
fn with(overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = minimal();
    v.retain(|(k, _)| !overrides.iter().any(|(name, _)| name == k));
    v.extend(vars(overrides));
    v
}

#[test]
fn http_limits_default_to_the_contract_and_are_validated() {
    let c = Config::from_vars(minimal()).unwrap();
    assert_eq!(c.http_header_timeout, Duration::from_secs(10));
    assert_eq!(c.http_body_timeout, Duration::from_secs(30));
    assert_eq!(c.http_max_connections, 10_000);

    let c = Config::from_vars(with(&[
        ("HTTP_HEADER_TIMEOUT", "2s"),
        ("HTTP_BODY_TIMEOUT", "1m"),
        ("HTTP_MAX_CONNECTIONS", "64"),
    ]))
    .unwrap();
    assert_eq!(c.http_header_timeout, Duration::from_secs(2));
    assert_eq!(c.http_body_timeout, Duration::from_secs(60));
    assert_eq!(c.http_max_connections, 64);

    let err = Config::from_vars(with(&[
        ("HTTP_HEADER_TIMEOUT", "0s"),
        ("HTTP_BODY_TIMEOUT", "forever"),
        ("HTTP_MAX_CONNECTIONS", "0"),
    ]))
    .unwrap_err()
    .to_string();
    for name in [
        "HTTP_HEADER_TIMEOUT",
        "HTTP_BODY_TIMEOUT",
        "HTTP_MAX_CONNECTIONS",
    ] {
        assert!(err.contains(name), "{name} missing from: {err}");
    }
}

#[test]
fn stripe_keys_of_every_mode_and_kind_are_accepted() {
    for key in ["sk_test_a", "sk_live_a", "rk_test_a", "rk_live_a"] {
        let c = Config::from_vars(with(&[("STRIPE_SECRET", key)])).unwrap();
        assert_eq!(c.stripe_secret.expose_secret(), key);
    }
}

#[test]
fn a_publishable_key_and_secrets_without_whsec_are_refused_together_without_values() {
    let err = Config::from_vars(with(&[
        ("STRIPE_SECRET", "pk_live_publishable_value_51H"),
        (
            "STRIPE_ENDPOINT_SECRET",
            "whsec_good_one, sk_test_pasted_here_by_mistake",
        ),
    ]))
    .unwrap_err();
    assert_eq!(err.problems.len(), 2, "{err}");
    let text = err.to_string();
    assert!(
        text.contains("STRIPE_SECRET") && text.contains("publishable key"),
        "{text}"
    );
    assert!(
        text.contains("STRIPE_ENDPOINT_SECRET") && text.contains("value 2 of 2"),
        "{text}"
    );
    for value in [
        "pk_live_publishable_value_51H",
        "whsec_good_one",
        "sk_test_pasted_here_by_mistake",
    ] {
        assert!(!text.contains(value), "a value was printed: {text}");
    }

    // Neither a secret-looking value nor an arbitrary one: refused, without the "publishable" hint.
    let text = Config::from_vars(with(&[("STRIPE_SECRET", "sk_abc")]))
        .unwrap_err()
        .to_string();
    assert!(
        text.contains("STRIPE_SECRET") && !text.contains("publishable"),
        "{text}"
    );
}
