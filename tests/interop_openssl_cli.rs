//! The socket against the installed `openssl` command-line tool (/usr/bin/openssl): `s_server`
//! as the peer of a crate client (`-rev`, which answers each line reversed and ends the connection
//! with close_notify on a `CLOSE` line; `-www`; `-Verify` for client certificates) and `s_client`
//! as the peer of a crate server (built with `set_socket_descriptor` + `start_server_encryption`),
//! TLS 1.2 and 1.3, blocking style and slot-driven style.
//!
//! The certificates are the run-time test PKI written to a temporary directory. Without the
//! `openssl` binary the tests fail and say how to install it.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::sync::{Arc, Mutex};

use common::bytes::XorShift64;
use common::external::Proc;
use common::interop::{
    PemFiles, STEP, STEP_MS, accept_within, crate_server_on, drive_until, listener,
    read_line_within, s_client, s_server, trusting_client, wait_unconnected,
};
use common::pki::pki;
use common::recorder::Recorder;
use common::scenario::drive_until_finished;
use qsslsocket::*;

fn version_flag(protocol: SslProtocol) -> &'static str {
    match protocol {
        SslProtocol::TlsV1_2 => "-tls1_2",
        SslProtocol::TlsV1_3 => "-tls1_3",
        other => panic!("no single-version flag for {other:?}"),
    }
}

fn version_name(protocol: SslProtocol) -> &'static str {
    match protocol {
        SslProtocol::TlsV1_2 => "TLSv1.2",
        SslProtocol::TlsV1_3 => "TLSv1.3",
        other => panic!("no version name for {other:?}"),
    }
}

/// `count` lines of printable pseudo-random text, `len` bytes each including the `\n`.
fn text_lines(seed: u64, count: usize, len: usize) -> Vec<Vec<u8>> {
    let mut rng = XorShift64::new(seed);
    (0..count)
        .map(|_| {
            let mut line: Vec<u8> = (0..len - 1).map(|_| b'!' + rng.below(94) as u8).collect();
            line.push(b'\n');
            line
        })
        .collect()
}

fn reversed(line: &[u8]) -> Vec<u8> {
    let mut r: Vec<u8> = line[..line.len() - 1].iter().rev().copied().collect();
    r.push(b'\n');
    r
}

/// What s_server reported about the session, checked against the crate's view.
fn assert_server_saw(server: &mut Proc, cipher: &str, protocol: SslProtocol) {
    assert_eq!(
        server.expect_value("Protocol version:", STEP),
        version_name(protocol)
    );
    assert_eq!(server.expect_value("Ciphersuite:", STEP), cipher);
}

