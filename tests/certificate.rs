//! `SslCertificate`: every getter against OpenSSL's own view of minted certificates, PEM/DER
//! parsing, `from_path` with all three pattern syntaxes, the blacklist, and garbage input.
mod common;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::pki::{Identity, Spec, mint, mint_named, pki, serial_bytes};
use openssl::asn1::{Asn1Integer, Asn1Time, Asn1Type};
use openssl::bn::BigNum;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::x509::X509NameBuilder;
use qsslsocket::{
    AlternativeNameEntryType, DigestAlgorithm, EncodingFormat, KeyAlgorithm, KeyType,
    PatternSyntax, SslCertificate, SslKey, SubjectInfo,
};

use AlternativeNameEntryType::{DnsEntry, EmailEntry, IpAddressEntry};

fn pem_list(data: &[u8]) -> Vec<SslCertificate> {
    SslCertificate::from_data(data, EncodingFormat::Pem)
}

/// OpenSSL's view of the serial number, in Qt's colon form.
fn openssl_serial(identity: &Identity) -> Vec<u8> {
    let hex = identity
        .cert
        .serial_number()
        .to_bn()
        .unwrap()
        .to_hex_str()
        .unwrap()
        .to_lowercase();
    let hex = if hex.len() % 2 == 1 {
        format!("0{hex}")
    } else {
        hex.to_string()
    };
    let pairs: Vec<&str> = (0..hex.len()).step_by(2).map(|i| &hex[i..i + 2]).collect();
    pairs.join(":").into_bytes()
}

fn near(actual: SystemTime, expected: SystemTime) -> bool {
    let diff = actual
        .duration_since(expected)
        .unwrap_or_else(|e| e.duration());
    diff < Duration::from_secs(600)
}

#[test]
fn getters_agree_with_openssl() {
    let p = pki();
    let leaf = p.leaf.certificate();
    assert!(!leaf.is_null());
    assert_eq!(leaf.version(), b"3");
    assert_eq!(leaf.serial_number(), openssl_serial(&p.leaf));
    assert_eq!(leaf.to_der(), p.leaf.cert_der());
    assert_eq!(leaf.to_pem(), p.leaf.cert_pem());
    let text = leaf.to_text();
    // OpenSSL's own dump of the same certificate, parsed afresh (a freshly built certificate
    // holds a legacy key object that prints "RSA Public-Key" instead of "Public-Key").
    let reparsed = openssl::x509::X509::from_der(&p.leaf.cert_der()).unwrap();
    assert!(text.as_bytes() == reparsed.to_text().unwrap(), "{text}");
    assert!(text.contains("Certificate:") && text.contains("CN=localhost"));

    let digests = [
        (DigestAlgorithm::Md5, MessageDigest::md5()),
        (DigestAlgorithm::Sha1, MessageDigest::sha1()),
        (DigestAlgorithm::Sha224, MessageDigest::sha224()),
        (DigestAlgorithm::Sha256, MessageDigest::sha256()),
        (DigestAlgorithm::Sha384, MessageDigest::sha384()),
        (DigestAlgorithm::Sha512, MessageDigest::sha512()),
    ];
    for (algorithm, md) in digests {
        assert_eq!(
            leaf.digest(algorithm),
            p.leaf.cert.digest(md).unwrap().to_vec(),
            "{algorithm:?}"
        );
    }

    assert_eq!(leaf.subject_info(SubjectInfo::CommonName), ["localhost"]);
    assert_eq!(
        leaf.subject_info(SubjectInfo::Organization),
        ["qsslsocket tests"]
    );
    assert!(leaf.subject_info(SubjectInfo::CountryName).is_empty());
    assert_eq!(
        leaf.issuer_info(SubjectInfo::CommonName),
        ["qsslsocket Test Intermediate CA"]
    );
    assert_eq!(leaf.subject_info_by_attribute(b"CN"), ["localhost"]);
    assert_eq!(leaf.issuer_info_by_attribute(b"O"), ["qsslsocket tests"]);
    assert!(leaf.subject_info_by_attribute(b"commonName").is_empty());
    assert_eq!(
        leaf.subject_info_attributes(),
        [b"CN".to_vec(), b"O".to_vec()]
    );
    assert_eq!(
        leaf.issuer_info_attributes(),
        [b"CN".to_vec(), b"O".to_vec()]
    );
    assert_eq!(leaf.subject_display_name(), "localhost");
    assert_eq!(
        leaf.issuer_display_name(),
        "qsslsocket Test Intermediate CA"
    );
    assert_eq!(
        leaf.subject_alternative_names(),
        [
            (DnsEntry, "localhost".to_owned()),
            (IpAddressEntry, "127.0.0.1".to_owned()),
            (IpAddressEntry, "::1".to_owned())
        ]
    );

    let day = Duration::from_secs(86_400);
    assert!(near(leaf.effective_date(), SystemTime::now() - day));
    assert!(near(leaf.expiry_date(), SystemTime::now() + 365 * day));
    let expired = p.expired.certificate();
    assert!(expired.expiry_date() < SystemTime::now());
    assert!(p.not_yet_valid.certificate().effective_date() > SystemTime::now());

    assert!(!leaf.is_self_signed());
    assert!(!p.intermediate.certificate().is_self_signed());
    assert!(p.root.certificate().is_self_signed());
    assert!(p.self_signed.certificate().is_self_signed());
    assert!(!leaf.is_blacklisted());

    let key = leaf.public_key();
    assert!(!key.is_null());
    assert_eq!(key.key_type(), KeyType::PublicKey);
    assert_eq!(key.algorithm(), KeyAlgorithm::Rsa);
    assert_eq!(key.length(), 2048);
    let expected_pem = p.leaf.key.public_key_to_pem().unwrap();
    let expected = SslKey::new(
        &expected_pem,
        KeyAlgorithm::Rsa,
        EncodingFormat::Pem,
        KeyType::PublicKey,
        b"",
    );
    assert_eq!(key, expected);
    assert_eq!(key.to_der(), p.leaf.key.public_key_to_der().unwrap());
}

