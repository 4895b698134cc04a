//! Host-name matching: RFC 6125/9525 rules through OpenSSL's `X509_check_host`/`X509_check_ip`
//! (the default), or Qt 6's `QSslSocketPrivate::isMatchingHostname` rules
//! ([`SslOption::QtCompatibleHostNameMatching`](crate::SslOption::QtCompatibleHostNameMatching)).
//!
//! RFC mode:
//! - a peer name that is an IP literal (Qt's parser: `192.168.0.1`, `127.1`, `::1`) matches only
//!   an iPAddress SAN with the same address;
//! - any other name is converted to its ASCII form (IDNA, as Qt does for SNI) and checked by
//!   `X509_check_host` with `X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS`: DNS SANs, case-insensitive,
//!   a `*` only as the whole left-most label and never matching a public-suffix-like two-label
//!   name; the subject CN only when the certificate has neither a DNS nor an IP SAN.
//!
//! Qt mode (Qt 6.7 `isMatchingHostname`): an IP literal first matches an iPAddress SAN; then the
//! name's ACE form (`QUrl::toAce`) is compared with **every** subject CN and then every DNS SAN;
//! a pattern without `*` matches when its ACE form equals the name; a wildcard pattern needs at
//! least three labels, a non-empty last label, one `*` ending the first label (`f*.example.com`
//! is allowed), no `xn--` prefix, and matches exactly one label; IP names never match wildcards.
//! One deliberate difference: Qt treats a name whose ACE conversion fails (an IPv6 literal, a
//! name with a space) as the empty string, which then "equals" every CN whose conversion also
//! fails; here a failed conversion never matches.

use std::borrow::Cow;

use openssl::x509::X509Ref;

use super::ace::{ip_bytes, parse_host_address, to_ace};
use crate::ffi::x509 as ffi;
use crate::{AlternativeNameEntryType, SslCertificate, SubjectInfo};

/// Whether `cert` is valid for the host `name`: RFC 6125/9525 rules by default, Qt's rules when
/// `qt_compatible`. A null certificate or an empty name never matches. Never panics.
pub(crate) fn matches_host(cert: &SslCertificate, name: &str, qt_compatible: bool) -> bool {
    let Some(x509) = cert.as_x509() else {
        return false;
    };
    if name.is_empty() {
        return false;
    }
    if qt_compatible {
        qt_matches(cert, x509, name)
    } else {
        rfc_matches(x509, name)
    }
}

/// The SAN entry kinds the certificate has: (DNS, IP).
fn san_kinds(x509: &X509Ref) -> (bool, bool) {
    let Some(names) = x509.subject_alt_names() else {
        return (false, false);
    };
    let dns = names.iter().any(|n| ffi::dns_name_bytes(n).is_some());
    let ip = names.iter().any(|n| n.ipaddress().is_some());
    (dns, ip)
}

fn rfc_matches(x509: &X509Ref, name: &str) -> bool {
    // A wildcard belongs in a certificate, never in the name looked for: OpenSSL would match
    // "*.example.com" literally against a SAN "*.example.com" (Qt's toAce rejects it too).
    if name.contains('*') {
        return false;
    }
    if let Some(address) = parse_host_address(name) {
        return !address.scoped && ffi::check_ip(x509, &ip_bytes(address.ip));
    }
    let ascii: Cow<'_, str> = if name.is_ascii() {
        Cow::Borrowed(name)
    } else {
        match to_ace(name) {
            Some(ace) => Cow::Owned(ace),
            None => return false,
        }
    };
    let mut flags = openssl_sys::X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS;
    // The usual case first: a DNS SAN matches, whatever else the certificate has (this saves
    // decoding the SANs a second time below).
    if ffi::check_host(
        x509,
        ascii.as_bytes(),
        flags | openssl_sys::X509_CHECK_FLAG_NEVER_CHECK_SUBJECT,
    ) {
        return true;
    }
    // OpenSSL falls back to the CN whenever there is no *DNS* SAN; RFC 9525 also rules the CN
    // out when an IP SAN is present.
    let (has_dns, has_ip) = san_kinds(x509);
    if has_ip && !has_dns {
        flags |= openssl_sys::X509_CHECK_FLAG_NEVER_CHECK_SUBJECT;
    }
    ffi::check_host(x509, ascii.as_bytes(), flags)
}

/// Qt 6's `isMatchingHostname(cert, peerName)`: the subject CNs and DNS SANs as
/// `subjectInfo` and `subjectAlternativeNames` give them (SAN bytes read as Latin-1).
fn qt_matches(cert: &SslCertificate, x509: &X509Ref, peer_name: &str) -> bool {
    if let Some(address) = parse_host_address(peer_name).filter(|a| !a.scoped) {
        let wanted = ip_bytes(address.ip);
        let hit = x509
            .subject_alt_names()
            .iter()
            .flat_map(|s| s.iter())
            .any(|n| n.ipaddress() == Some(&wanted[..]));
        if hit {
            return true;
        }
    }
    let Some(host) = to_ace(peer_name) else {
        return false;
    };
    cert.subject_info(SubjectInfo::CommonName)
        .iter()
        .any(|cn| qt_match_pattern(cn, &host))
        || cert
            .subject_alternative_names()
            .iter()
            .filter(|(kind, _)| *kind == AlternativeNameEntryType::DnsEntry)
            .any(|(_, san)| qt_match_pattern(san, &host))
}

