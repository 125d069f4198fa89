//! The parsers of single variables, as serde `deserialize_with` functions: each decides alone whether its
//! variable's text is acceptable (format and range). Their errors never carry the value (it may be a secret or a
//! URL with credentials) and are not shown: [`super::load`] names the variable with the format it expects.
//! Rules that involve a second variable, or a message about the value's kind, are in [`super::validate`].

use std::{ops::RangeInclusive, str::FromStr, time::Duration};

use secrecy::SecretString;
use serde::{Deserialize, Deserializer};

use super::{LogFormat, NatsServers};

fn refused<E: serde::de::Error>() -> E {
    E::custom("refused")
}

/// A `FromStr` value within `range`.
fn number_in<'de, D, T>(d: D, range: RangeInclusive<T>) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: FromStr + PartialOrd,
{
    String::deserialize(d)?
        .parse()
        .ok()
        .filter(|n| range.contains(n))
        .ok_or_else(refused)
}

pub(super) fn replicas<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    number_in(d, 1..=5)
}

pub(super) fn body_limit<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    number_in(d, 1024..=usize::MAX)
}

pub(super) fn max_connections<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
    number_in(d, 1..=1_000_000)
}

/// A non-zero duration in humantime's forms: `500ms`, `10s`, `1m30s`, `1h 30m`, `30d`.
pub(super) fn duration<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let duration: Duration = humantime_serde::deserialize(d)?;
    (!duration.is_zero())
        .then_some(duration)
        .ok_or_else(refused)
}

/// A duration, or `off` (any case) for none.
pub(super) fn interval<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
    let text = String::deserialize(d)?;
    if text.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    duration(serde::de::value::StrDeserializer::<D::Error>::new(&text)).map(Some)
}

/// Comma-separated durations, 1 to 20 of them.
pub(super) fn retry_schedule<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Duration>, D::Error> {
    String::deserialize(d)?
        .split(',')
        .map(|item| humantime::parse_duration(item.trim()).ok())
        .collect::<Option<Vec<_>>>()
        .filter(|schedule| (1..=20).contains(&schedule.len()))
        .ok_or_else(refused)
}

/// `true`, `false`, `1`, `0`, `yes` or `no`, in any case.
pub(super) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match String::deserialize(d)?.to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" => Ok(true),
        "false" | "0" | "no" => Ok(false),
        _ => Err(refused()),
    }
}

pub(super) fn log_format<'de, D: Deserializer<'de>>(d: D) -> Result<LogFormat, D::Error> {
    match String::deserialize(d)?.to_ascii_lowercase().as_str() {
        "text" => Ok(LogFormat::Text),
        "json" => Ok(LogFormat::Json),
        _ => Err(refused()),
    }
}

/// A JetStream stream name: letters, digits, `-` and `_`.
pub(super) fn stream_name<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let name = String::deserialize(d)?;
    let valid = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    (valid && !name.is_empty())
        .then_some(name)
        .ok_or_else(refused)
}

/// An http(s) URL with a host, without its trailing `/`.
pub(super) fn http_url<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    checked_http_url(&text)
        .map(|_| text.trim_end_matches('/').to_owned())
        .ok_or_else(refused)
}

/// An http(s) URL without a path (`https://api.stripe.com`, `http://127.0.0.1:12111/`).
pub(super) fn api_base<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = String::deserialize(d)?;
    checked_http_url(&text)
        .filter(|url| url.path() == "/")
        .map(|_| text.trim_end_matches('/').to_owned())
        .ok_or_else(refused)
}

/// An http(s) URL kept as a secret: it may hold credentials.
pub(super) fn proxy_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<SecretString>, D::Error> {
    let text = String::deserialize(d)?;
    checked_http_url(&text).ok_or_else(refused)?;
    Ok(Some(text.into()))
}

fn checked_http_url(text: &str) -> Option<url::Url> {
    url::Url::parse(text)
        .ok()
        .filter(|url| matches!(url.scheme(), "http" | "https") && url.host().is_some())
}

/// Comma-separated secrets, trimmed, empty items dropped; at least one.
pub(super) fn secret_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<SecretString>, D::Error> {
    let secrets: Vec<SecretString> = String::deserialize(d)?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(SecretString::from)
        .collect();
    (!secrets.is_empty()).then_some(secrets).ok_or_else(refused)
}

/// Comma-separated NATS URLs (spaces around commas ignored); the default port 4222 added where a `nats://` or
/// `tls://` URL names none, and `nats://` where none is written.
pub(super) fn nats_servers<'de, D: Deserializer<'de>>(d: D) -> Result<NatsServers, D::Error> {
    String::deserialize(d)?
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(nats_server)
        .collect::<Option<Vec<_>>>()
        .filter(|servers| !servers.is_empty())
        .map(NatsServers)
        .ok_or_else(refused)
}

fn nats_server(text: &str) -> Option<String> {
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("nats://{text}")
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
}
