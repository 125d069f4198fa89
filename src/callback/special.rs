//! Which addresses a callback may never reach: the IANA IPv4 and IPv6 Special-Purpose Address Registries in full
//! (whether or not an entry is marked globally reachable: none of them is a callback receiver), multicast, the
//! deprecated IPv6 forms that are not in the registry any more (site-local, IPv4-compatible), and everything
//! outside 2000::/3, IPv6's only global unicast space. IPv6 forms that carry an IPv4 address (IPv4-mapped, NAT64
//! `64:ff9b::/96`, 6to4 `2002::/16`) are judged by the IPv4 address they lead to.
//!
//! The ranges are `ipnet` networks built at compile time; the registry is small and changes rarely, so a table
//! here (checked entry by entry in the tests) is easier to review than a generated one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{Ipv4Net, Ipv6Net};

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8) -> Ipv4Net {
    Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)
}

const fn v6(s: [u16; 8], len: u8) -> Ipv6Net {
    Ipv6Net::new_assert(
        Ipv6Addr::new(s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]),
        len,
    )
}

/// IPv4: the registry (RFC 6890 and its updates), multicast and broadcast; the first match gives the reason.
const V4: &[(Ipv4Net, &str)] = &[
    (v4(0, 0, 0, 0, 8), "unspecified (\"this network\")"),
    (v4(10, 0, 0, 0, 8), "private"),
    (
        v4(100, 64, 0, 0, 10),
        "carrier-grade NAT (may hold cloud metadata)",
    ),
    (v4(127, 0, 0, 0, 8), "loopback"),
    (v4(169, 254, 0, 0, 16), "link-local or cloud metadata"),
    (v4(172, 16, 0, 0, 12), "private"),
    (v4(192, 0, 0, 0, 24), "IETF protocol assignments"),
    (v4(192, 0, 2, 0, 24), "documentation"),
    (v4(192, 31, 196, 0, 24), "AS112"),
    (v4(192, 52, 193, 0, 24), "AMT"),
    (v4(192, 88, 99, 0, 24), "6to4 relay anycast (deprecated)"),
    (v4(192, 168, 0, 0, 16), "private"),
    (v4(192, 175, 48, 0, 24), "AS112 direct delegation"),
    (v4(198, 18, 0, 0, 15), "benchmarking"),
    (v4(198, 51, 100, 0, 24), "documentation"),
    (v4(203, 0, 113, 0, 24), "documentation"),
    (v4(224, 0, 0, 0, 4), "multicast"),
    (v4(255, 255, 255, 255, 32), "broadcast"),
    (v4(240, 0, 0, 0, 4), "reserved"),
];

/// IPv6: the registry (RFC 6890 and its updates) and the deprecated ranges; embedded-IPv4 forms are handled first.
const V6: &[(Ipv6Net, &str)] = &[
    (v6([0, 0, 0, 0, 0, 0, 0, 1], 128), "loopback"),
    (v6([0, 0, 0, 0, 0, 0, 0, 0], 128), "unspecified"),
    (
        v6([0, 0, 0, 0, 0, 0, 0, 0], 96),
        "IPv4-compatible (deprecated)",
    ),
    (v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), "NAT64 local-use"),
    (v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64), "discard-only"),
    (v6([0x100, 0, 0, 1, 0, 0, 0, 0], 64), "dummy prefix"),
    (v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 32), "Teredo"),
    (
        v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23),
        "IETF protocol assignments",
    ),
    (v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), "documentation"),
    (
        v6([0x2620, 0x4f, 0x8000, 0, 0, 0, 0, 0], 48),
        "AS112 direct delegation",
    ),
    (v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), "documentation"),
    (
        v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16),
        "SRv6 segment identifiers",
    ),
    (
        v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7),
        "unique local (private)",
    ),
    (v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), "link-local"),
    (
        v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10),
        "site-local (deprecated)",
    ),
    (v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), "multicast"),
];

/// IPv6's global unicast space: anything outside it is reserved or special.
const GLOBAL_UNICAST: Ipv6Net = v6([0x2000, 0, 0, 0, 0, 0, 0, 0], 3);
const NAT64: Ipv6Net = v6([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96);
const SIX_TO_FOUR: Ipv6Net = v6([0x2002, 0, 0, 0, 0, 0, 0, 0], 16);

/// Why an address is refused, or `None` when it is an ordinary public one.
pub fn special(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => special_v4(v4),
        IpAddr::V6(v6) => special_v6(v6),
    }
}

