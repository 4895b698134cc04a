//! The socket against Python's `ssl` module (tests/peers/tls_peer.py, the system OpenSSL under a
//! different TLS stack user): Python as server and as client, TLS 1.2 and 1.3, the blocking style
//! (`wait_for_*`, `std::io::Read`/`Write`) and the slot-driven style, STARTTLS in both
//! directions, and client certificates in both directions.
//!
//! Needs Python 3 (`$QSSL_TEST_PYTHON`, else `python3`); without it the tests fail and say how to
//! install it.

mod common;

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use common::bytes::{len_and_sha, random_bytes};
use common::external::Proc;
use common::interop::{
    PemFiles, STEP, STEP_MS, accept_within, cert_sha256, chain_python_server, crate_server_on,
    listener, python_peer, read_line_within, trusting_client, wait_unconnected,
};
use common::pki::pki;
use common::recorder::Recorder;
use common::scenario::{SCENARIO_TIMEOUT, drive_until_finished};
use qsslsocket::*;

fn tls_arg(protocol: SslProtocol) -> &'static str {
    match protocol {
        SslProtocol::TlsV1_2 => "1.2",
        SslProtocol::TlsV1_3 => "1.3",
        _ => "any",
    }
}

/// `tls_peer.py server` with the standard server chain, pinned to `protocol`.
fn server(pems: &PemFiles, protocol: SslProtocol, extra: &[&str]) -> (Proc, u16) {
    let mut args = vec!["--tls", tls_arg(protocol)];
    args.extend_from_slice(extra);
    chain_python_server(pems, &args)
}

