//! Reading X.509 names and subjectAltName entries the way Qt presents them: attributes keyed by
//! OpenSSL's short name (or the dotted OID when OpenSSL has no name for it), values as UTF-8 text
//! with embedded NULs kept, IP addresses as `QHostAddress::toString` writes them.

use std::fmt::Write as _;

use openssl::error::ErrorStack;
use openssl::nid::Nid;
use openssl::x509::{X509NameRef, X509Ref};

use crate::ffi::x509 as ffi;
use crate::{AlternativeNameEntryType, SubjectInfo};

/// One `attribute=value` entry of a distinguished name, in certificate order.
pub(super) struct NameEntry {
    pub(super) attribute: Vec<u8>,
    pub(super) value: String,
}

/// The entries of `name`, in the order the certificate lists them.
pub(super) fn entries(name: &X509NameRef) -> Vec<NameEntry> {
    name.entries()
        .map(|entry| {
            let object = entry.object();
            let attribute = match object.nid() {
                Nid::UNDEF => object.to_string(),
                nid => nid
                    .short_name()
                    .map_or_else(|_| object.to_string(), str::to_owned),
            };
            // A value OpenSSL cannot convert (an unknown string type) reads as empty, as in Qt.
            let value = entry.data().to_string().unwrap_or_default();
            NameEntry {
                attribute: attribute.into_bytes(),
                value,
            }
        })
        .collect()
}

/// The values of `attribute` in `name`, in certificate order.
pub(super) fn values(name: &X509NameRef, attribute: &[u8]) -> Vec<String> {
    entries(name)
        .into_iter()
        .filter(|e| e.attribute == attribute)
        .map(|e| e.value)
        .collect()
}

/// The distinct attributes of `name`, sorted bytewise (Qt's `QMultiMap::uniqueKeys()` order).
pub(super) fn attributes(name: &X509NameRef) -> Vec<Vec<u8>> {
    let mut keys: Vec<Vec<u8>> = entries(name).into_iter().map(|e| e.attribute).collect();
    keys.sort();
    keys.dedup();
    keys
}

/// `values` as Qt's `subjectInfo`/`issuerInfo` list them: most recent (last in the certificate)
/// first.
pub(super) fn values_qt_order(name: &X509NameRef, attribute: &[u8]) -> Vec<String> {
    let mut values = values(name, attribute);
    values.reverse();
    values
}

/// Qt 6's `subjectDisplayName()` rule: `subjectInfo(CommonName).first()`, else the same for O,
/// else for OU. Qt's `subjectInfo` lists several values of one attribute most recent first (its
/// `QMultiMap` inserts each at the front of its key's range), so that is the **last** CN (O, OU)
/// in certificate order.
pub(super) fn display_name(name: &X509NameRef) -> String {
    let entries = entries(name);
    [
        SubjectInfo::CommonName,
        SubjectInfo::Organization,
        SubjectInfo::OrganizationalUnitName,
    ]
    .into_iter()
    .find_map(|info| {
        let key = attribute_of(info).as_bytes();
        entries
            .iter()
            .rev()
            .find(|e| e.attribute == key)
            .map(|e| e.value.clone())
    })
    .unwrap_or_default()
}

/// The attribute short name Qt uses for a `SubjectInfo`.
pub(super) fn attribute_of(info: SubjectInfo) -> &'static str {
    match info {
        SubjectInfo::Organization => "O",
        SubjectInfo::CommonName => "CN",
        SubjectInfo::LocalityName => "L",
        SubjectInfo::OrganizationalUnitName => "OU",
        SubjectInfo::CountryName => "C",
        SubjectInfo::StateOrProvinceName => "ST",
        SubjectInfo::DistinguishedNameQualifier => "dnQualifier",
        SubjectInfo::SerialNumber => "serialNumber",
        SubjectInfo::EmailAddress => "emailAddress",
    }
}

/// Qt skips subjectAltName strings of this many bytes or more as broken
/// (`subjectAlternativeNames`).
const MAX_SAN_LEN: usize = 8192;

/// Bytes as Latin-1 text, every byte the character with that code (Qt's `QString::fromLatin1`).
pub(crate) fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| char::from(b)).collect()
}

