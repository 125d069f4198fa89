//! The SSRF guard: a callback may only reach public addresses. Checked when a session is created, and again at
//! send time inside the callback client's own DNS resolver (`client`), so the address connected to is the
//! address that was checked and a name cannot be re-pointed at a private address in between.

use std::{
    net::{IpAddr, SocketAddr},
    time::Duration,
};

use url::{Host, Url};

/// Why an address is refused, or `None` when it is public (the tables are in `special`).
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    super::special::special(ip)
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GuardError {
    #[error("callback.url must be http(s) with a host")]
    BadUrl,
    #[error("callback.url host {0} cannot be resolved")]
    Unresolvable(String),
    #[error("callback.url host {host} did not resolve within {timeout:?}")]
    DnsTimeout { host: String, timeout: Duration },
    #[error("callback.url resolves to a {reason} address ({ip}), which is refused (CALLBACK_ALLOW_PRIVATE=true allows it)")]
    Forbidden { ip: IpAddr, reason: &'static str },
}

/// Resolves the URL's host and returns its addresses, refusing any non-public one unless `allow_private`.
pub async fn resolve(
    url: &Url,
    allow_private: bool,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, GuardError> {
    let port = url.port_or_known_default().ok_or(GuardError::BadUrl)?;
    let addrs = match url.host().ok_or(GuardError::BadUrl)? {
        Host::Ipv4(ip) => vec![SocketAddr::new(ip.into(), port)],
        Host::Ipv6(ip) => vec![SocketAddr::new(ip.into(), port)],
        Host::Domain(name) => lookup(name, port, timeout).await?,
    };
    check(&addrs, allow_private)?;
    Ok(addrs)
}

/// The addresses of `host`, within `timeout`: a look-up that hangs must not hold an attempt (or a create) forever.
pub async fn lookup(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<Vec<SocketAddr>, GuardError> {
    let addrs: Vec<SocketAddr> =
        tokio::time::timeout(timeout, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| GuardError::DnsTimeout {
                host: host.to_owned(),
                timeout,
            })?
            .map_err(|_| GuardError::Unresolvable(host.to_owned()))?
            .collect();
    if addrs.is_empty() {
        return Err(GuardError::Unresolvable(host.to_owned()));
    }
    Ok(addrs)
}

/// Every address must be public: a name with one private address could be pinned to it.
pub fn check(addrs: &[SocketAddr], allow_private: bool) -> Result<(), GuardError> {
    if allow_private {
        return Ok(());
    }
    match addrs
        .iter()
        .find_map(|a| forbidden(a.ip()).map(|reason| (a.ip(), reason)))
    {
        Some((ip, reason)) => Err(GuardError::Forbidden { ip, reason }),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TIMEOUT: Duration = Duration::from_secs(10);

    #[tokio::test]
    async fn names_are_resolved_before_judging() {
        let url = Url::parse("http://localhost:8080/hook").unwrap();
        assert!(matches!(
            resolve(&url, false, TIMEOUT).await,
            Err(GuardError::Forbidden {
                reason: "loopback",
                ..
            })
        ));
        assert!(resolve(&url, true, TIMEOUT).await.is_ok());
        let metadata = Url::parse("http://169.254.169.254/latest/meta-data").unwrap();
        let err = resolve(&metadata, false, TIMEOUT).await.unwrap_err();
        assert!(
            err.to_string().contains("link-local or cloud metadata"),
            "{err}"
        );
        for literal in [
            "http://[::1]:9/",
            "http://[::7f00:1]/",
            "http://[64:ff9b::a00:1]/",
            "http://[2002:7f00:1::1]/",
        ] {
            let url = Url::parse(literal).unwrap();
            assert!(resolve(&url, false, TIMEOUT).await.is_err(), "{literal}");
        }
        let unknown = Url::parse("http://no-such-host.invalid/").unwrap();
        assert!(matches!(
            resolve(&unknown, false, TIMEOUT).await,
            Err(GuardError::Unresolvable(_) | GuardError::DnsTimeout { .. })
        ));
    }
}
