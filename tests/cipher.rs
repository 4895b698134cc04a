//! `SslCipher`, cipher strings (`set_ciphers_str`) and `SslCipher::report`, against the linked
//! OpenSSL (Qt scenarios S3/S4 of qt-semantics.md §6.2, plus the crate's extensions).

mod common;

use qsslsocket::{
    CipherAvailability, CipherOperator, CipherTokenKind, SslCipher, SslConfiguration, SslProtocol,
    SslSocket,
};

fn names(ciphers: &[SslCipher]) -> Vec<String> {
    ciphers.iter().map(SslCipher::name).collect()
}

fn resolved(s: &str) -> Vec<SslCipher> {
    let mut config = SslConfiguration::new();
    config.set_ciphers_str(s);
    config.ciphers()
}

fn openssl_major() -> i64 {
    SslSocket::ssl_library_version_number() >> 28
}

#[test]
fn s3_string_form_equals_list_form() {
    let supported = SslSocket::supported_ciphers();
    assert!(supported.len() >= 3);
    let first3 = supported[..3].to_vec();
    let mut by_list = SslConfiguration::new();
    by_list.set_ciphers(first3.clone());
    let mut by_string = SslConfiguration::new();
    by_string.set_ciphers_str(&names(&first3).join(":"));
    assert_eq!(by_string.ciphers(), by_list.ciphers());
    assert_eq!(by_string.ciphers(), first3);

    // Any order, mixing TLS 1.3 and older suites, comes back as written.
    let picked: Vec<SslCipher> = [supported.len() - 1, 0, supported.len() / 2, 1]
        .iter()
        .map(|&i| supported[i].clone())
        .collect();
    assert_eq!(resolved(&names(&picked).join(":")), picked);
}

#[test]
fn keyword_strings_resolve_through_openssl() {
    // Qt ignored keywords ("ALL:!ADH:@STRENGTH" gave an empty list); OpenSSL resolves them.
    let all = resolved("ALL:!ADH:@STRENGTH");
    assert!(all.len() > 20, "{all:?}");
    assert!(all.iter().all(|c| !c.name().starts_with("ADH-")));

    let high = resolved("HIGH:!aNULL:@STRENGTH");
    assert!(high.len() > 10);
    assert!(
        high.iter()
            .all(|c| c.authentication_method() != "None" && c.used_bits() >= 128)
    );
    let pre13: Vec<i32> = high
        .iter()
        .filter(|c| c.protocol() != SslProtocol::TlsV1_3)
        .map(SslCipher::used_bits)
        .collect();
    assert!(
        pre13.windows(2).all(|w| w[0] >= w[1]),
        "@STRENGTH sorts by strength: {pre13:?}"
    );

    let krsa = resolved("kRSA");
    assert!(!krsa.is_empty());
    assert!(
        krsa.iter().all(|c| c.key_exchange_method() == "RSA"),
        "{krsa:?}"
    );

    // '+' moves to the end, '-' removes, and OpenSSL's other separators work.
    let moved = resolved("AES128-SHA AES256-SHA,DHE-RSA-AES256-SHA:+AES128-SHA");
    assert_eq!(
        names(&moved),
        ["AES256-SHA", "DHE-RSA-AES256-SHA", "AES128-SHA"]
    );
    assert_eq!(
        names(&resolved("AES128-SHA:AES256-SHA:-AES128-SHA")),
        ["AES256-SHA"]
    );
}

#[test]
fn unknown_names_are_dropped_and_order_kept() {
    let got = resolved(
        "ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH-CIPHER:AES256-SHA:TLS_AES_128_GCM_SHA256:ALSO-NOT",
    );
    assert_eq!(
        names(&got),
        [
            "ECDHE-RSA-AES128-GCM-SHA256",
            "AES256-SHA",
            "TLS_AES_128_GCM_SHA256"
        ]
    );
    // Qt's h2 scenario: one good name and one unknown.
    assert_eq!(
        names(&resolved("ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH-CIPHER")),
        ["ECDHE-RSA-AES128-GCM-SHA256"]
    );
}

#[test]
fn nothing_resolving_leaves_the_defaults() {
    let mut config = SslConfiguration::default_configuration();
    config.set_ciphers_str("NOPE:FOO");
    assert!(
        config.ciphers().is_empty(),
        "Qt 6: an empty list, meaning the defaults at handshake time"
    );
    config.set_ciphers_str("");
    assert!(config.ciphers().is_empty());
    // An invalid @command makes OpenSSL reject the whole string.
    config.set_ciphers_str("AES256-SHA:@NOSUCHCOMMAND");
    assert!(config.ciphers().is_empty());
    // An anonymous suite is ruled out by the default security level...
    assert!(resolved("ADH-AES256-SHA").is_empty());
    // ...unless the string lowers it.
    assert_eq!(
        names(&resolved("ADH-AES256-SHA:@SECLEVEL=0")),
        ["ADH-AES256-SHA"]
    );
}