#[test]
fn ec_certificate_public_key() {
    let ec = mint(
        &Spec::leaf("ec.example").key(common::pki::KeyKind::EcP256),
        Some(&pki().intermediate),
    );
    let key = ec.certificate().public_key();
    assert_eq!(
        (key.algorithm(), key.key_type(), key.length()),
        (KeyAlgorithm::Ec, KeyType::PublicKey, 256)
    );
}

#[test]
fn null_certificate_gives_empty_values() {
    let mut null = SslCertificate::default();
    assert!(null.is_null());
    assert!(null.version().is_empty());
    assert!(null.serial_number().is_empty());
    // As Qt: the digest of no bytes.
    assert_eq!(
        null.digest(DigestAlgorithm::Md5),
        openssl::hash::hash(MessageDigest::md5(), b"")
            .unwrap()
            .to_vec()
    );
    assert!(null.subject_info(SubjectInfo::CommonName).is_empty());
    assert!(null.issuer_info(SubjectInfo::Organization).is_empty());
    assert!(null.subject_info_attributes().is_empty());
    assert!(null.subject_display_name().is_empty());
    assert!(null.subject_alternative_names().is_empty());
    assert_eq!(null.effective_date(), UNIX_EPOCH);
    assert_eq!(null.expiry_date(), UNIX_EPOCH);
    assert!(!null.is_self_signed());
    assert!(!null.is_blacklisted());
    assert!(null.public_key().is_null());
    assert!(null.to_pem().is_empty() && null.to_der().is_empty() && null.to_text().is_empty());
    assert_eq!(null, SslCertificate::default());
    assert_eq!(format!("{null:?}"), "SslCertificate(null)");

    let mut leaf = pki().leaf.certificate();
    assert_ne!(leaf, null);
    leaf.clear();
    assert!(leaf.is_null());
    assert_eq!(leaf, null);
    null.clear();
    assert!(null.is_null());
}