/// `tls_peer.py client` connecting to `port`, trusting the test root.
fn client(pems: &PemFiles, port: u16, protocol: SslProtocol, extra: &[&str]) -> Proc {
    let port = port.to_string();
    let mut args = vec![
        "--port",
        &port,
        "--tls",
        tls_arg(protocol),
        "--ca",
        pems.root.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    python_peer("client", &args)
}

/// Python echo server, crate client in the blocking style: `wait_for_encrypted`, then
/// `io::Write::write_all` + `flush` and `io::Read::read_exact`, then a graceful close that the
/// peer sees as close_notify.
fn echo_blocking(protocol: SslProtocol) {
    let pems = PemFiles::new();
    let (mut py, port) = server(&pems, protocol, &["--action", "echo"]);
    let mut s = trusting_client();
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    assert_eq!(s.session_protocol(), protocol);
    assert!(s.ssl_errors().is_empty(), "{:?}", s.ssl_errors());
    let data = random_bytes(7, 200_000);
    s.write_all(&data).unwrap();
    Write::flush(&mut s).unwrap();
    let mut back = vec![0u8; data.len()];
    s.read_exact(&mut back).unwrap();
    assert!(back == data, "the echo is byte-exact");
    // (The client's last handshake flight leaves with the first data, as in Qt, so the peer's
    // view is checked only now.)
    let expected_version = if protocol == SslProtocol::TlsV1_2 {
        "TLSv1.2"
    } else {
        "TLSv1.3"
    };
    assert_eq!(
        py.expect_value("HANDSHAKE", STEP),
        format!("{expected_version} {}", s.session_cipher().name()),
        "both ends agree on version and cipher"
    );

    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
    assert_eq!(py.expect_value("RECEIVED", STEP), len_and_sha(&data));
    assert_eq!(py.expect_value("PEER_END", STEP), "close_notify");
    assert!(py.wait_exit(STEP).success(), "{}", py.transcript());
    let totals = s.byte_totals();
    assert_eq!(totals.plaintext_written, data.len() as u64);
    assert_eq!(totals.plaintext_read, data.len() as u64);
    assert!(totals.ciphertext_written > totals.plaintext_written);
    assert!(totals.ciphertext_read > totals.plaintext_read);
}

#[test]
fn python_server_echo_blocking_tls12() {
    echo_blocking(SslProtocol::TlsV1_2);
}

#[test]
fn python_server_echo_blocking_tls13() {
    echo_blocking(SslProtocol::TlsV1_3);
}

/// Python echo server, crate client in the slot-driven style: `encrypted` writes, `ready_read`
/// collects and disconnects once everything came back; only `wait_for_*` drives.
fn echo_slot_driven(protocol: SslProtocol) {
    let pems = PemFiles::new();
    let (mut py, port) = server(&pems, protocol, &["--action", "echo"]);
    let data = random_bytes(11, 50_000);
    let mut s = trusting_client();
    s.set_protocol(protocol);
    let rec = Recorder::attach(&mut s);
    let to_send = data.clone();
    s.on_encrypted(move |s| {
        for chunk in to_send.chunks(7_000) {
            assert_eq!(s.write(chunk), chunk.len() as i64);
        }
    });
    let received = Arc::new(Mutex::new(Vec::new()));
    let r = received.clone();
    let want = data.len();
    s.on_ready_read(move |s| {
        let mut r = r.lock().unwrap();
        r.extend_from_slice(&s.read_all());
        if r.len() == want {
            s.disconnect_from_host();
        }
    });
    let written = Arc::new(Mutex::new(0i64));
    let w = written.clone();
    s.on_bytes_written(move |_, n| *w.lock().unwrap() += n);
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(drive_until_finished(&mut s, &rec, SCENARIO_TIMEOUT));
    assert_eq!(s.state(), SocketState::UnconnectedState);
    assert!(*received.lock().unwrap() == data, "the echo is byte-exact");
    assert_eq!(*written.lock().unwrap(), data.len() as i64);
    let signals = rec.signals();
    let encrypted_at = signals.iter().position(|e| e == "encrypted").unwrap();
    let first_read = signals.iter().position(|e| e == "readyRead").unwrap();
    assert!(encrypted_at < first_read, "{signals:?}");
    assert_eq!(signals.last().map(String::as_str), Some("disconnected"));
    assert!(
        !signals.iter().any(|e| e.starts_with("errorOccurred")),
        "{signals:?}"
    );
    assert_eq!(py.expect_value("RECEIVED", STEP), len_and_sha(&data));
    assert_eq!(py.expect_value("PEER_END", STEP), "close_notify");
}

#[test]
fn python_server_echo_slot_driven_tls12() {
    echo_slot_driven(SslProtocol::TlsV1_2);
}

#[test]
fn python_server_echo_slot_driven_tls13() {
    echo_slot_driven(SslProtocol::TlsV1_3);
}

/// Python client, crate server (`set_socket_descriptor` + `start_server_encryption`): the client
/// says hello, the server answers, the client ends with close_notify, the server answers it.
fn python_client_crate_server(protocol: SslProtocol) {
    let pems = PemFiles::new();
    let (l, port) = listener();
    let mut py = client(
        &pems,
        port,
        protocol,
        &["--action", "hello", "--end", "close_notify"],
    );
    let mut s = crate_server_on(accept_within(&l, STEP));
    let rec = Recorder::attach(&mut s);
    s.start_server_encryption();
    assert_eq!(s.mode(), SslMode::SslServerMode);
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    assert_eq!(s.session_protocol(), protocol);
    // The server asks for a certificate by default (Qt's AutoVerifyPeer) but does not need one.
    assert!(s.peer_certificate().is_null());
    assert_eq!(
        read_line_within(&mut s, STEP).as_deref(),
        Some(&b"hello\n"[..])
    );
    s.write(b"hello to you\n");
    assert!(s.flush(), "the reply goes out");
    assert_eq!(py.expect_value("LINE", STEP), "b'hello to you\\n'");
    assert_eq!(py.expect_value("END", STEP), "close_notify sent");
    // The peer's close_notify: reported as Qt does, connection still up.
    assert!(common::interop::drive_until(&mut s, STEP, |s| {
        s.peer_closed_cleanly().is_some()
    }));
    assert_eq!(s.peer_closed_cleanly(), Some(true));
    assert_eq!(s.error(), SocketError::RemoteHostClosedError);
    assert_eq!(s.error_string(), "The TLS/SSL connection has been closed");
    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
    assert_eq!(py.expect_value("PEER_END", STEP), "close_notify");
    assert!(py.wait_exit(STEP).success(), "{}", py.transcript());
    assert!(
        rec.signals()
            .contains(&"modeChanged SslServerMode".to_string())
    );
}

#[test]
fn python_client_crate_server_tls12() {
    python_client_crate_server(SslProtocol::TlsV1_2);
}

#[test]
fn python_client_crate_server_tls13() {
    python_client_crate_server(SslProtocol::TlsV1_3);
}

/// STARTTLS, crate client: plain `connect_to_host`, a line protocol, then
/// `start_client_encryption` against a Python server that switches to TLS after "220 ready".
#[test]
fn starttls_crate_client_python_server() {
    let pems = PemFiles::new();
    let (mut py, port) = server(
        &pems,
        SslProtocol::AnyProtocol,
        &["--starttls", "--action", "echo"],
    );
    let mut s = trusting_client();
    s.connect_to_host("127.0.0.1", port);
    assert!(s.wait_for_connected(STEP_MS));
    assert_eq!(s.mode(), SslMode::UnencryptedMode);
    assert_eq!(s.write(b"STARTTLS\r\n"), 10);
    assert_eq!(
        read_line_within(&mut s, STEP).as_deref(),
        Some(&b"220 ready\r\n"[..])
    );
    assert_eq!(py.expect_value("PLAIN", STEP), "b'STARTTLS\\r\\n'");
    s.start_client_encryption();
    assert_eq!(s.mode(), SslMode::SslClientMode);
    assert!(!s.is_encrypted());
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    assert!(s.ssl_errors().is_empty(), "{:?}", s.ssl_errors());
    s.write(b"hello over TLS\n");
    assert_eq!(
        read_line_within(&mut s, STEP).as_deref(),
        Some(&b"hello over TLS\n"[..])
    );
    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
    assert_eq!(py.expect_value("PEER_END", STEP), "close_notify");
    // The plain bytes count as plaintext only; the TLS part both ways.
    let t = s.byte_totals();
    assert_eq!(t.plaintext_written, 10 + 15);
    assert_eq!(t.plaintext_read, 11 + 15);
}

/// STARTTLS, crate server: the descriptor of an accepted connection, a plain line exchange, then
/// `start_server_encryption` against a Python client.
#[test]
fn starttls_crate_server_python_client() {
    let pems = PemFiles::new();
    let (l, port) = listener();
    let mut py = client(
        &pems,
        port,
        SslProtocol::AnyProtocol,
        &["--starttls", "--action", "hello", "--end", "close_notify"],
    );
    let mut s = crate_server_on(accept_within(&l, STEP));
    assert_eq!(s.mode(), SslMode::UnencryptedMode);
    assert_eq!(
        read_line_within(&mut s, STEP).as_deref(),
        Some(&b"STARTTLS\r\n"[..])
    );
    s.write(b"220 ready\r\n");
    s.start_server_encryption();
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    assert_eq!(py.expect_value("PLAIN", STEP), "b'220 ready\\r\\n'");
    assert_eq!(
        read_line_within(&mut s, STEP).as_deref(),
        Some(&b"hello\n"[..])
    );
    s.write(b"hello\n");
    assert!(s.flush(), "the reply goes out");
    assert_eq!(py.expect_value("LINE", STEP), "b'hello\\n'");
    assert!(common::interop::drive_until(&mut s, STEP, |s| {
        s.peer_closed_cleanly().is_some()
    }));
    assert_eq!(s.peer_closed_cleanly(), Some(true));
    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
    assert!(py.wait_exit(STEP).success(), "{}", py.transcript());
}

/// A Python server that requires a client certificate: the crate client presents the client leaf
/// (and the intermediate) with its key; the server verifies it against the root.
fn client_certificate_to_python(protocol: SslProtocol) {
    let pems = PemFiles::new();
    let root = pems.root.to_str().unwrap().to_owned();
    let (mut py, port) = server(
        &pems,
        protocol,
        &["--require-cert", "--ca", &root, "--action", "echo"],
    );
    let p = pki();
    let mut s = trusting_client();
    s.set_local_certificate_chain(vec![p.client.certificate(), p.intermediate.certificate()]);
    s.set_private_key(p.client.ssl_key());
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    s.write(b"with a certificate\n");
    assert_eq!(
        read_line_within(&mut s, STEP).as_deref(),
        Some(&b"with a certificate\n"[..])
    );
    assert_eq!(py.expect_value("PEERCERT", STEP), cert_sha256(&p.client));
    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
    assert_eq!(py.expect_value("PEER_END", STEP), "close_notify");
}

#[test]
fn client_certificate_to_python_server_tls12() {
    client_certificate_to_python(SslProtocol::TlsV1_2);
}

#[test]
fn client_certificate_to_python_server_tls13() {
    client_certificate_to_python(SslProtocol::TlsV1_3);
}

/// The same server, but the crate client has no certificate. TLS 1.2: the server's alert fails
/// the handshake. TLS 1.3: the client's handshake completes before the server checks, so the
/// alert arrives afterwards and fails the first read.
#[test]
fn python_server_requires_certificate_crate_client_has_none() {
    let pems = PemFiles::new();
    let root = pems.root.to_str().unwrap().to_owned();

    let (mut py, port) = server(
        &pems,
        SslProtocol::TlsV1_2,
        &["--require-cert", "--ca", &root, "--action", "echo"],
    );
    let mut s = trusting_client();
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(!s.wait_for_encrypted(STEP_MS));
    assert_eq!(s.error(), SocketError::SslHandshakeFailedError);
    assert_eq!(
        s.error_string(),
        "Error during SSL handshake: error:0A000410:SSL routines::sslv3 alert handshake failure"
    );
    assert_eq!(s.state(), SocketState::UnconnectedState);
    let err = py.expect_value("ERROR", STEP);
    assert!(err.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE"), "{err}");

    let (mut py, port) = server(
        &pems,
        SslProtocol::TlsV1_3,
        &["--require-cert", "--ca", &root, "--action", "echo"],
    );
    let mut s = trusting_client();
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    assert!(!s.wait_for_ready_read(STEP_MS));
    assert_eq!(s.state(), SocketState::UnconnectedState);
    assert_eq!(s.error(), SocketError::SslInternalError);
    assert_eq!(
        s.error_string(),
        "Error while reading: error:0A00045C:SSL routines::tlsv13 alert certificate required"
    );
    let err = py.expect_value("ERROR", STEP);
    assert!(err.contains("PEER_DID_NOT_RETURN_A_CERTIFICATE"), "{err}");
    let mut buf = [0u8; 8];
    let e = s.read(&mut buf);
    assert_eq!(e, -1);
}

/// A Python client presenting leaf + intermediate to a crate server that requires a
/// certificate: the server sees the chain leaf first, and verifies it against the root.
fn python_client_certificate_to_crate_server(protocol: SslProtocol) {
    let pems = PemFiles::new();
    let p = pki();
    let (l, port) = listener();
    let mut py = client(
        &pems,
        port,
        protocol,
        &[
            "--cert",
            pems.client_chain.to_str().unwrap(),
            "--key",
            pems.client_key.to_str().unwrap(),
            "--action",
            "hello",
            "--end",
            "close_notify",
        ],
    );
    let mut s = crate_server_on(accept_within(&l, STEP));
    s.set_peer_verify_mode(PeerVerifyMode::VerifyPeer);
    s.set_ca_certificates(vec![p.root.certificate()]);
    s.start_server_encryption();
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    assert!(s.ssl_errors().is_empty(), "{:?}", s.ssl_errors());
    assert_eq!(s.peer_certificate(), p.client.certificate());
    assert_eq!(
        s.peer_certificate_chain(),
        vec![p.client.certificate(), p.intermediate.certificate()],
        "the client's chain as sent, leaf first"
    );
    assert_eq!(
        read_line_within(&mut s, STEP).as_deref(),
        Some(&b"hello\n"[..])
    );
    s.write(b"hi\n");
    assert!(s.flush(), "the reply goes out");
    assert_eq!(py.expect_value("LINE", STEP), "b'hi\\n'");
    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
}

#[test]
fn python_client_certificate_to_crate_server_tls12() {
    python_client_certificate_to_crate_server(SslProtocol::TlsV1_2);
}

#[test]
fn python_client_certificate_to_crate_server_tls13() {
    python_client_certificate_to_crate_server(SslProtocol::TlsV1_3);
}

/// A Python client without a certificate against a crate server with `VerifyPeer`: Qt's
/// NoPeerCertificate fails the server's handshake.
#[test]
fn python_client_without_certificate_crate_server_verify_peer() {
    let pems = PemFiles::new();
    let (l, port) = listener();
    let mut py = client(&pems, port, SslProtocol::TlsV1_2, &["--action", "hello"]);
    let mut s = crate_server_on(accept_within(&l, STEP));
    s.set_peer_verify_mode(PeerVerifyMode::VerifyPeer);
    s.set_ca_certificates(vec![pki().root.certificate()]);
    s.start_server_encryption();
    assert!(!s.wait_for_encrypted(STEP_MS));
    assert_eq!(s.error(), SocketError::SslHandshakeFailedError);
    assert_eq!(s.error_string(), "The peer did not present any certificate");
    assert_eq!(
        s.ssl_errors()
            .iter()
            .map(SslError::error)
            .collect::<Vec<_>>(),
        vec![SslErrorKind::NoPeerCertificate]
    );
    assert_eq!(s.state(), SocketState::UnconnectedState);
    py.expect_line("an error or end", STEP, |l| {
        l.starts_with("ERROR") || l.starts_with("PEER_END") || l.starts_with("END")
    });
}