#[test]
fn s4_cipher_objects() {
    let supported = SslSocket::supported_ciphers();
    assert!(!supported.is_empty());
    for cipher in &supported {
        assert!(!cipher.is_null() && !cipher.name().is_empty());
        assert_eq!(
            &SslCipher::with_protocol(&cipher.name(), cipher.protocol()),
            cipher
        );
        let lower = cipher.name().to_lowercase();
        assert!(
            !["adh", "exp-adh", "aecdh"]
                .iter()
                .any(|p| lower.starts_with(p)),
            "{lower}"
        );
    }
    let defaults = SslSocket::default_ciphers();
    assert!(!defaults.is_empty());
    for cipher in &defaults {
        assert!(cipher.used_bits() >= 128, "{cipher:?}");
        assert!(supported.contains(cipher));
    }
    // A name exists once per protocol; another protocol gives a null cipher.
    assert!(
        SslCipher::with_protocol("ECDHE-RSA-AES128-GCM-SHA256", SslProtocol::TlsV1_3).is_null()
    );
    let null = SslCipher::default();
    assert!(null.is_null() && null.name().is_empty() && null.used_bits() == 0);
    assert_eq!(null.protocol(), SslProtocol::UnknownProtocol);
    assert_eq!(SslCipher::new("definitely-not-a-cipher"), null);
}

#[test]
fn exact_fields_as_qt_reports_them() {
    // (name, protocol string, protocol, kx, au, enc, used, supported): values Qt 6 reports for
    // this OpenSSL (checked with PyQt6 6.11 on the same library).
    let rows = [
        (
            "ECDHE-RSA-AES128-GCM-SHA256",
            "TLSv1.2",
            SslProtocol::TlsV1_2,
            "ECDH",
            "RSA",
            "AESGCM(128)",
            128,
            128,
        ),
        (
            "TLS_AES_128_GCM_SHA256",
            "TLSv1.3",
            SslProtocol::TlsV1_3,
            "any",
            "any",
            "AESGCM(128)",
            128,
            128,
        ),
        (
            "TLS_AES_256_GCM_SHA384",
            "TLSv1.3",
            SslProtocol::TlsV1_3,
            "any",
            "any",
            "AESGCM(256)",
            256,
            256,
        ),
        (
            "AES256-SHA",
            "SSLv3",
            SslProtocol::UnknownProtocol,
            "RSA",
            "RSA",
            "AES(256)",
            256,
            256,
        ),
        (
            "DHE-RSA-AES256-SHA",
            "SSLv3",
            SslProtocol::UnknownProtocol,
            "DH",
            "RSA",
            "AES(256)",
            256,
            256,
        ),
        (
            "ECDHE-RSA-AES256-SHA",
            "TLSv1",
            SslProtocol::TlsV1_0,
            "ECDH",
            "RSA",
            "AES(256)",
            256,
            256,
        ),
    ];
    for (name, proto_str, proto, kx, au, enc, used, sup) in rows {
        let c = SslCipher::new(name);
        assert_eq!(c.name(), name);
        assert_eq!(c.protocol_string(), proto_str, "{name}");
        assert_eq!(c.protocol(), proto, "{name}");
        assert_eq!(c.key_exchange_method(), kx, "{name}");
        assert_eq!(c.authentication_method(), au, "{name}");
        assert_eq!(c.encryption_method(), enc, "{name}");
        assert_eq!((c.used_bits(), c.supported_bits()), (used, sup), "{name}");
        // A resolved string gives the same object.
        assert_eq!(resolved(name), [c]);
    }
}

#[test]
fn legacy_strings_work() {
    assert_eq!(
        names(&resolved("DHE-RSA-AES256-SHA:AES256-SHA")),
        ["DHE-RSA-AES256-SHA", "AES256-SHA"]
    );
    // DHE-DSS-AES256-SHA is outside OpenSSL's DEFAULT list, so Qt's supported list (and
    // QSslCipher(name)) lack it, but OpenSSL resolves and offers it: the crate keeps it.
    let three = resolved("DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:AES256-SHA");
    assert_eq!(
        names(&three),
        ["DHE-RSA-AES256-SHA", "DHE-DSS-AES256-SHA", "AES256-SHA"]
    );
    assert_eq!(three[1].authentication_method(), "DSS");
    assert!(SslCipher::new("DHE-DSS-AES256-SHA").is_null());
}

