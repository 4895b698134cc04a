//! The analysis behind [`SslCipher::report`](crate::SslCipher::report): a catalogue of every
//! suite OpenSSL knows and what each security level lets a client offer (built once), and the
//! classification of each token of a cipher string.

use std::collections::{HashMap, HashSet};

use once_cell::sync::Lazy;
use openssl::ssl::{Ssl, SslContextBuilder, SslMethod};

use super::report::{
    CipherAvailability, CipherOperator, CipherReport, CipherReportEntry, CipherTokenKind,
};
use super::resolve::{Scratch, is_psk, is_srp, resolve_cipher_string, tokens};
use crate::SslCipher;

/// Every suite in OpenSSL's tables (whatever this build can use) with its IANA name, and what
/// each security level lets a client offer. Computed once.
struct Catalog {
    suites: Vec<(SslCipher, Option<String>)>,
    /// Name -> highest security level (0..=5) at which a client offers it by default.
    max_level: HashMap<String, u32>,
    /// Names offered at level 0 once every protocol version this build has is allowed.
    full_range: HashSet<String>,
    default_level: u32,
}

static CATALOG: Lazy<Catalog> = Lazy::new(Catalog::load);

impl Catalog {
    fn load() -> Catalog {
        let mut catalog = Catalog {
            suites: Vec::new(),
            max_level: HashMap::new(),
            full_range: HashSet::new(),
            default_level: 1,
        };
        let Ok(builder) = SslContextBuilder::new(SslMethod::tls_client()) else {
            return catalog;
        };
        let context = builder.build();
        catalog.default_level = context.security_level();
        // Every two-byte suite id: OpenSSL maps the ones in its tables, usable or not.
        let ids: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_be_bytes).collect();
        if let Ok(lists) = Ssl::new(&context).and_then(|ssl| ssl.bytes_to_cipher_list(&ids, false))
        {
            catalog.suites = lists
                .suites
                .iter()
                .map(|c| {
                    (
                        SslCipher::from_openssl(c),
                        c.standard_name().map(str::to_owned),
                    )
                })
                .collect();
        }
        let Some(mut scratch) = Scratch::new() else {
            return catalog;
        };
        let tls13: Vec<&str> = catalog
            .suites
            .iter()
            .filter(|(c, _)| c.is_tls13())
            .map(|(c, _)| c.name.as_str())
            .collect();
        scratch.set_lists(Some("ALL:COMPLEMENTOFALL"), &tls13.join(":"));
        for level in 0..=5 {
            scratch.set_security_level(level);
            for cipher in scratch.offered() {
                catalog.max_level.insert(cipher.name, level);
            }
        }
        scratch.set_security_level(0);
        if scratch.set_protocol_range_to_all() {
            catalog.full_range = scratch.offered().into_iter().map(|c| c.name).collect();
        }
        catalog
    }

    fn suite(&self, name: &str) -> Option<&SslCipher> {
        self.suites.iter().map(|(c, _)| c).find(|c| c.name == name)
    }

    fn by_standard_name(&self, name: &str) -> Option<&SslCipher> {
        self.suites
            .iter()
            .find(|(_, s)| s.as_deref() == Some(name))
            .map(|(c, _)| c)
    }
}

pub(super) fn build(string: &str) -> CipherReport {
    let catalog = &*CATALOG;
    let resolved = resolve_cipher_string(string);
    let tokens = tokens(string);
    let rejected = tokens.iter().any(|t| is_invalid_command(t));
    let level = if rejected {
        catalog.default_level
    } else {
        tokens
            .iter()
            .rev()
            .find_map(|t| seclevel(t))
            .unwrap_or(catalog.default_level)
    };
    let mut scratch = Scratch::new();
    let entries: Vec<CipherReportEntry> = tokens
        .iter()
        .enumerate()
        .map(|(i, token)| match scratch.as_mut() {
            Some(scratch) => entry(catalog, scratch, token, i == 0, level),
            None => bare_entry(
                token,
                CipherOperator::Add,
                CipherTokenKind::Unrecognized,
                CipherAvailability::NotNegotiable,
            ),
        })
        .collect();
    CipherReport {
        string: string.to_owned(),
        entries,
        ciphers: resolved.ciphers,
        security_level: level,
        rejected,
    }
}