/// Qt's case-insensitive comparison of one character (simple case mapping to lower case).
fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Qt's `isMatchingHostname(cn, hostname)`: `pattern` is a CN or DNS SAN as Qt decodes it,
/// `host` the peer name's ACE form (ASCII). Qt counts positions in UTF-16 code units; the rules
/// below only compare positions of ASCII characters, so char-boundary-safe byte arithmetic is
/// the same thing.
pub(crate) fn qt_match_pattern(pattern: &str, host: &str) -> bool {
    if host.is_empty() {
        return false;
    }
    let Some(wildcard) = pattern.find('*') else {
        return to_ace(pattern).is_some_and(|ace| ace == host);
    };
    let Some(first_dot) = pattern.find('.') else {
        return false;
    };
    let Some(second_dot) = pattern[first_dot + 1..]
        .find('.')
        .map(|d| d + first_dot + 1)
    else {
        return false;
    };
    // At least three labels, the last one non-empty.
    if second_dot + 1 >= pattern.len() {
        return false;
    }
    // `*` is the last character of the first label, and the only one.
    if wildcard + 1 != first_dot || pattern.rfind('*') != Some(wildcard) {
        return false;
    }
    // No wildcard inside an A-label (RFC 6125 §7.2).
    if pattern
        .get(..4)
        .is_some_and(|p| p.eq_ignore_ascii_case("xn--"))
    {
        return false;
    }
    // The characters before `*` equal the host's first characters, case-insensitively. Qt
    // compares `wildcard` UTF-16 units; the host is ASCII, so every unit is one character.
    let prefix = &pattern[..wildcard];
    if !prefix.is_empty() {
        let units = prefix.encode_utf16().count();
        let Some(host_prefix) = host.get(..units) else {
            return false;
        };
        if prefix.chars().count() != units
            || !prefix
                .chars()
                .zip(host_prefix.chars())
                .all(|(p, h)| fold(p) == fold(h))
        {
            return false;
        }
    }
    // Everything after the host's first dot equals everything after the pattern's first dot,
    // raw or in ACE form: `*` stands for exactly one label.
    let host_rest = host.find('.').map_or(host, |d| &host[d + 1..]);
    let pattern_rest = &pattern[first_dot + 1..];
    if host_rest != pattern_rest && to_ace(pattern_rest).is_none_or(|ace| ace != host_rest) {
        return false;
    }
    // Wildcards never match IP addresses.
    parse_host_address(host).is_none()
}

#[cfg(test)]
mod tests {
    use super::qt_match_pattern;

    /// Qt 6's `tst_QSslSocket::isMatchingHostname` / `wildcardCertificateNames` table
    /// (qt-semantics.md S6), at the pattern level.
    #[test]
    fn qt_pattern_table() {
        let cases: &[(&str, &str, bool)] = &[
            ("www.example.com", "www.example.com", true),
            ("WWW.EXAMPLE.COM", "www.example.com", true),
            ("*.example.com", "www.example.com", true),
            ("xxx*.example.com", "xxxwww.example.com", true),
            ("f*.example.com", "foo.example.com", true),
            ("192.168.0.0", "192.168.0.0", true),
            ("foo.éxample.com", "foo.xn--xample-9ua.com", true),
            ("*.éxample.com", "foo.xn--xample-9ua.com", true),
            (
                "xn--kcry6tjko.example.org",
                "xn--kcry6tjko.example.org",
                true,
            ),
            (
                "*.xn--kcry6tjko.example.org",
                "xn--kcr.xn--kcry6tjko.example.org",
                true,
            ),
            ("xxx.example.com", "www.example.com", false),
            ("*", "www.example.com", false),
            ("*.*.com", "www.example.com", false),
            ("*.example.com", "baa.foo.example.com", false),
            ("f*.example.com", "baa.example.com", false),
            ("*.com", "example.com", false),
            ("*fail.com", "example.com", false),
            ("*.example.", "www.example.", false),
            ("*.example.", "www.example", false),
            ("", "www", false),
            ("*", "www", false),
            ("*.168.0.0", "192.168.0.0", false),
            (
                "xn--kcry6tjko*.example.org",
                "xn--kcry6tjkoanc.example.org",
                false,
            ),
            ("å*.example.org", "xn--la-xia.example.org", false),
        ];
        for &(pattern, host, expected) in cases {
            assert_eq!(
                qt_match_pattern(pattern, host),
                expected,
                "{pattern:?} vs {host:?}"
            );
        }
    }

    #[test]
    fn qt_pattern_never_panics_on_odd_input() {
        for p in [
            "é*.x.y",
            "*é.x.y",
            "ä.*",
            "*.ä.",
            "€*.€.€",
            "x*.\u{10348}.y",
            "*.\u{0}.y",
            "K*.x.y",
        ] {
            for h in ["", "é", "k.x.y", "xn--.x.y", "a", "1.2.3.4", "\u{10348}"] {
                let _ = qt_match_pattern(p, h);
            }
        }
        // KELVIN SIGN folds to 'k'.
        assert!(qt_match_pattern("\u{212A}*.x.y", "kk.x.y"));
    }
}
