//! `SslCertificate`'s getters against the real Qt's (PyQt6 6.11 via
//! `tests/peers/qt_certificate.py`) on the same certificates: the test PKI, an EC leaf, one with
//! every SAN type, and names with UTF-8, BMP, repeated and unknown attributes, an embedded NUL,
//! and no CN. Version, serial number, digests, subject and issuer info for every `SubjectInfo`,
//! attribute lists, display names, alternative names, dates, self-signed and blacklisted flags,
//! the public key, and `to_text`.

mod common;

use std::time::UNIX_EPOCH;

use common::external::{ask_qt, assert_same_fields};
use common::pki::{KeyKind, Spec, mint, mint_named, pki};
use openssl::asn1::Asn1Type;
use openssl::nid::Nid;
use openssl::x509::X509NameBuilder;
use qsslsocket::*;
use serde_json::{Value, json};

const INFO: [(&str, SubjectInfo); 9] = [
    ("Organization", SubjectInfo::Organization),
    ("CommonName", SubjectInfo::CommonName),
    ("LocalityName", SubjectInfo::LocalityName),
    (
        "OrganizationalUnitName",
        SubjectInfo::OrganizationalUnitName,
    ),
    ("CountryName", SubjectInfo::CountryName),
    ("StateOrProvinceName", SubjectInfo::StateOrProvinceName),
    (
        "DistinguishedNameQualifier",
        SubjectInfo::DistinguishedNameQualifier,
    ),
    ("SerialNumber", SubjectInfo::SerialNumber),
    ("EmailAddress", SubjectInfo::EmailAddress),
];

fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn secs(t: std::time::SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    }
}

/// The crate's answers, in the script's shape.
fn crate_view(c: &SslCertificate) -> Value {
    let info = |get: &dyn Fn(SubjectInfo) -> Vec<String>| {
        INFO.iter()
            .map(|(name, i)| (name.to_string(), json!(get(*i))))
            .collect::<serde_json::Map<_, _>>()
    };
    let digests: serde_json::Map<_, _> = [
        ("Md5", DigestAlgorithm::Md5),
        ("Sha1", DigestAlgorithm::Sha1),
        ("Sha256", DigestAlgorithm::Sha256),
        ("Sha512", DigestAlgorithm::Sha512),
    ]
    .iter()
    .map(|(name, a)| (name.to_string(), json!(hex(&c.digest(*a)))))
    .collect();
    let mut sans: Vec<Vec<String>> = c
        .subject_alternative_names()
        .into_iter()
        .map(|(t, v)| vec![t.to_string(), v])
        .collect();
    sans.sort();
    let key = c.public_key();
    json!({
        "version": latin1(&c.version()),
        "serial_number": latin1(&c.serial_number()),
        "digests": digests,
        "subject_info": info(&|i| c.subject_info(i)),
        "issuer_info": info(&|i| c.issuer_info(i)),
        "subject_info_attributes": c.subject_info_attributes().iter().map(|a| latin1(a)).collect::<Vec<_>>(),
        "issuer_info_attributes": c.issuer_info_attributes().iter().map(|a| latin1(a)).collect::<Vec<_>>(),
        "subject_display_name": c.subject_display_name(),
        "issuer_display_name": c.issuer_display_name(),
        "subject_alternative_names": sans,
        "effective_date": secs(c.effective_date()),
        "expiry_date": secs(c.expiry_date()),
        "is_self_signed": c.is_self_signed(),
        "is_blacklisted": c.is_blacklisted(),
        "public_key": [key.algorithm().to_string(), key.length()],
        "to_text": c.to_text(),
    })
}

fn certificates() -> Vec<(&'static str, SslCertificate)> {
    let p = pki();
    let mut odd = X509NameBuilder::new().unwrap();
    odd.append_entry_by_nid(Nid::COUNTRYNAME, "NO").unwrap();
    odd.append_entry_by_nid(Nid::STATEORPROVINCENAME, "Oslo")
        .unwrap();
    odd.append_entry_by_nid(Nid::LOCALITYNAME, "Tromsø")
        .unwrap();
    odd.append_entry_by_nid(Nid::ORGANIZATIONNAME, "Récördŝ AS")
        .unwrap();
    odd.append_entry_by_nid_with_type(Nid::ORGANIZATIONALUNITNAME, "N-\0A", Asn1Type::BMPSTRING)
        .unwrap();
    odd.append_entry_by_nid(Nid::COMMONNAME, "www.bank.com\0.badguy.com")
        .unwrap();
    odd.append_entry_by_nid(Nid::COMMONNAME, "日本語.example")
        .unwrap();
    odd.append_entry_by_nid(Nid::PKCS9_EMAILADDRESS, "admin@example.org")
        .unwrap();
    odd.append_entry_by_nid(Nid::SERIALNUMBER, "12345").unwrap();
    odd.append_entry_by_nid(Nid::DNQUALIFIER, "q").unwrap();
    odd.append_entry_by_text("1.2.3.4.5", "custom").unwrap();
    let odd = odd.build();
    let mut no_cn = X509NameBuilder::new().unwrap();
    no_cn
        .append_entry_by_nid(Nid::ORGANIZATIONALUNITNAME, "Unit only")
        .unwrap();
    let no_cn = no_cn.build();
    vec![
        ("root", p.root.certificate()),
        ("intermediate", p.intermediate.certificate()),
        ("leaf", p.leaf.certificate()),
        (
            "ec leaf with every SAN type",
            mint(
                &Spec::leaf("sans.example")
                    .dns(&["sans.example", "*.wild.example"])
                    .ips(&["127.0.0.1", "::1", "2001:db8::42"])
                    .emails(&["a@sans.example"])
                    .key(KeyKind::EcP256),
                Some(&p.intermediate),
            )
            .certificate(),
        ),
        ("odd names", mint_named(&odd, None, |_| {}).certificate()),
        (
            "no common name",
            mint_named(&no_cn, Some(&p.root), |_| {}).certificate(),
        ),
    ]
}

#[test]
fn every_getter_answers_as_qt() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let certs = certificates();
    let paths: Vec<_> = certs
        .iter()
        .enumerate()
        .map(|(i, (_, c))| {
            let path = dir.path().join(format!("{i}.pem"));
            std::fs::write(&path, c.to_pem()).expect("write");
            path
        })
        .collect();
    let paths: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let qt = ask_qt("qt_certificate.py", &paths, b"");
    assert_eq!(qt.len(), certs.len());
    assert_same_fields(
        certs
            .iter()
            .zip(qt)
            .map(|((what, c), qt)| (what.to_string(), crate_view(c), qt)),
    );
}
