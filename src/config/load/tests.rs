//! Loading as an operator meets it: every mistyped variable named at once with the format it expects, humantime
//! durations, empty meaning unset, and no secret in `Debug` or in an error.

use std::time::Duration;

use secrecy::ExposeSecret;

use super::super::{Config, NatsAuth};

fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The required variables, valid, with `overrides` replacing or adding some.
fn with(overrides: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut v = vars(&[
        ("STRIPE_SECRET", "sk_test_abc"),
        ("STRIPE_ENDPOINT_SECRET", "whsec_one"),
        ("STRIPE_SUCCESS_URL", "http://localhost:3000/ok"),
        ("STRIPE_CANCEL_URL", "http://localhost:3000/cancel"),
    ]);
    v.retain(|(k, _)| !overrides.iter().any(|(name, _)| name == k));
    v.extend(vars(overrides));
    v
}

/// Every variable whose value has a format, with a value that is not of it.
const MISTYPED: &[(&str, &str)] = &[
    ("HOST", "localhost:80"),
    ("PORT", "65536"),
    ("NATS_SERVERS", "http://x"),
    ("NATS_STREAM_REPLICAS", "6"),
    ("STRIPE_ENDPOINT_SECRET", " , "),
    ("STRIPE_SUCCESS_URL", "/relative"),
    ("STRIPE_CANCEL_URL", "mailto:a@b"),
    ("STRIPE_API_BASE", "https://api.stripe.com/v1"),
    ("STRIPE_TIMEOUT", "7"),
    ("WEBHOOK_TOLERANCE", "5 furlongs"),
    ("HTTP_BODY_LIMIT", "1023"),
    ("HTTP_HEADER_TIMEOUT", "0h"),
    ("HTTP_BODY_TIMEOUT", "-1s"),
    ("HTTP_MAX_CONNECTIONS", "1000001"),
    ("JETSTREAM_TIMEOUT", "soon"),
    ("EVENTS_STREAM", "a.b"),
    ("EVENTS_RETENTION", "forever"),
    ("DEDUP_WINDOW", "4 days ago"),
    ("PIPELINE_ACK_WAIT", "00"),
    ("PIPELINE_RETRY_MAX", "5 m s"),
    ("SHUTDOWN_GRACE", "25"),
    ("LOG_FORMAT", "yaml"),
    ("EVENTS_MAX_BYTES", "1KiB"),
    ("PAYMENTS_MAX_BYTES", "lots"),
    ("CALLBACKS_MAX_BYTES", "0B"),
    ("KV_MAX_BYTES", "1.5GiB"),
    ("CALLBACK_RETRY_SCHEDULE", "1m,,5m"),
    ("CALLBACK_ALLOW_PRIVATE", "maybe"),
    ("CALLBACK_TIMEOUT", "1y2"),
    ("CALLBACK_PROXY", "socks5://user:proxy-pa55@p"),
    ("RECONCILE_INTERVAL", "never"),
    ("RECONCILE_LOOKBACK", "0ms"),
];

#[test]
fn every_mistyped_variable_is_named_at_once_with_the_format_it_expects() {
    let problems = Config::from_vars(with(MISTYPED)).unwrap_err().problems;
    for (name, value) in MISTYPED {
        let problem = problems
            .iter()
            .find(|p| p.starts_with(&format!("{name} must be ")))
            .unwrap_or_else(|| panic!("{name} not named: {problems:#?}"));
        assert!(
            !problem.ends_with(" valid"),
            "no format for {name}: {problem}"
        );
        assert!(!problem.contains(value.trim()), "value quoted: {problem}");
    }
    assert_eq!(problems.len(), MISTYPED.len(), "{problems:#?}");
}

#[test]
fn a_refused_required_variable_is_not_also_reported_missing() {
    let problems = Config::from_vars(with(&[("STRIPE_SUCCESS_URL", "nope")]))
        .unwrap_err()
        .problems;
    assert_eq!(problems, ["STRIPE_SUCCESS_URL must be an http(s) URL"]);
}