/// s_server -rev, crate client in the blocking style: `wait_for_encrypted`, lines through
/// `io::Write` and a `BufReader` over `io::Read`, then `CLOSE`: the server answers with
/// close_notify (keeping TCP open), `io::Read` ends with `Ok(0)`, and the client closes.
fn rev_blocking(protocol: SslProtocol) {
    let pems = PemFiles::new();
    let (mut server, port) = s_server(&pems, &["-rev", version_flag(protocol)]);
    let mut s = trusting_client();
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(s.wait_for_connected(STEP_MS), "{}", s.error_string());
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    assert_eq!(s.session_protocol(), protocol);
    let cipher = s.session_cipher().name();
    assert!(s.ssl_errors().is_empty(), "{:?}", s.ssl_errors());
    assert_eq!(
        s.peer_certificate_chain(),
        vec![pki().leaf.certificate(), pki().intermediate.certificate()]
    );

    let lines = text_lines(3, 20, 100);
    {
        let mut reader = BufReader::new(&mut s);
        for line in &lines {
            reader.get_mut().write_all(line).unwrap();
            reader.get_mut().flush().unwrap();
            let mut answer = Vec::new();
            reader.read_until(b'\n', &mut answer).unwrap();
            assert_eq!(answer, reversed(line));
        }
        reader.get_mut().write_all(b"CLOSE\n").unwrap();
        reader.get_mut().flush().unwrap();
        let mut rest = Vec::new();
        reader
            .read_to_end(&mut rest)
            .expect("close_notify ends the stream cleanly");
        assert!(rest.is_empty(), "{rest:?}");
    }
    assert_eq!(s.peer_closed_cleanly(), Some(true));
    assert_eq!(s.read(&mut [0u8; 4]), 0, "still connected: 0, not -1");
    assert_eq!(Read::read(&mut s, &mut [0u8; 4]).unwrap(), 0, "Ok(0) again");
    // s_server keeps TCP open after its close_notify (until the client closes): answer it.
    assert_eq!(s.state(), SocketState::ConnectedState);
    assert_eq!(s.error(), SocketError::RemoteHostClosedError);
    assert_eq!(s.error_string(), "The TLS/SSL connection has been closed");
    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
    assert_eq!(s.read(&mut [0u8; 4]), -1);
    assert!(
        s.session_cipher().is_null(),
        "no session after the close, as in Qt"
    );
    assert_server_saw(&mut server, &cipher, protocol);
    server.expect_line("CONNECTION CLOSED", STEP, |l| l == "CONNECTION CLOSED");
    assert!(server.wait_exit(STEP).success(), "{}", server.transcript());
}

#[test]
fn s_server_rev_blocking_tls12() {
    rev_blocking(SslProtocol::TlsV1_2);
}

#[test]
fn s_server_rev_blocking_tls13() {
    rev_blocking(SslProtocol::TlsV1_3);
}

/// s_server -rev, crate client in the slot-driven style: `encrypted` writes every line,
/// `ready_read` collects the answers and sends `CLOSE` after the last; the server's
/// close_notify is answered from the `error_occurred` slot; `wait_for_disconnected` drives.
fn rev_slot_driven(protocol: SslProtocol) {
    let pems = PemFiles::new();
    let (mut server, port) = s_server(&pems, &["-rev", version_flag(protocol)]);
    let lines = text_lines(5, 50, 300);
    let expected: Vec<u8> = lines.iter().flat_map(|l| reversed(l)).collect();
    let sent: usize = lines.iter().map(Vec::len).sum::<usize>() + 6;

    let mut s = trusting_client();
    s.set_protocol(protocol);
    let rec = Recorder::attach(&mut s);
    let cipher = Arc::new(Mutex::new(String::new()));
    let c = cipher.clone();
    s.on_encrypted(move |s| {
        *c.lock().unwrap() = s.session_cipher().name();
        for line in &lines {
            s.write(line);
        }
    });
    let received = Arc::new(Mutex::new(Vec::new()));
    let r = received.clone();
    let want = expected.len();
    s.on_ready_read(move |s| {
        let mut r = r.lock().unwrap();
        let before = r.len();
        r.extend_from_slice(&s.read_all());
        if before < want && r.len() >= want {
            s.write(b"CLOSE\n");
        }
    });
    // s_server keeps TCP open after its close_notify: close from the error slot.
    s.on_error_occurred(|s, e| {
        if e == SocketError::RemoteHostClosedError && s.state() == SocketState::ConnectedState {
            s.disconnect_from_host();
        }
    });
    let written = Arc::new(Mutex::new((0i64, 0i64)));
    let w = written.clone();
    s.on_bytes_written(move |_, n| w.lock().unwrap().0 += n);
    let w = written.clone();
    s.on_encrypted_bytes_written(move |_, n| w.lock().unwrap().1 += n);
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(drive_until_finished(&mut s, &rec, STEP));

    assert!(*received.lock().unwrap() == expected, "every line reversed");
    let signals = rec.signals();
    assert_eq!(signals.last().map(String::as_str), Some("disconnected"));
    let errors: Vec<&String> = signals
        .iter()
        .filter(|e| e.starts_with("errorOccurred"))
        .collect();
    assert_eq!(
        errors,
        ["errorOccurred RemoteHostClosedError"],
        "the server's close_notify"
    );
    assert_eq!(s.peer_closed_cleanly(), Some(true));
    let (plain, encrypted) = *written.lock().unwrap();
    assert_eq!(plain, sent as i64, "bytes_written sums to what was written");
    assert!(encrypted > plain, "encryption adds record overhead");
    let totals = s.byte_totals();
    assert_eq!(totals.plaintext_written, sent as u64);
    assert_eq!(totals.plaintext_read, expected.len() as u64);
    assert!(totals.ciphertext_written >= encrypted as u64);
    assert!(totals.ciphertext_read > totals.plaintext_read);
    let cipher = cipher.lock().unwrap().clone();
    assert_server_saw(&mut server, &cipher, protocol);
    assert!(server.wait_exit(STEP).success(), "{}", server.transcript());
}