fn entry(
    catalog: &Catalog,
    scratch: &mut Scratch,
    token: &str,
    first: bool,
    level: u32,
) -> CipherReportEntry {
    let (operator, body) = match token.as_bytes().first() {
        Some(b'-') => (CipherOperator::Remove, &token[1..]),
        Some(b'!') => (CipherOperator::Forbid, &token[1..]),
        Some(b'+') => (CipherOperator::MoveToEnd, &token[1..]),
        _ => (CipherOperator::Add, token),
    };
    let mut e = bare_entry(
        token,
        operator,
        CipherTokenKind::Unrecognized,
        CipherAvailability::UnknownName,
    );
    if let Some(command) = body.strip_prefix('@') {
        e.kind = match seclevel(token) {
            Some(n) => CipherTokenKind::SecurityLevel(n),
            None if command == "STRENGTH" => CipherTokenKind::SortByStrength,
            None => CipherTokenKind::Command,
        };
        e.availability = if valid_command(token) {
            CipherAvailability::Applied
        } else {
            CipherAvailability::Rejected
        };
        return e;
    }
    if scratch.is_tls13_name(body) {
        e.kind = CipherTokenKind::Tls13Suite;
        e.ciphers = catalog.suite(body).cloned().into_iter().collect();
        if operator != CipherOperator::Add {
            e.availability = CipherAvailability::Ignored;
            e.notes.push(
                "OpenSSL's TLS 1.3 list takes plain names only; list the suites to keep instead"
                    .into(),
            );
            return e;
        }
        e.availability = availability(catalog, &e.ciphers, level);
        if !matches!(e.availability, CipherAvailability::Provided) {
            e.ciphers.clear();
        }
        suite_notes(catalog, &mut e, body);
        return e;
    }
    if body == "DEFAULT" && !first {
        e.kind = CipherTokenKind::Keyword;
        e.availability = CipherAvailability::Ignored;
        e.notes
            .push("OpenSSL reads DEFAULT as its default list only at the start of a string".into());
        return e;
    }
    scratch.set_security_level(catalog.default_level);
    if !scratch.set_lists(Some(body), "") {
        unmatched(catalog, &mut e, body);
        return e;
    }
    let matched: Vec<SslCipher> = scratch
        .listed()
        .into_iter()
        .filter(|c| !c.is_tls13())
        .collect();
    let exact = matched.len() == 1 && matched[0].name == body;
    e.kind = if exact {
        CipherTokenKind::Suite
    } else {
        CipherTokenKind::Keyword
    };
    if operator != CipherOperator::Add {
        e.availability = CipherAvailability::Provided;
        e.ciphers = matched;
        return e;
    }
    e.availability = availability(catalog, &matched, level);
    e.ciphers = matched
        .iter()
        .filter(|c| offered_at(catalog, c, level))
        .cloned()
        .collect();
    if exact {
        suite_notes(catalog, &mut e, body);
    } else {
        e.notes.push(format!(
            "selects {} suites, {} offered at security level {level}",
            matched.len(),
            e.ciphers.len()
        ));
    }
    e
}

fn bare_entry(
    token: &str,
    operator: CipherOperator,
    kind: CipherTokenKind,
    availability: CipherAvailability,
) -> CipherReportEntry {
    CipherReportEntry {
        token: token.to_owned(),
        operator,
        kind,
        availability,
        ciphers: Vec::new(),
        notes: Vec::new(),
    }
}

fn offered_at(catalog: &Catalog, cipher: &SslCipher, level: u32) -> bool {
    catalog
        .max_level
        .get(&cipher.name)
        .is_some_and(|&max| max >= level)
}

/// Why a set of matched suites is (not) usable at `level`.
fn availability(catalog: &Catalog, matched: &[SslCipher], level: u32) -> CipherAvailability {
    let offered: Vec<&SslCipher> = matched
        .iter()
        .filter(|c| offered_at(catalog, c, level))
        .collect();
    if offered.iter().any(|c| !is_psk(c)) {
        return CipherAvailability::Provided;
    }
    if let Some(psk) = offered.first() {
        // OpenSSL offers PSK suites, but the crate has no way to configure a pre-shared key,
        // so a handshake limited to them fails ("no ciphers available").
        return CipherAvailability::NeedsCredentials {
            kind: psk.key_exchange_method.clone(),
        };
    }
    if let Some(best) = matched
        .iter()
        .filter_map(|c| catalog.max_level.get(&c.name))
        .max()
    {
        return CipherAvailability::DisabledBySecurityLevel {
            level,
            usable_up_to: *best,
        };
    }
    if let Some(srp) = matched.iter().find(|c| is_srp(c)) {
        return CipherAvailability::NeedsCredentials {
            kind: srp.key_exchange_method.clone(),
        };
    }
    if let Some(c) = matched
        .iter()
        .find(|c| catalog.full_range.contains(&c.name))
    {
        return CipherAvailability::ProtocolUnavailable {
            protocol: c.protocol_string.clone(),
        };
    }
    CipherAvailability::NotNegotiable
}

/// Classifies a token OpenSSL's cipher list does not match.
fn unmatched(catalog: &Catalog, e: &mut CipherReportEntry, body: &str) {
    if let Some(suite) = catalog.suite(body) {
        e.kind = CipherTokenKind::Suite;
        e.availability = CipherAvailability::AlgorithmUnavailable {
            encryption: suite.encryption_method.clone(),
        };
    } else if body.split('+').all(|part| KEYWORDS.contains(&part)) {
        e.kind = CipherTokenKind::Keyword;
        e.availability = CipherAvailability::MatchesNothing;
    } else if SSLV2_SUITES.contains(&body) {
        e.kind = CipherTokenKind::Suite;
        e.availability = CipherAvailability::ProtocolUnavailable {
            protocol: "SSLv2".into(),
        };
        e.notes
            .push("SSL 2.0 suites were removed in OpenSSL 1.1.0".into());
    } else if let Some(suite) = catalog.by_standard_name(body) {
        e.notes.push(format!(
            "the IANA name of {}: OpenSSL cipher strings take OpenSSL names",
            suite.name
        ));
    } else if body.starts_with("EXP") {
        e.notes
            .push("export-grade suites were removed in OpenSSL 1.1.0".into());
    } else if ["DES-CBC3", "3DES", "RC4", "DES-CBC-", "RC2"]
        .iter()
        .any(|w| body.contains(w))
    {
        e.notes.push("3DES and RC4 suites are absent from OpenSSL builds without weak-ssl-ciphers; single DES and RC2 were removed in 1.1.0".into());
    }
}

