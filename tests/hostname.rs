//! Host-name matching through `CertificateVerifier`: the default (RFC 6125/9525, OpenSSL's
//! `X509_check_host`/`X509_check_ip` with no partial wildcards) and Qt's matcher
//! (`SslOption::QtCompatibleHostNameMatching`), on Qt's own tables (tst_qsslsocket
//! `isMatchingHostname`, `wildcardCertificateNames`), IP literals, IDNs and case.
mod common;

use common::pki::{Identity, Spec, mint, mint_named};
use qsslsocket::{CertificateVerifier, SslCertificate, SslErrorKind, SslOption};

/// Whether verifying `cert` for `host` reports no `HostNameMismatch`.
fn matches(cert: &SslCertificate, host: &str, qt: bool) -> bool {
    let mut v = CertificateVerifier::new();
    v.set_peer_name(host)
        .set_ssl_option(SslOption::QtCompatibleHostNameMatching, qt);
    let report = v.verify(cert);
    let mismatch: Vec<_> = report
        .errors()
        .into_iter()
        .filter(|e| e.error() == SslErrorKind::HostNameMismatch)
        .collect();
    if let Some(e) = mismatch.first() {
        assert_eq!(mismatch.len(), 1);
        assert_eq!(
            e.certificate().as_ref(),
            Some(cert),
            "HostNameMismatch names the leaf"
        );
        assert_eq!(
            report.errors()[0].error(),
            SslErrorKind::HostNameMismatch,
            "first in Qt's list"
        );
    }
    mismatch.is_empty()
}

/// A leaf with subject CN `cn` and the given SANs, signed by a throw-away CA.
fn cert(cn: &str, dns: &[&str], ips: &[&str]) -> SslCertificate {
    let spec = Spec::leaf(cn).dns(dns).ips(ips);
    mint(&spec, Some(ca())).certificate()
}

fn ca() -> &'static Identity {
    static CA: std::sync::OnceLock<Identity> = std::sync::OnceLock::new();
    CA.get_or_init(|| mint(&Spec::ca("hostname test CA"), None))
}

/// (CN, host, Qt's result, RFC result). Qt's column is Qt 6's table; the RFC column differs
/// where Qt allows partial wildcards, matches an IP literal against the CN, or converts a
/// U-label CN to ACE.
const CN_TABLE: &[(&str, &str, bool, bool)] = &[
    ("www.example.com", "www.example.com", true, true),
    ("WWW.EXAMPLE.COM", "www.example.com", true, true),
    ("*.example.com", "www.example.com", true, true),
    ("xxx*.example.com", "xxxwww.example.com", true, false),
    ("f*.example.com", "foo.example.com", true, false),
    ("192.168.0.0", "192.168.0.0", true, false),
    ("foo.éxample.com", "foo.xn--xample-9ua.com", true, false),
    ("*.éxample.com", "foo.xn--xample-9ua.com", true, false),
    (
        "xn--kcry6tjko.example.org",
        "xn--kcry6tjko.example.org",
        true,
        true,
    ),
    (
        "*.xn--kcry6tjko.example.org",
        "xn--kcr.xn--kcry6tjko.example.org",
        true,
        true,
    ),
    ("xxx.example.com", "www.example.com", false, false),
    ("*", "www.example.com", false, false),
    ("*.*.com", "www.example.com", false, false),
    ("*.example.com", "baa.foo.example.com", false, false),
    ("f*.example.com", "baa.example.com", false, false),
    ("*.com", "example.com", false, false),
    ("*fail.com", "example.com", false, false),
    ("*.example.", "www.example.", false, false),
    ("*.example.", "www.example", false, false),
    ("*", "www", false, false),
    ("*.168.0.0", "192.168.0.0", false, false),
    (
        "xn--kcry6tjko*.example.org",
        "xn--kcry6tjkoanc.example.org",
        false,
        false,
    ),
    ("å*.example.org", "xn--la-xia.example.org", false, false),
];

