//! Qt's `QUrl::toAce` (ASCII Compatible Encoding of a domain name) and Qt's IP-literal parser
//! (`QHostAddress(QString)`), as the Qt-compatible host-name matcher needs them.
//!
//! `to_ace` follows Qt 6's rules: ASCII input is lower-cased and must consist of `a-z 0-9 - _ .`;
//! non-ASCII input goes through UTS #46 mapping (non-transitional), NFC and Punycode, here with
//! the `idna` crate. The result must be a sequence of labels of 1 to 63 characters from
//! `a-z 0-9 - _`, not starting or ending with `-`; a leading dot or an empty inner label fails,
//! a single trailing dot is kept. Failure is `None` (Qt returns an empty string).
//!
//! Known approximations of Qt: for non-ASCII input the `idna` crate also applies UTS #46's
//! validity criteria (bidi, joiners, Punycode labels that do not decode), which Qt's
//! `ToAceOnly` mode skips, so a few exotic names that Qt converts fail here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Longest label Qt accepts (`MaxDomainLabelLength`).
const MAX_LABEL: usize = 63;

fn valid_in_label(b: u8) -> bool {
    b == b'-' || b == b'_' || b.is_ascii_digit() || b.is_ascii_lowercase()
}

/// Qt's `checkAsciiDomainName` with `ForbidLeadingDot`.
fn check_ascii_domain_name(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    let last = labels.len() - 1;
    labels.iter().enumerate().all(|(i, label)| {
        if label.is_empty() {
            // Only the root label after a trailing dot may be empty (and not for ".").
            return i == last && i > 0;
        }
        label.len() <= MAX_LABEL
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(valid_in_label)
    })
}

/// Qt's `QUrl::toAce(domain)`; `None` where Qt returns an empty string.
pub(crate) fn to_ace(domain: &str) -> Option<String> {
    if domain.is_empty() {
        return None;
    }
    let mapped = if domain.is_ascii() {
        domain.to_ascii_lowercase()
    } else {
        idna::domain_to_ascii_cow(domain.as_bytes(), idna::AsciiDenyList::EMPTY)
            .ok()?
            .into_owned()
    };
    check_ascii_domain_name(&mapped).then_some(mapped)
}

/// One part of an IPv4 address in `inet_aton` notation, as Qt's `qstrntoull(.., base 0)` reads
/// it: `0x`/`0X` hexadecimal, a leading `0` octal, else decimal.
fn parse_ipv4_part(part: &str) -> Option<u64> {
    let (digits, radix) =
        if let Some(hex) = part.strip_prefix("0x").or_else(|| part.strip_prefix("0X")) {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (part, 10)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    u64::from_str_radix(digits, radix).ok()
}

/// Qt's IPv4 parser: one to four dot-separated parts (`127.1` is 127.0.0.1), the last part
/// filling the remaining bytes.
fn parse_ipv4(s: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = s.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut address: u32 = 0;
    for (i, part) in parts.iter().enumerate() {
        let value = parse_ipv4_part(part)?;
        if i + 1 < parts.len() {
            if value > 0xff {
                return None;
            }
            address = (address << 8) | value as u32;
        } else {
            let remaining_bytes = 4 - i as u32;
            let limit = if remaining_bytes == 4 {
                u64::from(u32::MAX)
            } else {
                (1u64 << (8 * remaining_bytes)) - 1
            };
            if value > limit {
                return None;
            }
            address = if remaining_bytes == 4 {
                value as u32
            } else {
                (address << (8 * remaining_bytes)) | value as u32
            };
        }
    }
    Some(Ipv4Addr::from(address))
}

/// A parsed IP literal: the address and whether it carried an IPv6 scope (`%eth0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct HostAddress {
    pub(crate) ip: IpAddr,
    pub(crate) scoped: bool,
}

/// Qt's `QHostAddress(QString)`: surrounding whitespace is ignored; anything with a `:` is
/// tried as IPv6 (with an optional `%scope`), then IPv4 in `inet_aton` notation.
pub(crate) fn parse_host_address(s: &str) -> Option<HostAddress> {
    let s = s.trim_matches(|c: char| c.is_whitespace());
    if s.is_empty() || !s.is_ascii() {
        return None;
    }
    if s.contains(':') {
        let (address, scope) = match s.split_once('%') {
            Some((a, scope)) => (a, Some(scope)),
            None => (s, None),
        };
        if let Ok(v6) = address.parse::<Ipv6Addr>() {
            return Some(HostAddress {
                ip: IpAddr::V6(v6),
                scoped: scope.is_some(),
            });
        }
    }
    parse_ipv4(s).map(|v4| HostAddress {
        ip: IpAddr::V4(v4),
        scoped: false,
    })
}

/// The address bytes as they appear in an iPAddress SAN (4 or 16 bytes).
pub(crate) fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ace_follows_qt() {
        assert_eq!(
            to_ace("WWW.Example.COM").as_deref(),
            Some("www.example.com")
        );
        assert_eq!(
            to_ace("foo.éxample.com").as_deref(),
            Some("foo.xn--xample-9ua.com")
        );
        assert_eq!(
            to_ace("www.schäufele.de").as_deref(),
            Some("www.xn--schufele-2za.de")
        );
        assert_eq!(
            to_ace("WWW.SCHÄUFELE.DE").as_deref(),
            Some("www.xn--schufele-2za.de")
        );
        assert_eq!(to_ace("www.example.").as_deref(), Some("www.example."));
        assert_eq!(
            to_ace("under_score.example").as_deref(),
            Some("under_score.example")
        );
        assert_eq!(to_ace("192.168.0.1").as_deref(), Some("192.168.0.1"));
        for bad in [
            "",
            ".",
            ".example.com",
            "a..b",
            "-a.com",
            "a-.com",
            "a b.com",
            "*.com",
            "::1",
            "a.é*.com",
        ] {
            assert_eq!(to_ace(bad), None, "{bad:?}");
        }
        assert_eq!(to_ace(&"a".repeat(63)).map(|s| s.len()), Some(63));
        assert_eq!(to_ace(&"a".repeat(64)), None);
    }

    #[test]
    fn host_addresses_follow_qt() {
        let v4 = |s: &str| parse_host_address(s).map(|h| h.ip.to_string());
        assert_eq!(v4("192.168.0.1").as_deref(), Some("192.168.0.1"));
        assert_eq!(v4("127.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(v4("0x7f.0.0.1").as_deref(), Some("127.0.0.1"));
        assert_eq!(v4("010.0.0.1").as_deref(), Some("8.0.0.1"));
        assert_eq!(v4("3232235521").as_deref(), Some("192.168.0.1"));
        assert_eq!(v4(" 10.0.0.1 ").as_deref(), Some("10.0.0.1"));
        assert_eq!(v4("fe80::1").as_deref(), Some("fe80::1"));
        assert_eq!(
            parse_host_address("fe80::1%eth0").map(|h| h.scoped),
            Some(true)
        );
        for bad in [
            "",
            "256.0.0.1",
            "1.2.3.4.5",
            "1..2",
            "www.example.com",
            "08.1.1.1",
            "é",
            "1.2.3.256",
            ":::",
        ] {
            assert_eq!(parse_host_address(bad), None, "{bad:?}");
        }
    }
}