#[test]
fn equality_and_hash_follow_der() {
    let p = pki();
    let from_pem = p.leaf.certificate();
    let from_der = SslCertificate::from_data(&p.leaf.cert_der(), EncodingFormat::Der);
    assert_eq!(from_der, std::slice::from_ref(&from_pem));
    assert_ne!(from_pem, p.root.certificate());
    let set: HashSet<SslCertificate> = [
        from_pem.clone(),
        from_der[0].clone(),
        p.root.certificate(),
        SslCertificate::default(),
    ]
    .into_iter()
    .collect();
    assert_eq!(set.len(), 3);
    let debug = format!("{from_pem:?}");
    assert!(
        debug.contains("localhost") && debug.contains("Intermediate"),
        "{debug}"
    );
}

#[test]
fn pem_bundle_with_garbage_between_blocks() {
    let p = pki();
    let mut data = b"Bag Attributes\n  friendlyName: leaf\n".to_vec();
    data.extend(p.leaf.cert_pem());
    data.extend(b"\r\n# a comment\n");
    // CRLF line ends and trailing spaces after BEGIN are accepted, as in Qt.
    let crlf = String::from_utf8(p.intermediate.cert_pem())
        .unwrap()
        .replace('\n', "\r\n")
        .replacen("-----\r\n", "-----   \r\n", 1);
    data.extend(crlf.as_bytes());
    // A private key block between certificates: not a certificate, skipped.
    data.extend(p.leaf.key_pem());
    data.extend(p.root.cert_pem());
    let list = pem_list(&data);
    assert_eq!(
        list,
        [
            p.leaf.certificate(),
            p.intermediate.certificate(),
            p.root.certificate()
        ]
    );
}

#[test]
fn der_single_concatenated_and_mismatched_formats() {
    let p = pki();
    let mut der = p.leaf.cert_der();
    der.extend(p.intermediate.cert_der());
    der.extend(p.root.cert_der());
    let list = SslCertificate::from_data(&der, EncodingFormat::Der);
    assert_eq!(
        list,
        [
            p.leaf.certificate(),
            p.intermediate.certificate(),
            p.root.certificate()
        ]
    );

    // Trailing garbage stops the scan after the certificates before it.
    der.extend(b"trailing garbage");
    assert_eq!(
        SslCertificate::from_data(&der, EncodingFormat::Der).len(),
        3
    );

    // PEM read as DER and DER read as PEM give nothing (Qt's constructor_device test).
    assert!(SslCertificate::from_data(&p.leaf.cert_pem(), EncodingFormat::Der).is_empty());
    assert!(pem_list(&p.leaf.cert_der()).is_empty());
}