#[test]
fn qt_table_as_subject_cn() {
    for &(cn, host, qt, rfc) in CN_TABLE {
        let c = cert(cn, &[], &[]);
        assert_eq!(
            matches(&c, host, true),
            qt,
            "Qt mode: CN {cn:?} vs {host:?}"
        );
        assert_eq!(
            matches(&c, host, false),
            rfc,
            "RFC mode: CN {cn:?} vs {host:?}"
        );
    }
}

#[test]
fn qt_table_as_dns_san() {
    // The same patterns as the only DNS SAN (CN unrelated). RFC mode never converts a U-label
    // SAN (RFC 5280 requires A-labels), nor matches an IP name against a dNSName. Qt reads SAN
    // bytes as Latin-1, so a raw UTF-8 U-label SAN never matches there either (limbo
    // webpki::san::unicode-emoji-san; checked against Qt 6.11).
    for &(pattern, host, qt, rfc) in CN_TABLE {
        let qt = qt && pattern.is_ascii();
        let c = cert("unrelated.invalid", &[pattern], &[]);
        assert_eq!(
            matches(&c, host, true),
            qt,
            "Qt mode: SAN {pattern:?} vs {host:?}"
        );
        assert_eq!(
            matches(&c, host, false),
            rfc,
            "RFC mode: SAN {pattern:?} vs {host:?}"
        );
    }
}

#[test]
fn qt_certificate_level_idn_table() {
    // tst_qsslsocket::isMatchingHostname: a certificate with CN "*.SCHÄUFELE.DE".
    let c = cert("*.SCHÄUFELE.DE", &[], &[]);
    let rows = [
        ("WWW.SCHÄUFELE.DE", true),
        ("www.xn--schufele-2za.de", true),
        ("www.schäufele.de", true),
        ("föo.schäufele.de", true),
        ("foo.foo.xn--schufele-2za.de", false),
        ("www.schaufele.de", false),
        ("www.schufele.de", false),
    ];
    for (host, qt) in rows {
        assert_eq!(matches(&c, host, true), qt, "Qt mode: {host:?}");
        // OpenSSL compares the U-label CN byte-wise with the ACE name: never a match.
        assert!(!matches(&c, host, false), "RFC mode: {host:?}");
    }
    // The A-label form of the same name: both modes accept U-label and A-label peer names.
    let c = cert("unrelated.invalid", &["*.xn--schufele-2za.de"], &[]);
    for host in [
        "WWW.SCHÄUFELE.DE",
        "www.schäufele.de",
        "föo.xn--schufele-2za.de",
    ] {
        assert!(matches(&c, host, true), "Qt mode: {host:?}");
        assert!(matches(&c, host, false), "RFC mode: {host:?}");
    }
    assert!(!matches(&c, "www.schaufele.de", false));
}

#[test]
fn ip_literals_match_ip_sans_only() {
    // tst_qsslsocket::isMatchingHostname: subjectAltNameIP.crt.
    let c = cert(
        "example.org",
        &[],
        &["192.5.8.16", "fe80::3c29:2fa1:dd44:765"],
    );
    for qt in [true, false] {
        assert!(matches(&c, "192.5.8.16", qt));
        assert!(matches(&c, "fe80::3c29:2fa1:dd44:765", qt));
        assert!(
            matches(&c, "FE80:0:0:0:3C29:2FA1:DD44:765", qt),
            "IPv6 compared as an address"
        );
        assert!(!matches(&c, "192.5.8.17", qt));
        assert!(
            !matches(&c, "::ffff:192.5.8.16", qt),
            "no IPv4-mapped equivalence"
        );
        assert!(
            !matches(&c, "fe80::3c29:2fa1:dd44:765%eth0", qt),
            "a scoped address is another"
        );
    }
    // Qt consults the CN even though SANs exist; RFC 9525 does not when an IP SAN is present.
    assert!(matches(&c, "example.org", true));
    assert!(!matches(&c, "example.org", false));

    // CN=127.0.0.1 without SAN (127-0-0-1-as-CN.crt): Qt matches the string, RFC mode wants an
    // iPAddress SAN.
    let c = cert("127.0.0.1", &[], &[]);
    assert!(matches(&c, "127.0.0.1", true));
    assert!(!matches(&c, "127.0.0.1", false));

    // An IP literal in a dNSName (limbo rfc5280::san::ip-in-dns).
    let c = cert("unrelated.invalid", &["8.8.8.8"], &[]);
    assert!(matches(&c, "8.8.8.8", true));
    assert!(!matches(&c, "8.8.8.8", false));

    // Qt's IPv4 parser takes inet_aton forms: 127.1 is 127.0.0.1.
    let c = cert("localhost", &["localhost"], &["127.0.0.1", "::1"]);
    for qt in [true, false] {
        assert!(matches(&c, "127.0.0.1", qt));
        assert!(matches(&c, "127.1", qt));
        assert!(matches(&c, "::1", qt));
        assert!(matches(&c, "0:0:0:0:0:0:0:1", qt));
        assert!(matches(&c, "localhost", qt));
        assert!(matches(&c, "LocalHost", qt));
        assert!(!matches(&c, "127.0.0.2", qt));
    }
}