/// Facts about one named suite.
fn suite_notes(catalog: &Catalog, e: &mut CipherReportEntry, name: &str) {
    let Some(c) = catalog.suite(name) else { return };
    e.notes.push(format!(
        "{}, Kx={} Au={} Enc={}",
        c.protocol_string, c.key_exchange_method, c.authentication_method, c.encryption_method
    ));
    if let Some(&max) = catalog.max_level.get(name).filter(|&&m| m < 5) {
        e.notes
            .push(format!("OpenSSL offers it up to security level {max}"));
    }
    if c.protocol_string == "SSLv3" {
        e.notes.push("labelled SSLv3 (where it was defined; Qt 6 reports UnknownProtocol); it runs over TLS 1.0-1.2".into());
    }
    match c.key_exchange_method.as_str() {
        "RSA" => e.notes.push("RSA key exchange: no forward secrecy".into()),
        "DH" => e.notes.push("ephemeral DH: OpenSSL picks the server's DH parameters (SSL_CTX_set_dh_auto), as in Qt 6".into()),
        kx if kx.contains("PSK") => e.notes.push("needs a pre-shared key on both sides".into()),
        _ => {}
    }
    match c.authentication_method.as_str() {
        "DSS" => e
            .notes
            .push("authenticated with DSA: the server needs a DSA certificate".into()),
        "ECDSA" => e.notes.push("the server needs an ECDSA certificate".into()),
        "None" => e
            .notes
            .push("anonymous: no server authentication (Qt never lists these)".into()),
        _ => {}
    }
    if crate::defaults::supported_cipher_list()
        .iter()
        .all(|s| s.name != name)
    {
        e.notes.push("not in OpenSSL's DEFAULT list, so Qt's QSslCipher(name) and setCiphers(QString) drop it".into());
    }
}

/// `@SECLEVEL=n` with a valid level.
fn seclevel(token: &str) -> Option<u32> {
    let digit = token.strip_prefix("@SECLEVEL=")?;
    (digit.len() == 1)
        .then(|| digit.parse().ok())
        .flatten()
        .filter(|&n| n <= 5)
}

/// The `@` commands OpenSSL accepts (without an operator in front).
fn valid_command(token: &str) -> bool {
    token == "@STRENGTH" || seclevel(token).is_some()
}

/// An `@` command, possibly behind an operator, that OpenSSL rejects with the whole string.
fn is_invalid_command(token: &str) -> bool {
    let body = token.strip_prefix(['!', '-', '+']).unwrap_or(token);
    body.starts_with('@') && !valid_command(token)
}

#[rustfmt::skip]
/// OpenSSL's cipher-string keywords (`cipher_aliases`), used only to tell "a keyword that
/// selects nothing here" from "an unknown name".
const KEYWORDS: &[&str] = &[
    "ALL", "COMPLEMENTOFALL", "COMPLEMENTOFDEFAULT", "DEFAULT", "kRSA", "kEDH", "kDHE", "DH",
    "kEECDH", "kECDHE", "ECDH", "kPSK", "kRSAPSK", "kECDHEPSK", "kDHEPSK", "kSRP", "kGOST",
    "kGOST18", "aRSA", "aDSS", "DSS", "aNULL", "aECDSA", "ECDSA", "aPSK", "aGOST01", "aGOST12",
    "aGOST", "aSRP", "EDH", "DHE", "EECDH", "ECDHE", "NULL", "RSA", "ADH", "AECDH", "PSK", "SRP",
    "3DES", "RC4", "RC2", "IDEA", "SEED", "eNULL", "GOST", "AES128", "AES256", "AES", "AESGCM",
    "AESCCM", "AESCCM8", "CAMELLIA128", "CAMELLIA256", "CAMELLIA", "CHACHA20", "ARIA", "ARIA128",
    "ARIA256", "ARIAGCM", "CBC", "MD5", "SHA1", "SHA", "GOST94", "GOST89MAC", "SHA256", "SHA384",
    "GOST12", "SSLv3", "TLSv1", "TLSv1.0", "TLSv1.2", "DTLSv1", "DTLSv1.0", "DTLSv1.2", "LOW",
    "MEDIUM", "HIGH", "FIPS",
];

#[rustfmt::skip]
/// Suite names that existed only in SSL 2.0.
const SSLV2_SUITES: &[&str] = &[
    "RC2-CBC-MD5", "EXP-RC2-CBC-MD5", "IDEA-CBC-MD5", "DES-CBC-MD5", "DES-CBC3-MD5", "RC4-64-MD5",
];