#[test]
fn s_server_rev_slot_driven_tls12() {
    rev_slot_driven(SslProtocol::TlsV1_2);
}

#[test]
fn s_server_rev_slot_driven_tls13() {
    rev_slot_driven(SslProtocol::TlsV1_3);
}

/// One MiB through s_server -rev (lines of 1 KiB, sizes kept), written with `write()` and driven
/// with `wait_for_bytes_written`, read back with `wait_for_ready_read` + `read_all()`.
#[test]
fn s_server_rev_one_mebibyte() {
    let pems = PemFiles::new();
    let (mut server, port) = s_server(&pems, &["-rev"]);
    let lines = text_lines(9, 1024, 1024);
    let data: Vec<u8> = lines.concat();
    let expected: Vec<u8> = lines.iter().flat_map(|l| reversed(l)).collect();
    let mut s = trusting_client();
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    assert_eq!(s.write(&data), data.len() as i64);
    let mut back = Vec::new();
    let deadline = std::time::Instant::now() + STEP * 2;
    while back.len() < expected.len() {
        assert!(
            std::time::Instant::now() < deadline,
            "{} bytes back",
            back.len()
        );
        if s.bytes_to_write() > 0 || s.encrypted_bytes_to_write() > 0 {
            s.wait_for_bytes_written(STEP_MS);
        } else {
            assert!(s.wait_for_ready_read(STEP_MS), "{}", s.error_string());
        }
        back.extend_from_slice(&s.read_all());
    }
    assert!(back == expected, "1 MiB reversed line by line, byte-exact");
    assert_eq!(s.byte_totals().plaintext_written, data.len() as u64);
    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
    server.expect_line("CONNECTION CLOSED", STEP, |l| l == "CONNECTION CLOSED");
}

/// s_server -www answers `GET /` with a status page and closes; `io::Read::read_to_end` reads it
/// all and ends cleanly.
#[test]
fn s_server_www_read_to_end() {
    let pems = PemFiles::new();
    let (_server, port) = s_server(&pems, &["-www"]);
    let mut s = trusting_client();
    s.connect_to_host_encrypted("127.0.0.1", port);
    s.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut page = Vec::new();
    let result = s.read_to_end(&mut page);
    let text = String::from_utf8_lossy(&page);
    assert!(text.starts_with("HTTP/1.0 200 ok\r\n"), "{text}");
    assert!(
        text.contains("New, TLSv1.3, Cipher is TLS_AES_256_GCM_SHA384"),
        "{text}"
    );
    assert!(text.trim_end().ends_with("</BODY></HTML>"), "{text}");
    match s.peer_closed_cleanly() {
        Some(true) => assert!(result.is_ok(), "{result:?}"),
        other => panic!("s_server -www ends with close_notify, got {other:?}: {result:?}"),
    }
}

