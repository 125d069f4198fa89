//! The SSRF guard: a callback may only reach public addresses. Checked when a session is created and again,
//! after DNS resolution, right before each attempt; the attempt then connects to the address that was checked,
//! so a name cannot be re-pointed at a private address between the check and the connection.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use url::{Host, Url};

/// Why an address is refused, or `None` when it is public.
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => forbidden_v4(v4),
            None => forbidden_v6(v6),
        },
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    Some(match () {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_private() => "private",
        // 169.254.0.0/16 holds the cloud metadata endpoints (169.254.169.254).
        _ if ip.is_link_local() => "link-local or cloud metadata",
        _ if a == 100 && (64..=127).contains(&b) => "carrier-grade NAT (may hold cloud metadata)",
        _ if ip.is_unspecified() || a == 0 => "unspecified",
        _ if ip.is_broadcast() || ip.is_multicast() => "broadcast or multicast",
        _ if a == 192 && b == 0 && ip.octets()[2] == 0 => "IETF protocol assignments",
        _ if a == 198 && (b == 18 || b == 19) => "benchmarking",
        _ if a >= 240 => "reserved",
        _ => return None,
    })
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    Some(match () {
        _ if ip.is_loopback() => "loopback",
        _ if ip.is_unspecified() => "unspecified",
        _ if ip.is_multicast() => "multicast",
        _ if first & 0xfe00 == 0xfc00 => "unique local (private)",
        _ if first & 0xffc0 == 0xfe80 => "link-local",
        // NAT64 can reach any IPv4 address, private ones included.
        _ if first == 0x0064 && ip.segments()[1] == 0xff9b => "NAT64",
        _ => return None,
    })
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum GuardError {
    #[error("callback.url must be http(s) with a host")]
    BadUrl,
    #[error("callback.url host {0} cannot be resolved")]
    Unresolvable(String),
    #[error("callback.url resolves to a {reason} address ({ip}), which is refused (CALLBACK_ALLOW_PRIVATE=true allows it)")]
    Forbidden { ip: IpAddr, reason: &'static str },
}

/// Resolves the URL's host and returns its addresses, refusing any non-public one unless `allow_private`.
pub async fn resolve(url: &Url, allow_private: bool) -> Result<Vec<SocketAddr>, GuardError> {
    let port = url.port_or_known_default().ok_or(GuardError::BadUrl)?;
    let addrs: Vec<SocketAddr> = match url.host().ok_or(GuardError::BadUrl)? {
        Host::Ipv4(ip) => vec![SocketAddr::new(ip.into(), port)],
        Host::Ipv6(ip) => vec![SocketAddr::new(ip.into(), port)],
        Host::Domain(name) => tokio::net::lookup_host((name, port))
            .await
            .map_err(|_| GuardError::Unresolvable(name.to_owned()))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(GuardError::Unresolvable(
            url.host_str().unwrap_or_default().to_owned(),
        ));
    }
    if !allow_private {
        // Every address must be public: a name with one private address could be pinned to it.
        if let Some((ip, reason)) = addrs
            .iter()
            .find_map(|a| forbidden(a.ip()).map(|r| (a.ip(), r)))
        {
            return Err(GuardError::Forbidden { ip, reason });
        }
    }
    Ok(addrs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_ranges_are_refused() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            assert!(
                forbidden(ip.parse().unwrap()).is_some(),
                "{ip} should be refused"
            );
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700:4700::1111",
            "100.128.0.1",
            "172.32.0.1",
        ] {
            assert_eq!(forbidden(ip.parse().unwrap()), None, "{ip} is public");
        }
    }

    #[tokio::test]
    async fn names_are_resolved_before_judging() {
        let url = Url::parse("http://localhost:8080/hook").unwrap();
        assert!(matches!(
            resolve(&url, false).await,
            Err(GuardError::Forbidden {
                reason: "loopback",
                ..
            })
        ));
        assert!(resolve(&url, true).await.is_ok());
        let metadata = Url::parse("http://169.254.169.254/latest/meta-data").unwrap();
        let err = resolve(&metadata, false).await.unwrap_err();
        assert!(
            err.to_string().contains("link-local or cloud metadata"),
            "{err}"
        );
        let literal = Url::parse("http://[::1]:9/").unwrap();
        assert!(resolve(&literal, false).await.is_err());
    }
}