/// The DNS, email and IP entries of the subjectAltName extension, in certificate order, decoded
/// as Qt 6's `subjectAlternativeNames` does: DNS and email bytes as Latin-1 (whatever they
/// contain), IP addresses as `QHostAddress::toString` text. Entries of other kinds, IP addresses
/// that are neither 4 nor 16 bytes and entries of 8 KiB or more are skipped, as in Qt.
pub(super) fn alternative_names(x509: &X509Ref) -> Vec<(AlternativeNameEntryType, String)> {
    let Some(names) = x509.subject_alt_names() else {
        // A malformed extension leaves its parse error on the thread's queue: drop it.
        let _ = ErrorStack::get();
        return Vec::new();
    };
    let mut out = Vec::new();
    for name in &names {
        let (kind, bytes) = if let Some(dns) = ffi::dns_name_bytes(name) {
            (AlternativeNameEntryType::DnsEntry, dns)
        } else if let Some(email) = ffi::email_bytes(name) {
            (AlternativeNameEntryType::EmailEntry, email)
        } else if let Some(ip) = name.ipaddress() {
            (AlternativeNameEntryType::IpAddressEntry, ip)
        } else {
            continue;
        };
        if bytes.len() >= MAX_SAN_LEN {
            continue;
        }
        let text = match kind {
            AlternativeNameEntryType::IpAddressEntry => match ip_address_text(bytes) {
                Some(text) => text,
                None => continue,
            },
            _ => latin1(bytes),
        };
        out.push((kind, text));
    }
    out
}

/// An iPAddress entry as Qt's `QHostAddress::toString()` writes it: dotted quad for IPv4,
/// lower-case compressed hex for IPv6 with an embedded IPv4 tail for `::ffff:a.b.c.d` and
/// `::a.b.c.d`. `None` for any other length.
fn ip_address_text(bytes: &[u8]) -> Option<String> {
    match bytes.len() {
        4 => Some(format!(
            "{}.{}.{}.{}",
            bytes[0], bytes[1], bytes[2], bytes[3]
        )),
        16 => {
            let mut address = [0u8; 16];
            address.copy_from_slice(bytes);
            Some(ipv6_text(&address))
        }
        _ => None,
    }
}