#[test]
fn garbage_and_truncated_input_give_empty_lists() {
    let p = pki();
    assert!(pem_list(b"").is_empty());
    assert!(SslCertificate::from_data(b"", EncodingFormat::Der).is_empty());
    assert!(pem_list(b"garbage").is_empty());
    assert!(pem_list(b"-----BEGIN CERTIFICATE-----").is_empty());
    assert!(pem_list(b"-----BEGIN CERTIFICATE-----\n").is_empty());
    assert!(pem_list(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n").is_empty());

    let pem = p.leaf.cert_pem();
    for cut in [pem.len() / 3, pem.len() / 2, pem.len() - 30] {
        assert!(pem_list(&pem[..cut]).is_empty(), "cut at {cut}");
    }
    // A complete certificate followed by a truncated one: the complete one survives.
    let mut two = p.root.cert_pem();
    two.extend(&pem[..pem.len() / 2]);
    assert_eq!(pem_list(&two), [p.root.certificate()]);

    let der = p.leaf.cert_der();
    for cut in [0, 1, 2, 4, 100, der.len() - 1] {
        assert!(
            SslCertificate::from_data(&der[..cut], EncodingFormat::Der).is_empty(),
            "cut at {cut}"
        );
    }

    // Random bytes and bit-flipped certificates: never a panic; whatever parses answers every
    // getter.
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    for round in 0..300 {
        let data: Vec<u8> = if round % 2 == 0 {
            (0..rng.next() % 1500).map(|_| rng.next() as u8).collect()
        } else {
            let mut d = der.clone();
            for _ in 0..1 + rng.next() % 4 {
                let at = (rng.next() as usize) % d.len();
                d[at] ^= 1 << (rng.next() % 8);
            }
            d
        };
        for format in [EncodingFormat::Der, EncodingFormat::Pem] {
            for c in SslCertificate::from_data(&data, format) {
                exercise(&c);
            }
        }
    }
}

fn exercise(c: &SslCertificate) {
    let _ = (
        c.version(),
        c.serial_number(),
        c.digest(DigestAlgorithm::Sha256),
        c.to_text(),
    );
    let _ = (
        c.subject_info(SubjectInfo::CommonName),
        c.issuer_info_attributes(),
        c.subject_display_name(),
    );
    let _ = (
        c.subject_alternative_names(),
        c.effective_date(),
        c.expiry_date(),
    );
    let _ = (
        c.is_self_signed(),
        c.is_blacklisted(),
        c.public_key(),
        c.to_pem(),
    );
}

struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn thousand_certificates_load_quickly() {
    let distinct: Vec<Identity> = (0..20)
        .map(|i| {
            mint(
                &Spec::leaf(&format!("host{i}.example")).key(common::pki::KeyKind::EcP256),
                None,
            )
        })
        .collect();
    let mut bundle = Vec::new();
    for i in 0..1000 {
        bundle.extend(distinct[i % distinct.len()].cert_pem());
    }
    let started = Instant::now();
    let list = pem_list(&bundle);
    let elapsed = started.elapsed();
    assert_eq!(list.len(), 1000);
    assert_eq!(list[999], distinct[999 % 20].certificate());
    assert!(
        elapsed < Duration::from_secs(3),
        "1000 certificates took {elapsed:?}"
    );

    let dir = tempdir();
    let path = dir.path().join("bundle.pem");
    std::fs::write(&path, &bundle).unwrap();
    let started = Instant::now();
    let list = SslCertificate::from_path(&path, EncodingFormat::Pem, PatternSyntax::FixedString);
    assert_eq!(list.len(), 1000);
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "from_path took {:?}",
        started.elapsed()
    );
}

fn tempdir() -> tempfile::TempDir {
    // Not the default ".tmpXXXX": pattern walks skip hidden directories.
    tempfile::Builder::new()
        .prefix("qsslcert")
        .tempdir()
        .unwrap()
}

#[test]
fn utf8_bmp_nul_and_unknown_attributes() {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COUNTRYNAME, "NO").unwrap();
    name.append_entry_by_nid(Nid::STATEORPROVINCENAME, "Oslo")
        .unwrap();
    name.append_entry_by_nid(Nid::LOCALITYNAME, "Tromsø")
        .unwrap();
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "HĕĂƲÿ ʍếʈặḻ Récördŝ")
        .unwrap();
    // A BMPString: U+4E2D U+0041 as UTF-16BE.
    name.append_entry_by_nid_with_type(Nid::ORGANIZATIONALUNITNAME, "N-\0A", Asn1Type::BMPSTRING)
        .unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, "www.bank.com\0.badguy.com")
        .unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, "日本語.example")
        .unwrap();
    name.append_entry_by_nid(Nid::PKCS9_EMAILADDRESS, "admin@example.org")
        .unwrap();
    name.append_entry_by_nid(Nid::SERIALNUMBER, "12345")
        .unwrap();
    name.append_entry_by_nid(Nid::DNQUALIFIER, "q").unwrap();
    name.append_entry_by_text("favouriteDrink", "tea").unwrap();
    name.append_entry_by_text("1.2.3.4.5", "custom").unwrap();
    let name = name.build();
    let c = mint_named(&name, None, |_| {}).certificate();

    assert_eq!(c.subject_info(SubjectInfo::CountryName), ["NO"]);
    assert_eq!(c.subject_info(SubjectInfo::StateOrProvinceName), ["Oslo"]);
    assert_eq!(c.subject_info(SubjectInfo::LocalityName), ["Tromsø"]);
    assert_eq!(
        c.subject_info(SubjectInfo::Organization),
        ["HĕĂƲÿ ʍếʈặḻ Récördŝ"]
    );
    assert_eq!(c.subject_info(SubjectInfo::OrganizationalUnitName), ["中A"]);
    // Qt's order: the last CN in the certificate first (Qt 6.11 through PyQt6 agrees).
    assert_eq!(
        c.subject_info(SubjectInfo::CommonName),
        ["日本語.example", "www.bank.com\0.badguy.com"]
    );
    assert_eq!(
        c.subject_info(SubjectInfo::EmailAddress),
        ["admin@example.org"]
    );
    assert_eq!(c.subject_info(SubjectInfo::SerialNumber), ["12345"]);
    assert_eq!(
        c.subject_info(SubjectInfo::DistinguishedNameQualifier),
        ["q"]
    );
    assert_eq!(c.subject_info_by_attribute(b"favouriteDrink"), ["tea"]);
    assert_eq!(c.subject_info_by_attribute(b"1.2.3.4.5"), ["custom"]);
    // Same certificate issues itself: the issuer side reads the same.
    assert_eq!(c.issuer_info(SubjectInfo::OrganizationalUnitName), ["中A"]);
    // Qt 6 (checked with 6.11): subjectInfo(CommonName).first() is the CN listed last.
    assert_eq!(c.subject_display_name(), "日本語.example");

    let attributes: Vec<String> = c
        .subject_info_attributes()
        .into_iter()
        .map(|a| String::from_utf8(a).unwrap())
        .collect();
    assert_eq!(
        attributes,
        [
            "1.2.3.4.5",
            "C",
            "CN",
            "L",
            "O",
            "OU",
            "ST",
            "dnQualifier",
            "emailAddress",
            "favouriteDrink",
            "serialNumber"
        ]
    );
}