#[test]
fn subject_cn_only_without_sans_in_rfc_mode() {
    // CN www.example.com, SAN other.example.com (webpki::san::mismatch-apex-subdomain-san).
    let c = cert("www.example.com", &["other.example.com"], &[]);
    assert!(
        matches(&c, "www.example.com", true),
        "Qt: every CN is consulted"
    );
    assert!(
        !matches(&c, "www.example.com", false),
        "RFC: CN ignored when a DNS SAN exists"
    );
    assert!(matches(&c, "other.example.com", false));
    // No SAN at all: both fall back to the CN.
    let c = cert("www.example.com", &[], &[]);
    assert!(matches(&c, "www.example.com", true));
    assert!(matches(&c, "WWW.Example.Com", false));
}

#[test]
fn case_and_trailing_dots() {
    let c = cert("unrelated.invalid", &["Mixed.Example.COM"], &[]);
    for qt in [true, false] {
        assert!(matches(&c, "mixed.example.com", qt));
        assert!(matches(&c, "MIXED.EXAMPLE.COM", qt));
        assert!(!matches(&c, "mixed.example.co", qt));
        assert!(!matches(&c, ".mixed.example.com", qt));
    }
    // A trailing dot makes another name for Qt's matcher and for OpenSSL's X509_check_host.
    assert!(!matches(&c, "mixed.example.com.", true));
    assert!(!matches(&c, "mixed.example.com.", false));
    let c = cert("unrelated.invalid", &["dotted.example.com."], &[]);
    assert!(matches(&c, "dotted.example.com.", true));
    assert!(!matches(&c, "dotted.example.com", true));
}

#[test]
fn names_that_cannot_be_converted_never_match() {
    // Qt turns a name it cannot convert to ACE (an IPv6 literal, a space) into "", which then
    // equals every CN that cannot be converted either; the crate never matches such a name.
    let c = cert("Self Signed Tester", &[], &[]);
    for qt in [true, false] {
        assert!(!matches(&c, "::1", qt));
        assert!(!matches(&c, "fe80::1", qt));
    }
    // OpenSSL compares such a CN byte for byte (case-insensitively); Qt cannot convert it.
    assert!(!matches(&c, "Self Signed Tester", true));
    assert!(matches(&c, "self signed tester", false));
    // An empty peer name means "no host-name check" in CertificateVerifier.
    assert!(matches(&c, "", true) && matches(&c, "", false));
}

#[test]
fn several_common_names_are_all_consulted() {
    let mut name = openssl::x509::X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(openssl::nid::Nid::COMMONNAME, "a.example")
        .unwrap();
    name.append_entry_by_nid(openssl::nid::Nid::COMMONNAME, "b.example")
        .unwrap();
    let c = mint_named(&name.build(), None, |_| {}).certificate();
    for qt in [true, false] {
        assert!(matches(&c, "a.example", qt));
        assert!(matches(&c, "b.example", qt));
        assert!(!matches(&c, "c.example", qt));
    }
}