fn ipv6_text(a: &[u8; 16]) -> String {
    let mut embedded_ipv4 = false;
    if a[..10].iter().all(|&b| b == 0) {
        if a[10] == 0xff && a[11] == 0xff {
            embedded_ipv4 = true;
        } else if a[10] == 0 && a[11] == 0 {
            if a[12] != 0 || a[13] != 0 || a[14] != 0 {
                embedded_ipv4 = true;
            } else if a[15] == 0 {
                return "::".to_owned();
            }
        }
    }

    // The first longest run of zero groups, compressed only if it spans two groups or more.
    let mut run_len = 0;
    let mut run_at = 0;
    let mut i = 0;
    while i < 16 {
        if a[i] == 0 && a[i + 1] == 0 {
            let mut j = i;
            while j < 16 && a[j] == 0 && a[j + 1] == 0 {
                j += 2;
            }
            if j - i > run_len {
                run_len = j - i;
                run_at = i;
            }
            i = j;
        }
        i += 2;
    }
    let run_at = if run_len < 4 { None } else { Some(run_at) };

    let mut out = String::with_capacity(39);
    if run_at == Some(0) {
        out.push(':');
    }
    let mut i = 0;
    while i < 16 {
        if Some(i) == run_at {
            out.push(':');
            i += run_len;
            continue;
        }
        if i == 12 && embedded_ipv4 {
            let _ = write!(out, "{}.{}.{}.{}", a[12], a[13], a[14], a[15]);
            return out;
        }
        let group = u16::from_be_bytes([a[i], a[i + 1]]);
        let _ = write!(out, "{group:x}");
        if i != 14 {
            out.push(':');
        }
        i += 2;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl::x509::X509NameBuilder;

    fn name(entries: &[(Nid, &str)]) -> openssl::x509::X509Name {
        let mut name = X509NameBuilder::new().unwrap();
        for &(nid, value) in entries {
            name.append_entry_by_nid(nid, value).unwrap();
        }
        name.build()
    }

    /// A self-signed certificate whose subjectAltName extension holds the DER `general_names`
    /// (the contents of the GeneralNames SEQUENCE), so entries can carry any bytes.
    fn with_raw_san(general_names: &[u8]) -> openssl::x509::X509 {
        use openssl::asn1::{Asn1Object, Asn1OctetString};
        use openssl::x509::X509Extension;
        let key = crate::certificate::mint::p256_key().unwrap();
        let subject = name(&[(Nid::COMMONNAME, "raw SAN")]);
        let mut der = vec![0x30, 0x82];
        der.extend_from_slice(&u16::try_from(general_names.len()).unwrap().to_be_bytes());
        der.extend_from_slice(general_names);
        let san = X509Extension::new_from_der(
            &Asn1Object::from_str("2.5.29.17").unwrap(),
            false,
            &Asn1OctetString::new_from_bytes(&der).unwrap(),
        )
        .unwrap();
        crate::certificate::mint::self_signed(&subject, &key, 2, [san]).unwrap()
    }

    /// One GeneralName: context tag `tag` (primitive), long-form length.
    fn general_name(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![0x80 | tag, 0x82];
        out.extend_from_slice(&u16::try_from(value.len()).unwrap().to_be_bytes());
        out.extend_from_slice(value);
        out
    }

    #[test]
    fn alternative_names_read_bytes_as_latin1_like_qt() {
        use AlternativeNameEntryType::*;
        let (email, dns, ip) = (1, 2, 7);
        let mut names = Vec::new();
        names.extend(general_name(dns, b"caf\xe9.example"));
        names.extend(general_name(dns, "utf\u{e9}.example".as_bytes()));
        names.extend(general_name(email, "u\u{e9}@example.org".as_bytes()));
        names.extend(general_name(email, b"\xe9t\xe9@example.org"));
        names.extend(general_name(ip, &[127, 0, 0, 1]));
        names.extend(general_name(ip, &[1, 2, 3]));
        names.extend(general_name(dns, &[b'a'; MAX_SAN_LEN]));
        names.extend(general_name(dns, &[b'b'; MAX_SAN_LEN - 1]));
        let x509 = with_raw_san(&names);
        // What Qt 6.11's subjectAlternativeNames() shows for the same entries.
        assert_eq!(
            alternative_names(&x509),
            [
                (DnsEntry, "caf\u{e9}.example".to_owned()),
                (DnsEntry, "utf\u{c3}\u{a9}.example".to_owned()),
                (EmailEntry, "u\u{c3}\u{a9}@example.org".to_owned()),
                (EmailEntry, "\u{e9}t\u{e9}@example.org".to_owned()),
                (IpAddressEntry, "127.0.0.1".to_owned()),
                (DnsEntry, "b".repeat(MAX_SAN_LEN - 1)),
            ]
        );
    }

    #[test]
    fn display_name_is_qts_first_value_the_last_in_certificate_order() {
        let two_cns = name(&[
            (Nid::COMMONNAME, "first.example"),
            (Nid::ORGANIZATIONNAME, "Org"),
            (Nid::COMMONNAME, "second.example"),
        ]);
        assert_eq!(values(&two_cns, b"CN"), ["first.example", "second.example"]);
        assert_eq!(display_name(&two_cns), "second.example");
        let two_os = name(&[
            (Nid::ORGANIZATIONALUNITNAME, "Unit"),
            (Nid::ORGANIZATIONNAME, "First Org"),
            (Nid::ORGANIZATIONNAME, "Second Org"),
        ]);
        assert_eq!(display_name(&two_os), "Second Org");
        let two_ous = name(&[
            (Nid::ORGANIZATIONALUNITNAME, "First Unit"),
            (Nid::ORGANIZATIONALUNITNAME, "Second Unit"),
        ]);
        assert_eq!(display_name(&two_ous), "Second Unit");
    }

    fn v6(text: &str) -> String {
        let address: std::net::Ipv6Addr = text.parse().expect("test literal");
        ip_address_text(&address.octets()).expect("16 bytes")
    }

    #[test]
    fn ipv6_in_qt_form() {
        assert_eq!(v6("::"), "::");
        assert_eq!(v6("::1"), "::1");
        assert_eq!(v6("2001:db8::1"), "2001:db8::1");
        assert_eq!(v6("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        assert_eq!(v6("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
        assert_eq!(v6("fe80::"), "fe80::");
        assert_eq!(v6("1:0:0:0:0:0:0:0"), "1::");
        assert_eq!(v6("::ffff:192.0.2.1"), "::ffff:192.0.2.1");
        assert_eq!(v6("::192.0.2.1"), "::192.0.2.1");
        assert_eq!(v6("FFFF:0ABC::"), "ffff:abc::");
        assert_eq!(
            ip_address_text(&[127, 0, 0, 1]).as_deref(),
            Some("127.0.0.1")
        );
        assert_eq!(ip_address_text(&[1, 2, 3]), None);
    }
}