fn special_v4(ip: Ipv4Addr) -> Option<&'static str> {
    V4.iter()
        .find(|(net, _)| net.contains(&ip))
        .map(|(_, why)| *why)
}

fn special_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = embedded_v4(ip) {
        return special_v4(v4);
    }
    if let Some((_, why)) = V6.iter().find(|(net, _)| net.contains(&ip)) {
        return Some(why);
    }
    (!GLOBAL_UNICAST.contains(&ip)).then_some("reserved (outside global unicast)")
}

/// The IPv4 address an IPv4-mapped, NAT64 (well-known prefix) or 6to4 address leads to.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return Some(v4);
    }
    let o = ip.octets();
    if NAT64.contains(&ip) {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if SIX_TO_FOUR.contains(&ip) {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(ip: &str) -> Option<&'static str> {
        special(ip.parse().unwrap())
    }

    #[test]
    fn every_ipv4_registry_entry_is_refused() {
        for ip in [
            "0.0.0.0",
            "0.1.2.3",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "127.255.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.1",
            "192.0.0.9",
            "192.0.0.170",
            "192.0.2.1",
            "192.31.196.1",
            "192.52.193.1",
            "192.88.99.1",
            "192.168.1.1",
            "192.175.48.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.255",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(why(ip).is_some(), "{ip} should be refused");
        }
        assert_eq!(why("255.255.255.255"), Some("broadcast"));
        assert_eq!(
            why("100.100.100.200"),
            Some("carrier-grade NAT (may hold cloud metadata)")
        );
    }

    #[test]
    fn every_ipv6_registry_entry_and_deprecated_form_is_refused() {
        for (ip, reason) in [
            ("::1", "loopback"),
            ("::", "unspecified"),
            ("::7f00:1", "IPv4-compatible (deprecated)"),
            ("::808:808", "IPv4-compatible (deprecated)"),
            ("64:ff9b:1::a00:1", "NAT64 local-use"),
            ("100::1", "discard-only"),
            ("100:0:0:1::1", "dummy prefix"),
            ("2001::1", "Teredo"),
            ("2001:0:4136:e378:8000:63bf:3fff:fdd2", "Teredo"),
            ("2001:1::1", "IETF protocol assignments"),
            ("2001:2::1", "IETF protocol assignments"),
            ("2001:20::1", "IETF protocol assignments"),
            ("2001:db8::1", "documentation"),
            ("2620:4f:8000::1", "AS112 direct delegation"),
            ("3fff::1", "documentation"),
            ("5f00::1", "SRv6 segment identifiers"),
            ("fc00::1", "unique local (private)"),
            ("fd00:ec2::254", "unique local (private)"),
            ("fe80::1", "link-local"),
            ("fec0::1", "site-local (deprecated)"),
            ("ff02::1", "multicast"),
            ("4000::1", "reserved (outside global unicast)"),
            ("1::1", "reserved (outside global unicast)"),
        ] {
            assert_eq!(why(ip), Some(reason), "{ip}");
        }
    }

    #[test]
    fn embedded_ipv4_is_judged_by_where_it_leads() {
        assert_eq!(why("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(why("::ffff:10.0.0.1"), Some("private"));
        assert_eq!(why("64:ff9b::a00:1"), Some("private"), "NAT64 of 10.0.0.1");
        assert_eq!(
            why("64:ff9b::a9fe:a9fe"),
            Some("link-local or cloud metadata")
        );
        assert_eq!(why("2002:7f00:1::1"), Some("loopback"), "6to4 of 127.0.0.1");
        assert_eq!(
            why("2002:c0a8:101::"),
            Some("private"),
            "6to4 of 192.168.1.1"
        );
        // The same forms of a public address lead to a public address.
        assert_eq!(why("::ffff:8.8.8.8"), None);
        assert_eq!(why("64:ff9b::808:808"), None);
        assert_eq!(why("2002:808:808::1"), None);
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "1.1.1.1",
            "100.128.0.1",
            "172.32.0.1",
            "192.0.3.1",
            "198.20.0.1",
            "223.255.255.255",
            "2606:4700:4700::1111",
            "2a00:1450:4001::200e",
            "2001:4860:4860::8888",
            "2001:200::1",
        ] {
            assert_eq!(why(ip), None, "{ip} is public");
        }
    }
}