/// s_server -Verify (a client certificate is required, verified against the root): the crate
/// client presents the client leaf and the intermediate.
fn client_certificate_to_s_server(protocol: SslProtocol) {
    let pems = PemFiles::new();
    let root = pems.root.to_str().unwrap().to_owned();
    let (mut server, port) = s_server(
        &pems,
        &[
            "-rev",
            version_flag(protocol),
            "-Verify",
            "3",
            "-verify_return_error",
            "-CAfile",
            &root,
        ],
    );
    let p = pki();
    let mut s = trusting_client();
    s.set_local_certificate_chain(vec![p.client.certificate(), p.intermediate.certificate()]);
    s.set_private_key(p.client.ssl_key());
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    s.write(b"certified\n");
    assert_eq!(
        read_line_within(&mut s, STEP).as_deref(),
        Some(&b"deifitrec\n"[..])
    );
    let peer = server.expect_value("Peer certificate:", STEP);
    assert!(peer.contains("CN = Test Client"), "{peer}");
    for depth in ["depth=2", "depth=1", "depth=0"] {
        server.expect_line(depth, STEP, |l| l.starts_with(depth));
    }
    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
    server.expect_line("CONNECTION CLOSED", STEP, |l| l == "CONNECTION CLOSED");
}

#[test]
fn client_certificate_to_s_server_tls12() {
    client_certificate_to_s_server(SslProtocol::TlsV1_2);
}

#[test]
fn client_certificate_to_s_server_tls13() {
    client_certificate_to_s_server(SslProtocol::TlsV1_3);
}

/// s_server -Verify without a client certificate: under TLS 1.2 the handshake fails with the
/// server's alert and OpenSSL's reason.
#[test]
fn s_server_requires_certificate_crate_client_has_none() {
    let pems = PemFiles::new();
    let root = pems.root.to_str().unwrap().to_owned();
    let (_server, port) = s_server(
        &pems,
        &["-rev", "-tls1_2", "-Verify", "3", "-CAfile", &root],
    );
    let mut s = trusting_client();
    let rec = Recorder::attach(&mut s);
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(!s.wait_for_encrypted(STEP_MS));
    assert_eq!(s.error(), SocketError::SslHandshakeFailedError);
    assert_eq!(
        s.error_string(),
        "Error during SSL handshake: error:0A000410:SSL routines::sslv3 alert handshake failure"
    );
    assert_eq!(s.state(), SocketState::UnconnectedState);
    assert!(!rec.signals().contains(&"encrypted".to_string()));
}

/// s_client against a crate server: the client verifies the chain and the host name, sends a
/// line typed on its stdin, prints the answer; the server closes with close_notify.
fn s_client_to_crate_server(protocol: SslProtocol) {
    let pems = PemFiles::new();
    let (l, port) = listener();
    let mut client = s_client(&pems, port, &[version_flag(protocol)]);
    let mut s = crate_server_on(accept_within(&l, STEP));
    let rec = Recorder::attach(&mut s);
    s.start_server_encryption();
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    // The server's last flight (TLS 1.2: its Finished) leaves on the next drive, as in Qt.
    s.flush();
    assert_eq!(s.session_protocol(), protocol);
    assert!(
        s.peer_certificate().is_null(),
        "s_client sent no certificate"
    );
    client.expect_line("CONNECTION ESTABLISHED", STEP, |l| {
        l == "CONNECTION ESTABLISHED"
    });
    assert_eq!(
        client.expect_value("Protocol version:", STEP),
        version_name(protocol)
    );
    assert_eq!(
        client.expect_value("Ciphersuite:", STEP),
        s.session_cipher().name()
    );
    assert_eq!(client.expect_value("Verification:", STEP), "OK");

    client.send(b"ping\n");
    assert_eq!(
        read_line_within(&mut s, STEP).as_deref(),
        Some(&b"ping\n"[..])
    );
    s.write(b"pong\n");
    assert!(s.flush());
    client.expect_line("pong", STEP, |l| l == "pong");

    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
    let status = client.wait_exit(STEP);
    assert!(status.success(), "{status:?}\n{}", client.transcript());
    let signals = rec.signals();
    assert!(
        !signals.iter().any(|e| e.starts_with("errorOccurred")),
        "{signals:?}"
    );
}

