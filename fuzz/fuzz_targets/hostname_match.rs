//! Both host-name matchers on arbitrary input: never panic, stay deterministic.
//!
//! Input layout: `flags (1 byte) | pattern bytes | 0x00 | host bytes`. The pure matchers run on
//! every input; when `flags & 4`, a certificate is minted whose subject CN is the pattern (when
//! OpenSSL accepts it) and whose dNSName SAN holds exactly the pattern's bytes, plus, when
//! `flags & 1`, an iPAddress SAN from the host's first 4 (or, with `flags & 2`, 16) bytes, and
//! both certificate-level matchers run on it.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use openssl::asn1::{Asn1Object, Asn1OctetString, Asn1Time};
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509Builder, X509Extension, X509NameBuilder};
use qsslsocket::fuzzing::{matches_host, parse_host_address, qt_match_pattern, to_ace};
use qsslsocket::{EncodingFormat, SslCertificate};

fn key() -> &'static PKey<Private> {
    static KEY: OnceLock<PKey<Private>> = OnceLock::new();
    KEY.get_or_init(|| {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
        PKey::from_ec_key(EcKey::generate(&group).expect("key")).expect("pkey")
    })
}

/// DER length octets.
fn der_len(n: usize, out: &mut Vec<u8>) {
    if n < 0x80 {
        out.push(n as u8);
    } else {
        let bytes: Vec<u8> = n
            .to_be_bytes()
            .into_iter()
            .skip_while(|b| *b == 0)
            .collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
}

/// A subjectAltName value: SEQUENCE { [2] dNSName, [7] iPAddress? }.
fn san_der(dns: &[u8], ip: Option<&[u8]>) -> Vec<u8> {
    let mut names = vec![0x82];
    der_len(dns.len(), &mut names);
    names.extend_from_slice(dns);
    if let Some(ip) = ip {
        names.push(0x87);
        der_len(ip.len(), &mut names);
        names.extend_from_slice(ip);
    }
    let mut seq = vec![0x30];
    der_len(names.len(), &mut seq);
    seq.extend(names);
    seq
}

fn certificate(pattern: &[u8], ip: Option<&[u8]>) -> Option<SslCertificate> {
    let mut name = X509NameBuilder::new().ok()?;
    if let Ok(cn) = std::str::from_utf8(pattern) {
        let _ = name.append_entry_by_nid(Nid::COMMONNAME, cn);
    }
    let name = name.build();
    let mut b = X509Builder::new().ok()?;
    b.set_version(2).ok()?;
    b.set_subject_name(&name).ok()?;
    b.set_issuer_name(&name).ok()?;
    b.set_pubkey(key()).ok()?;
    let (not_before, not_after) = (
        Asn1Time::days_from_now(0).ok()?,
        Asn1Time::days_from_now(1).ok()?,
    );
    b.set_not_before(&not_before).ok()?;
    b.set_not_after(&not_after).ok()?;
    let oid = Asn1Object::from_str("2.5.29.17").ok()?;
    let value = Asn1OctetString::new_from_bytes(&san_der(pattern, ip)).ok()?;
    b.append_extension(X509Extension::new_from_der(&oid, false, &value).ok()?)
        .ok()?;
    b.sign(key(), MessageDigest::sha256()).ok()?;
    let der = b.build().to_der().ok()?;
    SslCertificate::from_data(&der, EncodingFormat::Der)
        .into_iter()
        .next()
}

fuzz_target!(|data: &[u8]| {
    let Some((&flags, rest)) = data.split_first() else {
        return;
    };
    let (pattern, host) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let pattern_text = String::from_utf8_lossy(pattern);
    let host_text = String::from_utf8_lossy(host);

    // The pattern rule, on the raw host and on its ACE form.
    let raw = qt_match_pattern(&pattern_text, &host_text);
    assert_eq!(raw, qt_match_pattern(&pattern_text, &host_text));
    if let Some(ace) = to_ace(&host_text) {
        assert!(ace.is_ascii(), "ACE output must be ASCII: {ace:?}");
        assert_eq!(
            to_ace(&ace).as_deref(),
            Some(ace.as_str()),
            "toAce is a fixed point"
        );
        let _ = qt_match_pattern(&pattern_text, &ace);
    }
    let _ = to_ace(&pattern_text);
    if let Some((ip, scoped)) = parse_host_address(&host_text) {
        if !scoped {
            assert_eq!(
                parse_host_address(&ip.to_string()),
                Some((ip, false)),
                "{ip} re-parses"
            );
        }
    }

    // Certificate level, both modes.
    let ip = match host.len() {
        n if flags & 1 == 1 && n >= 16 && flags & 2 == 2 => Some(&host[..16]),
        n if flags & 1 == 1 && n >= 4 => Some(&host[..4]),
        _ => None,
    };
    if flags & 4 == 0 {
        return;
    }
    if let Some(cert) = certificate(pattern, ip) {
        for qt in [false, true] {
            let first = matches_host(&cert, &host_text, qt);
            assert_eq!(first, matches_host(&cert, &host_text, qt));
        }
    }
});