#[test]
fn report_of_the_legacy_string() {
    let s = "DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:AES256-SHA";
    for level in 0..=2 {
        let report = SslCipher::report(&format!("{s}:@SECLEVEL={level}"));
        assert_eq!(report.security_level(), level);
        assert!(report.is_fully_provided(), "level {level}:\n{report}");
        assert_eq!(
            names(report.ciphers()),
            ["DHE-RSA-AES256-SHA", "DHE-DSS-AES256-SHA", "AES256-SHA"]
        );
        assert_eq!(
            report.entries()[3].kind,
            CipherTokenKind::SecurityLevel(level)
        );
    }
    let report = SslCipher::report(s);
    println!("{report}");
    assert_eq!(report.entries().len(), 3);
    for e in report.entries() {
        assert_eq!(e.kind, CipherTokenKind::Suite);
        assert_eq!(e.operator, CipherOperator::Add);
        assert_eq!(e.availability, CipherAvailability::Provided, "{e:?}");
        assert_eq!(names(&e.ciphers), std::slice::from_ref(&e.token));
    }
    let notes = |i: usize| report.entries()[i].notes.join(" | ");
    assert!(notes(1).contains("DSA certificate"), "{}", notes(1));
    assert!(notes(1).contains("DEFAULT list"), "{}", notes(1));
    assert!(notes(2).contains("no forward secrecy"), "{}", notes(2));
    assert!(notes(2).contains("up to security level 2"), "{}", notes(2));
    let table = report.to_string();
    assert!(
        table.contains("DHE-DSS-AES256-SHA")
            && table.contains("provided")
            && table.contains("Resolved (3)")
    );

    // At level 3 the suite without forward secrecy drops out.
    let strict = SslCipher::report(&format!("{s}:@SECLEVEL=3"));
    assert_eq!(
        strict.entries()[2].availability,
        CipherAvailability::DisabledBySecurityLevel {
            level: 3,
            usable_up_to: 2
        }
    );
    assert_eq!(
        names(strict.ciphers()),
        ["DHE-RSA-AES256-SHA", "DHE-DSS-AES256-SHA"]
    );
}

#[test]
fn report_explains_what_is_missing() {
    let report = SslCipher::report(
        "NO-SUCH-CIPHER:ADH-AES256-SHA:RC2-CBC-MD5:@NOPE:!TLS_AES_128_GCM_SHA256:TLS_RSA_WITH_AES_256_CBC_SHA",
    );
    println!("{report}");
    let a: Vec<&CipherAvailability> = report.entries().iter().map(|e| &e.availability).collect();
    assert_eq!(a[0], &CipherAvailability::UnknownName);
    assert!(
        matches!(
            a[1],
            CipherAvailability::DisabledBySecurityLevel {
                usable_up_to: 0,
                ..
            }
        ),
        "{:?}",
        a[1]
    );
    assert_eq!(
        a[2],
        &CipherAvailability::ProtocolUnavailable {
            protocol: "SSLv2".into()
        }
    );
    assert_eq!(a[3], &CipherAvailability::Rejected);
    assert_eq!(a[4], &CipherAvailability::Ignored);
    assert_eq!(a[5], &CipherAvailability::UnknownName);
    assert!(
        report.entries()[5]
            .notes
            .iter()
            .any(|n| n.contains("AES256-SHA")),
        "IANA name hint"
    );
    assert!(report.is_rejected() && report.ciphers().is_empty() && !report.is_fully_provided());

    let r =
        SslCipher::report("AES256-SHA:DEFAULT:SEED-SHA:kGOST:SRP-AES-128-CBC-SHA:-AES256-SHA:HIGH");
    let kinds: Vec<CipherTokenKind> = r.entries().iter().map(|e| e.kind).collect();
    assert_eq!(kinds[1], CipherTokenKind::Keyword);
    assert_eq!(
        r.entries()[1].availability,
        CipherAvailability::Ignored,
        "DEFAULT only counts first"
    );
    if openssl_major() >= 3 {
        // SEED lives in OpenSSL 3's legacy provider, which TLS does not load.
        assert_eq!(
            r.entries()[2].availability,
            CipherAvailability::AlgorithmUnavailable {
                encryption: "SEED(128)".into()
            }
        );
    }
    assert_eq!(
        r.entries()[3].availability,
        CipherAvailability::MatchesNothing
    );
    assert_eq!(
        r.entries()[4].availability,
        CipherAvailability::NeedsCredentials { kind: "SRP".into() }
    );
    assert_eq!(r.entries()[5].operator, CipherOperator::Remove);
    assert_eq!(names(&r.entries()[5].ciphers), ["AES256-SHA"]);
    assert_eq!(r.entries()[6].kind, CipherTokenKind::Keyword);
    assert!(r.entries()[6].ciphers.len() > 10);
    // The report's list is what set_ciphers_str stores.
    assert_eq!(r.ciphers(), resolved(r.cipher_string()).as_slice());
}

#[test]
fn psk_suites_need_credentials_the_crate_does_not_configure() {
    let report = SslCipher::report("PSK-AES128-GCM-SHA256");
    let entry = &report.entries()[0];
    assert!(
        matches!(&entry.availability, CipherAvailability::NeedsCredentials { kind } if kind.contains("PSK")),
        "{report}"
    );
}