#[test]
fn display_name_falls_back_to_organization_then_unit() {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::ORGANIZATIONALUNITNAME, "Foundations")
        .unwrap();
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "R&D")
        .unwrap();
    let with_o = mint_named(&name.build(), None, |_| {}).certificate();
    assert_eq!(with_o.subject_display_name(), "R&D");
    assert_eq!(with_o.issuer_display_name(), "R&D");

    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::ORGANIZATIONALUNITNAME, "Foundations")
        .unwrap();
    assert_eq!(
        mint_named(&name.build(), None, |_| {})
            .certificate()
            .subject_display_name(),
        "Foundations"
    );

    let empty = X509NameBuilder::new().unwrap().build();
    let anonymous = mint_named(&empty, None, |_| {}).certificate();
    assert_eq!(anonymous.subject_display_name(), "");
    assert!(anonymous.subject_info_attributes().is_empty());
}

#[test]
fn alternative_names_ipv6_and_email() {
    let spec = Spec::leaf("multi.example")
        .dns(&["multi.example", "*.multi.example"])
        .ips(&[
            "192.0.2.7",
            "2001:db8::1",
            "::ffff:192.0.2.1",
            "fe80::1:0:0:0",
            "2001:db8:0:0:1:0:0:1",
        ])
        .emails(&["ops@multi.example"]);
    let c = mint(&spec, Some(&pki().intermediate)).certificate();
    let names = c.subject_alternative_names();
    let expected = [
        (DnsEntry, "multi.example"),
        (DnsEntry, "*.multi.example"),
        (IpAddressEntry, "192.0.2.7"),
        (IpAddressEntry, "2001:db8::1"),
        (IpAddressEntry, "::ffff:192.0.2.1"),
        (IpAddressEntry, "fe80::1:0:0:0"),
        (IpAddressEntry, "2001:db8::1:0:0:1"),
        (EmailEntry, "ops@multi.example"),
    ];
    let expected: Vec<_> = expected.iter().map(|(k, v)| (*k, v.to_string())).collect();
    assert_eq!(names, expected);
    assert!(
        pki()
            .self_signed
            .certificate()
            .subject_alternative_names()
            .is_empty()
    );
}