#[test]
fn durations_take_humantime_forms() {
    let c = Config::from_vars(with(&[
        ("STRIPE_TIMEOUT", "1m30s"),
        ("WEBHOOK_TOLERANCE", "1h 30m"),
        ("JETSTREAM_TIMEOUT", "500ms"),
        ("EVENTS_RETENTION", "2weeks"),
        ("DEDUP_WINDOW", "4days"),
        ("CALLBACK_RETRY_SCHEDULE", "90s, 1m30s,2h"),
        ("RECONCILE_INTERVAL", "1h15m"),
    ]))
    .unwrap();
    assert_eq!(c.stripe_timeout, Duration::from_secs(90));
    assert_eq!(c.webhook_tolerance, Duration::from_secs(5400));
    assert_eq!(c.jetstream_timeout, Duration::from_millis(500));
    assert_eq!(c.events_retention, Duration::from_secs(14 * 86_400));
    assert_eq!(c.dedup_window, Duration::from_secs(4 * 86_400));
    assert_eq!(
        c.callbacks.retry_schedule,
        [90, 90, 7200].map(Duration::from_secs)
    );
    assert_eq!(c.reconcile.interval, Some(Duration::from_secs(4500)));
}

#[test]
fn empty_or_blank_values_mean_unset_and_values_are_trimmed() {
    let c = Config::from_vars(with(&[
        ("PORT", ""),
        ("LOG_FORMAT", "  "),
        ("STRIPE_TIMEOUT", " 3s "),
    ]))
    .unwrap();
    assert_eq!(c.port, 3000);
    assert_eq!(c.stripe_timeout, Duration::from_secs(3));
    let problems = Config::from_vars(with(&[("STRIPE_SECRET", " ")]))
        .unwrap_err()
        .problems;
    assert_eq!(problems, ["STRIPE_SECRET is required"]);
}

#[test]
fn a_dedup_window_longer_than_retention_is_refused() {
    let problems = Config::from_vars(with(&[("EVENTS_RETENTION", "1d"), ("DEDUP_WINDOW", "2d")]))
        .unwrap_err()
        .problems;
    assert_eq!(
        problems,
        ["DEDUP_WINDOW must not be longer than EVENTS_RETENTION"]
    );
}

#[test]
fn nats_authentication_is_one_alternative() {
    let c = Config::from_vars(with(&[])).unwrap();
    assert!(matches!(c.nats_auth(), NatsAuth::None));
    let c = Config::from_vars(with(&[("NATS_USER", "u"), ("NATS_PASSWORD", "p")])).unwrap();
    assert!(matches!(c.nats_auth(), NatsAuth::UserPassword("u", p) if p.expose_secret() == "p"));
    let c = Config::from_vars(with(&[("NATS_CREDS_FILE", "/run/nats.creds")])).unwrap();
    assert!(matches!(
        c.nats_auth(),
        NatsAuth::CredsFile("/run/nats.creds")
    ));

    let err = Config::from_vars(with(&[("NATS_TOKEN", "t0ken"), ("NATS_USER", "u")])).unwrap_err();
    assert_eq!(err.problems.len(), 1, "{err}");
    assert!(err.problems[0].contains("alternatives"), "{err}");
    let err = Config::from_vars(with(&[("NATS_PASSWORD", "pa55")])).unwrap_err();
    assert_eq!(
        err.problems,
        ["NATS_USER and NATS_PASSWORD must be set together"]
    );
    assert!(!err.to_string().contains("pa55"));
}

#[test]
fn no_secret_reaches_debug_output() {
    let secrets = [
        ("STRIPE_SECRET", "sk_live_debug_secret"),
        ("STRIPE_ENDPOINT_SECRET", "whsec_debug_one,whsec_debug_two"),
        (
            "NATS_SERVERS",
            "nats://nuser:nats-pa55@host,tls://tok3n@other:4443",
        ),
        ("NATS_USER", "nuser"),
        ("NATS_PASSWORD", "nats-password-value"),
        (
            "CALLBACK_SIGNING_SECRET",
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        ),
        ("CALLBACK_PROXY", "http://puser:proxy-pa55@proxy:3128"),
    ];
    let c = Config::from_vars(with(&secrets)).unwrap();
    let printed = format!("{c:?} {c:#?}");
    for needle in [
        "sk_live_debug_secret",
        "whsec_debug",
        "nats-pa55",
        "tok3n",
        "nats-password-value",
        "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        "proxy-pa55",
    ] {
        assert!(!printed.contains(needle), "{needle} printed: {printed}");
    }
    // The hosts still show: the output stays useful.
    assert!(
        printed.contains("host:4222") && printed.contains("other:4443"),
        "{printed}"
    );
    assert!(!printed.contains("tok3n"), "{printed}");

    let c = Config::from_vars(with(&[("NATS_TOKEN", "nats-token-value")])).unwrap();
    assert!(!format!("{c:?}").contains("nats-token-value"));
}
