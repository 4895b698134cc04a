//! The process-wide defaults: CA database (on-demand system roots, the system store, added and
//! replaced defaults), cipher lists, library versions.
//!
//! Changing the defaults is irreversible in part (`set_default_ca_certificates` switches
//! on-demand roots off for the process), so everything that changes them runs in one test, in
//! order; the other tests only read what that test does not change.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::pki::{Spec, mint, pki};
use qsslsocket::{EncodingFormat, PatternSyntax, SslCertificate, SslConfiguration, SslSocket};

/// Qt 6's directories, as the tests' own independent check for OpenSSL hash links.
fn hashed_dir_exists() -> bool {
    let dirs = [
        "/etc/ssl/certs/",
        "/usr/lib/ssl/certs/",
        "/usr/share/ssl/",
        "/usr/local/ssl/",
        "/var/ssl/certs/",
        "/usr/local/ssl/certs/",
        "/etc/openssl/certs/",
        "/opt/openssl/certs/",
        "/etc/ssl/",
    ];
    dirs.iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .flatten()
        .any(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let b = name.as_bytes();
            b.len() == 10
                && b[..8]
                    .iter()
                    .all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
                && b[8] == b'.'
                && b[9].is_ascii_digit()
        })
}

#[test]
fn ca_database_lifecycle() {
    // 1. Pristine: with hash links on disk, roots are looked up on demand and nothing is read.
    assert!(
        hashed_dir_exists(),
        "this machine has /etc/ssl/certs with OpenSSL hash links"
    );
    assert!(
        SslSocket::default_ca_certificates().is_empty(),
        "on-demand loading keeps the default list empty"
    );
    assert!(
        SslConfiguration::default_configuration()
            .ca_certificates()
            .is_empty()
    );

    // 2. Adding keeps on-demand loading and shows up in configurations created afterwards.
    let p = pki();
    let before = SslConfiguration::default_configuration();
    SslSocket::add_default_ca_certificate(p.root.certificate());
    SslSocket::add_default_ca_certificate(p.root.certificate());
    assert_eq!(
        SslSocket::default_ca_certificates(),
        [p.root.certificate()],
        "the single form skips duplicates"
    );
    assert!(
        before.ca_certificates().is_empty(),
        "an earlier copy is not affected"
    );
    SslSocket::add_default_ca_certificates(&[
        p.intermediate.certificate(),
        SslCertificate::default(),
    ]);
    assert_eq!(
        SslSocket::default_ca_certificates(),
        [p.root.certificate(), p.intermediate.certificate()]
    );

    // 3. The path forms, fixed and wildcard.
    let dir = tempfile::tempdir().unwrap();
    let extra = mint(&Spec::ca("Defaults Test Extra CA"), None);
    let path = dir.path().join("extra.pem");
    std::fs::write(&path, extra.cert_pem()).unwrap();
    assert!(SslSocket::add_default_ca_certificates_from_path(
        &path,
        EncodingFormat::Pem,
        PatternSyntax::FixedString
    ));
    assert!(!SslSocket::add_default_ca_certificates_from_path(
        dir.path().join("missing.pem"),
        EncodingFormat::Pem,
        PatternSyntax::FixedString
    ));
    assert_eq!(
        SslSocket::default_ca_certificates().last(),
        Some(&extra.certificate())
    );
    assert_eq!(
        SslConfiguration::default_configuration().ca_certificates(),
        SslSocket::default_ca_certificates()
    );

    // 4. Replacing the list: exactly the given certificates from now on.
    SslSocket::set_default_ca_certificates(vec![p.root.certificate()]);
    assert_eq!(SslSocket::default_ca_certificates(), [p.root.certificate()]);
    assert_eq!(
        SslConfiguration::default_configuration().ca_certificates(),
        [p.root.certificate()]
    );

    // 5. Thread safety: several threads add and read at once; nothing is lost.
    let minted: Vec<SslCertificate> = (0..8)
        .map(|i| mint(&Spec::ca(&format!("Defaults Thread CA {i}")), None).certificate())
        .collect();
    let started = Instant::now();
    std::thread::scope(|scope| {
        for cert in &minted {
            scope.spawn(move || {
                for _ in 0..20 {
                    let config = SslConfiguration::default_configuration();
                    assert!(config.ca_certificates().contains(&pki().root.certificate()));
                    assert!(!SslSocket::default_ciphers().is_empty());
                }
                SslSocket::add_default_ca_certificate(cert.clone());
                assert!(SslSocket::system_ca_certificates().len() > 100);
            });
        }
    });
    assert!(started.elapsed() < Duration::from_secs(20));
    let now = SslSocket::default_ca_certificates();
    assert_eq!(now.len(), 1 + minted.len());
    assert!(minted.iter().all(|c| now.contains(c)));
}