#[test]
fn versions_serials_and_extreme_dates() {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, "dates").unwrap();
    let name = name.build();
    let c = mint_named(&name, None, |b| {
        b.set_version(0).unwrap();
        b.set_not_before(&Asn1Time::from_str("19500101000000Z").unwrap())
            .unwrap();
        b.set_not_after(&Asn1Time::from_str("99991231235959Z").unwrap())
            .unwrap();
        b.set_serial_number(&Asn1Integer::from_bn(&BigNum::from_u32(0).unwrap()).unwrap())
            .unwrap();
    })
    .certificate();
    assert_eq!(c.version(), b"1");
    assert_eq!(c.serial_number(), b"00");
    assert_eq!(
        c.effective_date(),
        UNIX_EPOCH - Duration::from_secs(631_152_000)
    );
    assert_eq!(
        c.expiry_date(),
        UNIX_EPOCH + Duration::from_secs(253_402_300_799)
    );

    let large = mint_named(&name, None, |b| {
        let serial = BigNum::from_slice(&serial_bytes(
            "01:02:03:04:05:06:07:08:09:10:aa:bb:cc:dd:ee:ff:17:18:19:20",
        ))
        .unwrap();
        b.set_serial_number(&Asn1Integer::from_bn(&serial).unwrap())
            .unwrap();
        // UTCTime up to 2049, GeneralizedTime from 2050 (Qt's largeExpirationDate test).
        b.set_not_after(&Asn1Time::from_str("20510829095341Z").unwrap())
            .unwrap();
    })
    .certificate();
    assert_eq!(
        large.serial_number(),
        b"01:02:03:04:05:06:07:08:09:10:aa:bb:cc:dd:ee:ff:17:18:19:20"
    );
    assert_eq!(
        large.expiry_date(),
        UNIX_EPOCH + Duration::from_secs(2_576_915_621)
    );

    let high_bit = mint(&Spec::leaf("high.example").serial(&[0xb0, 0x01]), None).certificate();
    assert_eq!(high_bit.serial_number(), b"b0:01");
    let negative = mint_named(&name, None, |b| {
        let serial = BigNum::from_dec_str("-5").unwrap();
        b.set_serial_number(&Asn1Integer::from_bn(&serial).unwrap())
            .unwrap();
    })
    .certificate();
    assert_eq!(negative.serial_number(), b"05");
}

#[test]
fn self_signed_means_own_signature() {
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, "Impostor")
        .unwrap();
    let name = name.build();
    // A self-signed leaf without keyCertSign is still self-signed by signature.
    assert!(
        mint(&Spec::leaf("leafy.example"), None)
            .certificate()
            .is_self_signed()
    );
    // Names itself as issuer but is signed by another key: not self-signed.
    let mut impostor_issuer = mint_named(&name, None, |_| {});
    impostor_issuer.key = common::pki::key(common::pki::KeyKind::Rsa2048, false);
    let impostor = mint_named(&name, Some(&impostor_issuer), |_| {}).certificate();
    assert_eq!(
        impostor.subject_display_name(),
        impostor.issuer_display_name()
    );
    assert!(!impostor.is_self_signed());
}

#[test]
fn blacklisted_serial_and_common_name_pairs() {
    let blacklisted = |cn: &str, serial: &str| {
        mint(&Spec::leaf(cn).serial(&serial_bytes(serial)), None)
            .certificate()
            .is_blacklisted()
    };
    assert!(blacklisted(
        "login.live.com",
        "b0:b7:13:3e:d0:96:f9:b5:6f:ae:91:c8:74:bd:3a:c0"
    ));
    assert!(blacklisted(
        "mail.google.com",
        "04:7e:cb:e9:fc:a5:5f:7b:d0:9e:ae:36:e1:0c:ae:1e"
    ));
    assert!(blacklisted(
        "MD5 Collisions Inc. (http://www.phreedom.org/md5)",
        "41"
    ));
    assert!(blacklisted("AC DG Trésor SSL", "03:1d:a7"));
    assert!(blacklisted("*.EGO.GOV.TR", "08:27"));
    // The serial alone, or the name alone, is not enough.
    assert!(!blacklisted("login.live.com", "41"));
    assert!(!blacklisted(
        "example.org",
        "b0:b7:13:3e:d0:96:f9:b5:6f:ae:91:c8:74:bd:3a:c0"
    ));
    assert!(!blacklisted("ac dg trésor ssl", "03:1d:a7"));

    // The listed name may be the issuer's CN.
    let root = mint(&Spec::ca("DigiNotar Root CA"), None);
    let leaf = mint(
        &Spec::leaf("www.example.nl").serial(&serial_bytes("46:9c:3c:c9")),
        Some(&root),
    )
    .certificate();
    assert_eq!(
        leaf.issuer_info(SubjectInfo::CommonName),
        ["DigiNotar Root CA"]
    );
    assert!(leaf.is_blacklisted());
}

