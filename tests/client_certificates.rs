//! `missing_certificate_is_fatal` on a server (Qt 6.0), as PyQt6 6.11 shows on this OpenSSL:
//! with it, a server that asks for a client certificate (`VerifyPeer`, and also `QueryPeer`:
//! Qt sets `SSL_VERIFY_FAIL_IF_NO_PEER_CERT` whenever it verifies) fails inside the handshake
//! when the client sends none, with OpenSSL's reason and an alert to the client (TLS 1.3
//! certificate_required, TLS 1.2 handshake_failure), and no `sslErrors`. Without it, `VerifyPeer`
//! reports `NoPeerCertificate` after the handshake and `QueryPeer` accepts the client.

mod common;

use std::net::TcpStream;

use common::interop::{STEP, STEP_MS, accept_within, crate_server_on, listener, wait_unconnected};
use common::peer::PEER_TIMEOUT;
use common::recorder::Recorder;
use openssl::ssl::{SslConnector, SslMethod, SslVerifyMode, SslVersion};
use qsslsocket::*;

/// A crate server in `mode` (with `fatal`) and an `openssl` client without a certificate:
/// the server's error signals, whether it was encrypted, the client's handshake error (if any)
/// and the server's error string.
fn no_client_certificate(
    mode: PeerVerifyMode,
    fatal: bool,
    tls13: bool,
) -> (Vec<String>, bool, Option<String>, String) {
    let (l, port) = listener();
    let client = std::thread::spawn(move || {
        let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        tcp.set_read_timeout(Some(PEER_TIMEOUT)).expect("timeout");
        let mut b = SslConnector::builder(SslMethod::tls()).expect("connector");
        b.set_verify(SslVerifyMode::NONE);
        if !tls13 {
            b.set_max_proto_version(Some(SslVersion::TLS1_2))
                .expect("TLS 1.2");
        }
        match b.build().connect("localhost", tcp) {
            Err(e) => Some(e.to_string()),
            Ok(mut tls) => {
                // TLS 1.3: a refusal of the certificate arrives after the client's Finished.
                let mut b = [0u8; 1];
                match std::io::Read::read(&mut tls, &mut b) {
                    Err(e) if e.to_string().contains("alert") => Some(e.to_string()),
                    _ => None,
                }
            }
        }
    });
    let mut s = crate_server_on(accept_within(&l, STEP));
    let mut config = s.ssl_configuration();
    config.set_peer_verify_mode(mode);
    config.set_missing_certificate_is_fatal(fatal);
    s.set_ssl_configuration(config);
    let rec = Recorder::attach(&mut s);
    s.start_server_encryption();
    let encrypted = s.wait_for_encrypted(STEP_MS);
    if encrypted {
        // Let a TLS 1.3 client read: then close.
        s.disconnect_from_host();
    }
    assert!(wait_unconnected(&mut s, STEP));
    let client_error = client.join().expect("client thread");
    let signals = rec
        .signals()
        .into_iter()
        .filter(|e| {
            e.starts_with("sslErrors")
                || e.starts_with("peerVerifyError")
                || e.starts_with("errorOccurred")
        })
        .collect();
    (signals, encrypted, client_error, s.error_string())
}

const REFUSED: &str =
    "Error during SSL handshake: error:0A0000C7:SSL routines::peer did not return a certificate";

#[test]
fn fatal_refuses_inside_the_handshake_in_verify_and_query_modes() {
    for tls13 in [true, false] {
        for mode in [PeerVerifyMode::VerifyPeer, PeerVerifyMode::QueryPeer] {
            let case = format!("{mode:?}, TLS 1.{}", if tls13 { 3 } else { 2 });
            let (signals, encrypted, client_error, text) = no_client_certificate(mode, true, tls13);
            assert!(!encrypted, "{case}");
            assert_eq!(signals, ["errorOccurred SslHandshakeFailedError"], "{case}");
            assert_eq!(text, REFUSED, "{case}");
            let alert = if tls13 {
                "certificate required"
            } else {
                "handshake failure"
            };
            let client_error = client_error.unwrap_or_default();
            assert!(client_error.contains(alert), "{case}: {client_error}");
        }
    }
}

#[test]
fn without_it_verify_peer_reports_after_the_handshake_and_query_peer_accepts() {
    for tls13 in [true, false] {
        let (signals, encrypted, _, text) =
            no_client_certificate(PeerVerifyMode::VerifyPeer, false, tls13);
        assert!(!encrypted);
        assert_eq!(
            signals,
            [
                "peerVerifyError NoPeerCertificate",
                "sslErrors [NoPeerCertificate]",
                "errorOccurred SslHandshakeFailedError"
            ]
        );
        assert_eq!(text, "The peer did not present any certificate");
        let (signals, encrypted, client_error, _) =
            no_client_certificate(PeerVerifyMode::QueryPeer, false, tls13);
        assert!(encrypted && signals.is_empty(), "{signals:?}");
        assert_eq!(client_error, None);
    }
}