#[test]
fn s_client_to_crate_server_tls12() {
    s_client_to_crate_server(SslProtocol::TlsV1_2);
}

#[test]
fn s_client_to_crate_server_tls13() {
    s_client_to_crate_server(SslProtocol::TlsV1_3);
}

/// A server configured with its leaf alone and the intermediate among its CA certificates sends
/// the intermediate anyway, as Qt's does (OpenSSL completes the chain from the trust store): an
/// s_client that trusts only the root verifies it. Twice, so that the second connection, on the
/// cached context whose chain was built once, sends it too.
#[test]
fn s_client_verifies_a_chain_the_server_completed_from_its_ca_store() {
    let p = pki();
    let pems = PemFiles::new();
    let mut config = SslConfiguration::default_configuration();
    config.set_local_certificate(p.leaf.certificate());
    config.set_private_key(p.leaf.ssl_key());
    config.add_ca_certificate(p.intermediate.certificate());
    config.set_peer_verify_mode(PeerVerifyMode::VerifyNone);
    for round in 0..2 {
        let (l, port) = listener();
        let mut client = s_client(&pems, port, &[]);
        let mut s = SslSocket::new();
        s.set_ssl_configuration(config.clone());
        let tcp = accept_within(&l, STEP);
        assert!(s.set_socket_descriptor(
            std::os::fd::IntoRawFd::into_raw_fd(tcp),
            SocketState::ConnectedState,
            OpenMode::ReadWrite
        ));
        s.start_server_encryption();
        assert!(
            s.wait_for_encrypted(STEP_MS),
            "round {round}: {}",
            s.error_string()
        );
        s.flush();
        client.expect_line("CONNECTION ESTABLISHED", STEP, |l| {
            l == "CONNECTION ESTABLISHED"
        });
        assert_eq!(
            client.expect_value("Verification:", STEP),
            "OK",
            "round {round}: {}",
            client.transcript()
        );
        s.disconnect_from_host();
        assert!(wait_unconnected(&mut s, STEP));
        client.close_stdin();
        assert!(client.wait_exit(STEP).success(), "{}", client.transcript());
    }
}

/// s_client with a client certificate and its intermediate against a crate server with
/// `VerifyPeer`: the server sees the client's chain, leaf first, with no verification errors.
fn s_client_certificate_to_crate_server(protocol: SslProtocol) {
    let pems = PemFiles::new();
    let p = pki();
    let (l, port) = listener();
    let client_leaf = pems.client_leaf.to_str().unwrap().to_owned();
    let client_key = pems.client_key.to_str().unwrap().to_owned();
    let inter = pems.intermediate.to_str().unwrap().to_owned();
    let mut client = s_client(
        &pems,
        port,
        &[
            version_flag(protocol),
            "-cert",
            &client_leaf,
            "-key",
            &client_key,
            "-cert_chain",
            &inter,
        ],
    );
    let mut s = crate_server_on(accept_within(&l, STEP));
    s.set_peer_verify_mode(PeerVerifyMode::VerifyPeer);
    s.set_ca_certificates(vec![p.root.certificate()]);
    s.start_server_encryption();
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    assert!(s.ssl_errors().is_empty(), "{:?}", s.ssl_errors());
    assert_eq!(
        s.peer_certificate_chain(),
        vec![p.client.certificate(), p.intermediate.certificate()]
    );
    assert_eq!(s.peer_certificate(), p.client.certificate());
    s.flush();
    client.expect_line("CONNECTION ESTABLISHED", STEP, |l| {
        l == "CONNECTION ESTABLISHED"
    });
    client.send(b"who am I\n");
    assert_eq!(
        read_line_within(&mut s, STEP).as_deref(),
        Some(&b"who am I\n"[..])
    );
    let name = s.peer_certificate().subject_info(SubjectInfo::CommonName);
    s.write(format!("{}\n", name.join(",")).as_bytes());
    assert!(s.flush());
    client.expect_line("Test Client", STEP, |l| l == "Test Client");
    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
    assert!(client.wait_exit(STEP).success(), "{}", client.transcript());
}