/// root/
///   a.pem (leaf), b.pem (root + intermediate), c.der (client, DER), notes.txt, .hidden.pem,
///   link.pem -> sub/d.pem, broken.pem -> nowhere, loop -> . , empty.pem/ (a directory)
///   sub/d.pem (expired), sub/deeper/e.pem (wrong host)
struct Tree {
    _dir: tempfile::TempDir,
    root: String,
}

fn tree() -> Tree {
    let p = pki();
    let dir = tempdir();
    let root = dir.path();
    std::fs::create_dir_all(root.join("sub/deeper")).unwrap();
    std::fs::create_dir(root.join("empty.pem")).unwrap();
    std::fs::write(root.join("a.pem"), p.leaf.cert_pem()).unwrap();
    std::fs::write(
        root.join("b.pem"),
        [p.root.cert_pem(), p.intermediate.cert_pem()].concat(),
    )
    .unwrap();
    std::fs::write(root.join("c.der"), p.client.cert_der()).unwrap();
    std::fs::write(root.join("notes.txt"), b"not a certificate").unwrap();
    std::fs::write(root.join(".hidden.pem"), p.self_signed.cert_pem()).unwrap();
    std::fs::write(root.join("sub/d.pem"), p.expired.cert_pem()).unwrap();
    std::fs::write(root.join("sub/deeper/e.pem"), p.wrong_host.cert_pem()).unwrap();
    std::os::unix::fs::symlink(root.join("sub/d.pem"), root.join("link.pem")).unwrap();
    std::os::unix::fs::symlink(root.join("nowhere.pem"), root.join("broken.pem")).unwrap();
    std::os::unix::fs::symlink(".", root.join("loop")).unwrap();
    std::os::unix::fs::symlink("..", root.join("sub/up")).unwrap();
    let root = root.to_str().unwrap().to_owned();
    assert!(
        !root.contains([
            '*', '?', '[', '$', '(', ')', '+', '.', ']', '^', '{', '}', '|'
        ]),
        "{root}"
    );
    Tree { _dir: dir, root }
}

fn names(list: &[SslCertificate]) -> Vec<String> {
    list.iter().map(|c| c.subject_display_name()).collect()
}

#[test]
fn from_path_fixed_string() {
    let t = tree();
    let fixed = |rel: &str, format| {
        SslCertificate::from_path(
            format!("{}/{rel}", t.root),
            format,
            PatternSyntax::FixedString,
        )
    };
    assert_eq!(
        fixed("a.pem", EncodingFormat::Pem),
        [pki().leaf.certificate()]
    );
    assert_eq!(
        fixed("b.pem", EncodingFormat::Pem),
        [pki().root.certificate(), pki().intermediate.certificate()]
    );
    assert_eq!(
        fixed("c.der", EncodingFormat::Der),
        [pki().client.certificate()]
    );
    assert!(fixed("c.der", EncodingFormat::Pem).is_empty());
    assert!(fixed("a.pem", EncodingFormat::Der).is_empty());
    assert_eq!(
        fixed("link.pem", EncodingFormat::Pem),
        [pki().expired.certificate()]
    );
    assert!(fixed("notes.txt", EncodingFormat::Pem).is_empty());
    assert!(fixed("missing.pem", EncodingFormat::Pem).is_empty());
    assert!(fixed("broken.pem", EncodingFormat::Pem).is_empty());
    assert!(fixed("empty.pem", EncodingFormat::Pem).is_empty());
    assert!(fixed("", EncodingFormat::Pem).is_empty());
    // Metacharacters are literal: no walk happens.
    assert!(fixed("*.pem", EncodingFormat::Pem).is_empty());
    assert!(
        SslCertificate::from_path("", EncodingFormat::Pem, PatternSyntax::FixedString).is_empty()
    );
}

