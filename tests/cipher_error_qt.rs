//! Against the real Qt (PyQt6 6.11 via `tests/peers/qt_ciphers_errors.py`, on this OpenSSL):
//! the text of every `SslError` kind, every supported cipher with all its properties, in Qt's
//! order, the default cipher list, and the default configuration's protocol and verification.

mod common;

use common::external::ask_qt;
use qsslsocket::*;
use serde_json::{Value, json};

fn qt() -> Value {
    ask_qt("qt_ciphers_errors.py", &[], b"").remove(0)
}

fn cipher(c: &SslCipher) -> Value {
    json!({
        "name": c.name(),
        "protocol_string": c.protocol_string(),
        "protocol": c.protocol().to_string(),
        "key_exchange_method": c.key_exchange_method(),
        "authentication_method": c.authentication_method(),
        "encryption_method": c.encryption_method(),
        "used_bits": c.used_bits(),
        "supported_bits": c.supported_bits(),
    })
}

#[test]
fn error_texts_ciphers_and_defaults_are_qts() {
    let qt = qt();
    for &kind in SslErrorKind::ALL {
        assert_eq!(
            json!(SslError::new(kind, None).error_string()),
            qt["errors"][kind.name()],
            "{kind}"
        );
    }
    let ours: Vec<Value> = SslSocket::supported_ciphers().iter().map(cipher).collect();
    let theirs = qt["supported_ciphers"].as_array().expect("list");
    for (a, b) in ours.iter().zip(theirs) {
        assert_eq!(a, b);
    }
    assert_eq!(ours.len(), theirs.len(), "number of supported ciphers");
    let defaults: Vec<String> = SslSocket::default_ciphers()
        .iter()
        .map(SslCipher::name)
        .collect();
    assert_eq!(json!(defaults), qt["default_ciphers"]);
    let config = SslConfiguration::default_configuration();
    assert_eq!(json!(config.protocol().to_string()), qt["default_protocol"]);
    assert_eq!(
        json!(config.peer_verify_mode().to_string()),
        qt["default_peer_verify_mode"]
    );
    assert_eq!(
        json!(config.peer_verify_depth()),
        qt["default_peer_verify_depth"]
    );
    for &option in SslOption::ALL {
        if option == SslOption::QtCompatibleHostNameMatching {
            assert!(!config.test_ssl_option(option), "the crate's opt-in is off");
            continue;
        }
        assert_eq!(
            json!(config.test_ssl_option(option)),
            qt["default_options"][option.name()],
            "{option}"
        );
    }
    assert_eq!(
        json!(config.session_ticket_life_time_hint()),
        qt["default_session_ticket_life_time_hint"]
    );
    assert_eq!(
        json!(config.missing_certificate_is_fatal()),
        qt["default_missing_certificate_is_fatal"]
    );
}

/// `is_protocol_supported`, `supports_ssl` and the run-time library, as Qt reports them on the
/// same libssl. The crate probes real handshakes where Qt lists what its backend knows; they
/// agree except for DTLS, which the crate does not implement.
#[test]
fn protocols_and_library_are_qts() {
    let qt = qt();
    let mut differ = Vec::new();
    for (name, supported) in qt["protocol_supported"].as_object().expect("object") {
        let protocol: SslProtocol = name.parse().expect("a crate protocol");
        if json!(SslSocket::is_protocol_supported(protocol)) != *supported {
            differ.push(name.as_str());
        }
    }
    differ.sort();
    assert_eq!(
        differ,
        ["DtlsV1_0", "DtlsV1_0OrLater", "DtlsV1_2", "DtlsV1_2OrLater"]
    );
    assert_eq!(json!(SslSocket::supports_ssl()), qt["supports_ssl"]);
    assert_eq!(
        json!(SslSocket::ssl_library_version_string()),
        qt["library_version_string"]
    );
    assert_eq!(
        json!(SslSocket::ssl_library_version_number()),
        qt["library_version_number"]
    );
}