#[test]
fn s_client_certificate_to_crate_server_tls12() {
    s_client_certificate_to_crate_server(SslProtocol::TlsV1_2);
}

#[test]
fn s_client_certificate_to_crate_server_tls13() {
    s_client_certificate_to_crate_server(SslProtocol::TlsV1_3);
}

/// s_client sends `-tls1_2` only to a crate server restricted to TLS 1.3: both fail, the crate
/// with OpenSSL's reason.
#[test]
fn s_client_protocol_mismatch_crate_server() {
    let pems = PemFiles::new();
    let (l, port) = listener();
    let mut client = s_client(&pems, port, &["-tls1_2"]);
    let mut s = crate_server_on(accept_within(&l, STEP));
    s.set_protocol(SslProtocol::TlsV1_3OrLater);
    s.start_server_encryption();
    assert!(!s.wait_for_encrypted(STEP_MS));
    assert_eq!(s.error(), SocketError::SslHandshakeFailedError);
    assert_eq!(
        s.error_string(),
        "Error during SSL handshake: error:0A000102:SSL routines::unsupported protocol"
    );
    assert!(!drive_until(&mut s, STEP, |s| s.is_encrypted()));
    client.expect_line("an alert", STEP, |l| l.contains("alert protocol version"));
    assert!(!client.wait_exit(STEP).success());
}

/// A client that asks to renegotiate (s_client's `R` command, TLS 1.2) is refused: OpenSSL 3
/// servers answer with a no_renegotiation warning unless client renegotiation is allowed, which
/// neither Qt nor the crate does, and s_client ends the connection on it. The server never runs
/// a second handshake (one `encrypted`), reports the client's alert as an error, and ends
/// unconnected; what it read before is intact. tlsfuzzer's renegotiation scripts give the crate
/// the same probe results as s_server (`tools/tlsfuzzer.py`); this is the check CI runs.
#[test]
fn client_renegotiation_is_refused() {
    let pems = PemFiles::new();
    let (l, port) = listener();
    let mut client = s_client(&pems, port, &["-tls1_2"]);
    let mut s = crate_server_on(accept_within(&l, STEP));
    let rec = Recorder::attach(&mut s);
    s.start_server_encryption();
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    s.flush();
    client.expect_line("CONNECTION ESTABLISHED", STEP, |l| {
        l == "CONNECTION ESTABLISHED"
    });
    client.send(b"ping\n");
    assert_eq!(
        read_line_within(&mut s, STEP).as_deref(),
        Some(&b"ping\n"[..])
    );
    client.send(b"R\n");
    client.expect_line("RENEGOTIATING", STEP, |l| l.contains("RENEGOTIATING"));
    assert!(wait_unconnected(&mut s, STEP), "{:?}", rec.signals());
    let status = client.wait_exit(STEP);
    let transcript = client.transcript();
    assert!(!status.success(), "{status:?}\n{transcript}");
    assert!(transcript.contains("no renegotiation"), "{transcript}");
    let signals = rec.signals();
    assert_eq!(
        signals.iter().filter(|e| *e == "encrypted").count(),
        1,
        "{signals:?}"
    );
    // Qt's wording for an SSL_read failure; the alert is the client's answer to the refusal.
    assert_eq!(s.error(), SocketError::SslInternalError, "{signals:?}");
    assert!(
        s.error_string().starts_with("Error while reading: ")
            && s.error_string().contains("handshake failure"),
        "{}",
        s.error_string()
    );
    assert_eq!(
        signals.last().map(String::as_str),
        Some("aboutToClose"),
        "{signals:?}"
    );
    assert!(signals.iter().any(|e| e == "disconnected"), "{signals:?}");
}