#[test]
fn system_store_is_read_once() {
    let t = Instant::now();
    let first = SslSocket::system_ca_certificates();
    let first_time = t.elapsed();
    let t = Instant::now();
    let second = SslConfiguration::system_ca_certificates();
    let second_time = t.elapsed();
    println!(
        "system store: {} certificates, first call {first_time:?}, second {second_time:?}",
        first.len()
    );
    assert!(
        first.len() > 100,
        "Debian's store has ~145 roots, got {}",
        first.len()
    );
    assert_eq!(first, second);
    assert!(
        second_time < Duration::from_millis(20),
        "the second call reads nothing: {second_time:?}"
    );
    assert!(first.iter().all(|c| !c.is_null()));
    let distinct: std::collections::HashSet<&SslCertificate> = first.iter().collect();
    assert_eq!(distinct.len(), first.len(), "each certificate once");
}

#[test]
fn ciphers_and_support() {
    assert!(SslSocket::supports_ssl());
    let supported = SslSocket::supported_ciphers();
    let defaults = SslSocket::default_ciphers();
    assert!(!supported.is_empty() && !defaults.is_empty());
    // Qt's rule, on a pristine default: supported ciphers with at least 128 bits, in order.
    let rule: Vec<_> = supported
        .iter()
        .filter(|c| c.used_bits() >= 128)
        .cloned()
        .collect();
    assert_eq!(defaults, rule);
    assert_eq!(
        supported[0].protocol_string(),
        "TLSv1.3",
        "OpenSSL lists TLS 1.3 suites first"
    );
}

#[test]
fn set_default_ciphers_reaches_new_configurations() {
    // Runs in its own process so that the shared default cipher list of the other tests stays
    // untouched: re-run this binary's child test.
    if std::env::var_os("QSSL_DEFAULTS_CHILD").is_some() {
        let chosen = vec![SslSocket::supported_ciphers()[0].clone()];
        let before = SslConfiguration::default_configuration();
        SslSocket::set_default_ciphers(chosen.clone());
        assert_eq!(SslSocket::default_ciphers(), chosen);
        assert_eq!(SslConfiguration::default_configuration().ciphers(), chosen);
        assert_ne!(before.ciphers(), chosen);
        return;
    }
    let child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "set_default_ciphers_reaches_new_configurations",
            "--test-threads=1",
        ])
        .env("QSSL_DEFAULTS_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&child.stdout);
    assert!(
        child.status.success(),
        "child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&child.stderr)
    );
    assert!(
        stdout.contains("1 passed"),
        "the child ran the test:\n{stdout}"
    );
}

#[test]
fn library_versions_match_the_openssl_tool() {
    let number = SslSocket::ssl_library_version_number();
    let text = SslSocket::ssl_library_version_string();
    let (major, minor, patch) = (number >> 28, (number >> 20) & 0xff, (number >> 4) & 0xff);
    assert!(text.starts_with("OpenSSL "), "{text}");
    if major >= 3 {
        assert!(
            text.starts_with(&format!("OpenSSL {major}.{minor}.{patch} ")),
            "{text} vs {number:#x}"
        );
    }
    let build = SslSocket::ssl_library_build_version_number();
    assert!(
        build >= 0x1010_1000,
        "built against OpenSSL 1.1.1 or later: {build:#x}"
    );
    assert_eq!(
        build >> 28,
        major,
        "same major version at build and run time"
    );
    let build_text = SslSocket::ssl_library_build_version_string();
    assert!(
        build_text.starts_with(&format!("OpenSSL {major}.")),
        "{build_text}"
    );

    // The openssl tool links the same library on this machine.
    let tool = Path::new("/usr/bin/openssl");
    assert!(
        tool.exists(),
        "the openssl command-line tool is installed here"
    );
    let out = Command::new(tool).arg("version").output().unwrap();
    let line = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    // "OpenSSL 3.0.19 27 Jan 2026" or "... (Library: OpenSSL 3.0.19 27 Jan 2026)".
    let library = line
        .split("(Library: ")
        .nth(1)
        .map_or(line.as_str(), |l| l.trim_end_matches(')'));
    assert_eq!(text, library);
    if build == number {
        assert!(
            text.starts_with(&format!("{build_text} ")),
            "{build_text} / {text}"
        );
    }
}
