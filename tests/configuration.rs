//! `SslConfiguration` as a value type, and its relation to the process-wide default
//! configuration (Qt scenarios S1, S2, S5 of qt-semantics.md §6.2).

mod common;

use std::sync::{Mutex, MutexGuard};

use common::pki::pki;
use qsslsocket::{
    EncodingFormat, PatternSyntax, PeerVerifyMode, SslCertificate, SslCipher, SslConfiguration,
    SslOption, SslProtocol, SslSocket,
};

/// Tests that change or read the process-wide default configuration take this lock.
fn defaults_lock() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

#[test]
fn null_configuration() {
    let c = SslConfiguration::new();
    assert!(c.is_null());
    assert_eq!(c, SslConfiguration::default());
    assert_eq!(c.protocol(), SslProtocol::SecureProtocols);
    assert_eq!(c.peer_verify_mode(), PeerVerifyMode::AutoVerifyPeer);
    assert_eq!(c.peer_verify_depth(), 0);
    assert!(c.peer_verify_name().is_empty());
    assert!(c.ciphers().is_empty() && c.ca_certificates().is_empty());
    assert!(c.local_certificate().is_null() && c.local_certificate_chain().is_empty());
    assert!(c.private_key().is_null());
    assert!(c.session_cipher().is_null());
    assert_eq!(c.session_protocol(), SslProtocol::UnknownProtocol);
    assert!(c.peer_certificate().is_null() && c.peer_certificate_chain().is_empty());
    assert_eq!(c.session_ticket_life_time_hint(), -1);
    assert!(!c.missing_certificate_is_fatal());
}

#[test]
fn default_configuration_carries_the_defaults() {
    let _g = defaults_lock();
    let d = SslConfiguration::default_configuration();
    assert!(!d.is_null());
    assert_eq!(d.ciphers(), SslSocket::default_ciphers());
    assert_eq!(d.ca_certificates(), SslSocket::default_ca_certificates());
    assert_eq!(d.protocol(), SslProtocol::SecureProtocols);
    assert_eq!(d.peer_verify_mode(), PeerVerifyMode::AutoVerifyPeer);
    assert_eq!(
        SslConfiguration::supported_ciphers(),
        SslSocket::supported_ciphers()
    );
}

#[test]
fn value_semantics() {
    let mut a = SslConfiguration::new();
    a.set_protocol(SslProtocol::TlsV1_3);
    a.set_peer_verify_name("example.org");
    a.set_ciphers(vec![SslCipher::new("TLS_AES_128_GCM_SHA256")]);
    let mut b = a.clone();
    assert_eq!(a, b);
    b.set_protocol(SslProtocol::TlsV1_2);
    b.set_ciphers_str("AES256-SHA");
    assert_ne!(a, b);
    assert_eq!(a.protocol(), SslProtocol::TlsV1_3);
    assert_eq!(a.ciphers(), [SslCipher::new("TLS_AES_128_GCM_SHA256")]);
    assert_eq!(b.ciphers(), [SslCipher::new("AES256-SHA")]);
    // Getters hand out copies.
    let mut list = a.ciphers();
    list.clear();
    assert_eq!(a.ciphers().len(), 1);
}

#[test]
fn s2_snapshot_isolation() {
    let _g = defaults_lock();
    let saved = SslConfiguration::default_configuration();
    let mut socket_config = SslConfiguration::default_configuration();
    socket_config.set_ca_certificates(vec![pki().root.certificate()]);

    let mut empty = SslConfiguration::default_configuration();
    empty.set_ca_certificates(Vec::new());
    empty.set_ciphers(Vec::new());
    SslConfiguration::set_default_configuration(empty);
    let now = SslConfiguration::default_configuration();
    assert!(now.ciphers().is_empty() && now.ca_certificates().is_empty());
    assert!(
        SslSocket::default_ciphers().is_empty(),
        "the default ciphers are the default configuration's"
    );
    // The copy taken before is untouched.
    assert_eq!(socket_config.ca_certificates(), [pki().root.certificate()]);
    assert!(!socket_config.ciphers().is_empty());

    SslConfiguration::set_default_configuration(saved.clone());
    assert_eq!(SslConfiguration::default_configuration(), saved);
    assert!(!SslSocket::default_ciphers().is_empty());
}