#[test]
fn from_path_wildcard() {
    let t = tree();
    let wild = |rel: &str| {
        SslCertificate::from_path(
            format!("{}/{rel}", t.root),
            EncodingFormat::Pem,
            PatternSyntax::Wildcard,
        )
    };
    // Sorted walk order: a.pem, b.pem (two), link.pem; broken links, hidden files, directories and
    // subdirectories are not matched by "*" (which does not cross "/").
    assert_eq!(
        names(&wild("*.pem")),
        [
            "localhost",
            "qsslsocket Test Root CA",
            "qsslsocket Test Intermediate CA",
            "localhost"
        ]
    );
    assert_eq!(wild("*.pem")[3], pki().expired.certificate());
    assert_eq!(wild("a.pem"), [pki().leaf.certificate()]);
    assert_eq!(wild("[ab].pem").len(), 3);
    assert_eq!(wild("[!a]*.pem").len(), 3);
    assert_eq!(wild("?.pem").len(), 3);
    assert_eq!(wild("s?b/*.pem"), [pki().expired.certificate()]);
    // "loop" points back at the root, which was already walked; sub/up points at the root too.
    assert_eq!(wild("*/*.pem"), [pki().expired.certificate()]);
    assert_eq!(wild("*/*/*.pem"), [pki().wrong_host.certificate()]);
    assert!(wild("*.nothing").is_empty());
    assert!(wild("x[a/b].pem").is_empty());
    assert!(wild("[ab.pem").is_empty());
    assert_eq!(
        SslCertificate::from_path(
            format!("{}/*.der", t.root),
            EncodingFormat::Der,
            PatternSyntax::Wildcard
        ),
        [pki().client.certificate()]
    );
    assert!(
        SslCertificate::from_path(
            "/nonexistent-qssl-dir/*.pem",
            EncodingFormat::Pem,
            PatternSyntax::Wildcard
        )
        .is_empty()
    );
}

#[test]
fn from_path_regexp() {
    let t = tree();
    let re = |rel: &str| {
        SslCertificate::from_path(
            format!("{}/{rel}", t.root),
            EncodingFormat::Pem,
            PatternSyntax::RegExp,
        )
    };
    // ".*" crosses directories; symlink loops end; hidden files stay hidden.
    let all = re(r".*\.pem");
    assert_eq!(all.len(), 6, "{:?}", names(&all));
    let set: HashSet<_> = all.into_iter().collect();
    let p = pki();
    let expected: HashSet<_> = [&p.leaf, &p.root, &p.intermediate, &p.expired, &p.wrong_host]
        .iter()
        .map(|i| i.certificate())
        .collect();
    assert_eq!(set, expected);
    assert_eq!(re(r"sub/(d|deeper/e)\.pem").len(), 2);
    assert_eq!(re(r"[a-b]\.pem").len(), 3);
    assert_eq!(re("a.pem"), [p.leaf.certificate()]);
    assert!(re(r"(unclosed\.pem").is_empty());
    assert!(re(r"nothing\.pem").is_empty());
    // Anchored: a pattern matching only part of a path selects nothing.
    assert!(re(r"a\.pe").is_empty());
}

#[test]
fn from_path_relative_pattern_walks_the_working_directory() {
    let t = tree();
    // The only test in this binary that depends on the working directory.
    std::env::set_current_dir(Path::new(&t.root)).unwrap();
    let wild = SslCertificate::from_path("*.pem", EncodingFormat::Pem, PatternSyntax::Wildcard);
    assert_eq!(wild.len(), 4);
    let sub = SslCertificate::from_path("sub/*.pem", EncodingFormat::Pem, PatternSyntax::Wildcard);
    assert_eq!(sub, [pki().expired.certificate()]);
    let re = SslCertificate::from_path(r"sub/.*\.pem", EncodingFormat::Pem, PatternSyntax::RegExp);
    assert_eq!(re.len(), 2);
    let fixed = SslCertificate::from_path("a.pem", EncodingFormat::Pem, PatternSyntax::FixedString);
    assert_eq!(fixed, [pki().leaf.certificate()]);
    std::env::set_current_dir("/").unwrap();
}