#[test]
fn explicit_ca_lists_switch_on_demand_roots_off() {
    // Qt 5.15/6: setCaCertificates / addCaCertificate(s) turn allowRootCertOnDemandLoading off;
    // the path form keeps it. The flag is part of the value, so equality shows it.
    let root = pki().root.certificate();
    let mut set = SslConfiguration::new();
    set.set_ca_certificates(Vec::new());
    assert!(
        !set.is_null(),
        "an explicit (even empty) CA list is a setting"
    );
    let mut added = SslConfiguration::new();
    added.add_ca_certificates(&[]);
    assert_eq!(added, set);
    let mut one = SslConfiguration::new();
    one.add_ca_certificate(root.clone());
    assert_eq!(one.ca_certificates(), std::slice::from_ref(&root));

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("root.pem");
    std::fs::write(&file, pki().root.cert_pem()).unwrap();
    let mut from_path = SslConfiguration::new();
    assert!(from_path.add_ca_certificates_from_path(
        &file,
        EncodingFormat::Pem,
        PatternSyntax::FixedString
    ));
    assert_eq!(from_path.ca_certificates(), std::slice::from_ref(&root));
    assert_ne!(
        from_path, one,
        "same CAs, but the path form keeps on-demand roots"
    );
    let mut from_path_then_set = from_path.clone();
    from_path_then_set.set_ca_certificates(vec![root.clone()]);
    assert_eq!(from_path_then_set, one);

    let mut missing = SslConfiguration::new();
    assert!(!missing.add_ca_certificates_from_path(
        dir.path().join("none.pem"),
        EncodingFormat::Pem,
        PatternSyntax::FixedString
    ));
    assert!(missing.is_null());
}

#[test]
fn s5_negative_depth_is_refused() {
    let mut c = SslConfiguration::new();
    c.set_peer_verify_depth(1);
    assert_eq!(c.peer_verify_depth(), 1);
    c.set_peer_verify_depth(-1);
    assert_eq!(c.peer_verify_depth(), 1);
    c.set_peer_verify_depth(0);
    assert_eq!(c.peer_verify_depth(), 0);
}

#[test]
fn ssl_option_bits() {
    let mut c = SslConfiguration::new();
    // Qt 5/6 defaults.
    for (option, on) in [
        (SslOption::SslOptionDisableEmptyFragments, true),
        (SslOption::SslOptionDisableSessionTickets, false),
        (SslOption::SslOptionDisableCompression, true),
        (SslOption::SslOptionDisableServerNameIndication, false),
        (SslOption::SslOptionDisableLegacyRenegotiation, true),
        (SslOption::SslOptionDisableSessionSharing, false),
        (SslOption::SslOptionDisableSessionPersistence, true),
        (SslOption::SslOptionDisableServerCipherPreference, false),
        (SslOption::QtCompatibleHostNameMatching, false),
    ] {
        assert_eq!(c.test_ssl_option(option), on, "{option:?}");
    }
    c.set_ssl_option(SslOption::SslOptionDisableSessionTickets, true);
    c.set_ssl_option(SslOption::SslOptionDisableCompression, false);
    assert!(c.test_ssl_option(SslOption::SslOptionDisableSessionTickets));
    assert!(!c.test_ssl_option(SslOption::SslOptionDisableCompression));
    assert!(
        c.test_ssl_option(SslOption::SslOptionDisableEmptyFragments),
        "other bits untouched"
    );
    assert!(!c.is_null());
    c.set_ssl_option(SslOption::SslOptionDisableSessionTickets, false);
    c.set_ssl_option(SslOption::SslOptionDisableCompression, true);
    assert!(c.is_null());
}

#[test]
fn local_certificate_and_chain() {
    let p = pki();
    let mut c = SslConfiguration::new();
    c.set_local_certificate_chain(vec![p.leaf.certificate(), p.intermediate.certificate()]);
    assert_eq!(c.local_certificate(), p.leaf.certificate());
    assert_eq!(c.local_certificate_chain().len(), 2);
    c.set_local_certificate(p.client.certificate());
    assert_eq!(c.local_certificate_chain(), [p.client.certificate()]);
    c.set_local_certificate(SslCertificate::default());
    assert!(c.local_certificate().is_null() && c.local_certificate_chain().is_empty());
    c.set_private_key(p.leaf.ssl_key());
    assert!(!c.private_key().is_null());
}

#[test]
fn cipher_forms_replace_each_other() {
    let mut c = SslConfiguration::new();
    c.set_ciphers_str("HIGH:!aNULL");
    let high = c.ciphers();
    assert!(high.len() > 5);
    let mut same_list = SslConfiguration::new();
    same_list.set_ciphers(high.clone());
    assert_eq!(same_list.ciphers(), high);
    // A string and a list with the same ciphers configure OpenSSL differently, so they differ.
    assert_ne!(same_list, c);
    c.set_ciphers(high.clone());
    assert_eq!(same_list, c);
    c.set_ciphers(vec![SslCipher::default()]);
    assert!(c.ciphers().is_empty(), "null ciphers are not stored");
}
