//! SslSocket's API rules from Qt's autotests (qt-semantics.md §6.2) that need at most a simple
//! peer: a fresh socket's values, misuse without a connection, unusable configurations, the
//! STARTTLS guard, descriptors, the blocking `std::io` impls and the byte counters.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::IntoRawFd;
use std::time::Duration;

use common::peer::{Peer, acceptor, echo_lines, echo_peer, read_plain_line, tls_accept};
use common::pki::pki;
use common::recorder::Recorder;
use openssl::ssl::{SslConnector, SslMethod};
use qsslsocket::*;

#[test]
fn s1_fresh_socket() {
    let mut s = SslSocket::new();
    assert_eq!(s.state(), SocketState::UnconnectedState);
    assert_eq!(s.mode(), SslMode::UnencryptedMode);
    assert!(!s.is_encrypted());
    assert_eq!((s.bytes_available(), s.bytes_to_write()), (0, 0));
    assert!(!s.can_read_line());
    assert!(s.at_end());
    assert!(s.local_certificate().is_null());
    assert_eq!(
        s.ssl_configuration(),
        SslConfiguration::default_configuration()
    );
    assert_eq!(s.error(), SocketError::UnknownSocketError);
    assert_eq!(s.error_string(), "Unknown error");
    assert_eq!(s.read(&mut [0u8; 4]), -1, "not open");
    assert_eq!(s.write(b"x"), -1, "not open");
    assert_eq!(s.read_buffer_size(), 0);
    assert_eq!(s.socket_descriptor(), -1);
    assert!(!s.wait_for_connected(10));
    assert!(!s.wait_for_disconnected(10));
    assert_eq!(s.protocol(), SslProtocol::SecureProtocols);
    assert_eq!(s.peer_verify_mode(), PeerVerifyMode::AutoVerifyPeer);
    assert_eq!(s.peer_verify_depth(), 0);
    assert!(s.session_cipher().is_null());
    assert_eq!(s.session_protocol(), SslProtocol::UnknownProtocol);
    assert_eq!(s.peer_closed_cleanly(), None);
    assert!(s.verification_report().is_none());
    assert_eq!(s.byte_totals(), ByteTotals::default());
}

#[test]
fn s5_peer_verify_depth_refuses_negative_values() {
    let mut s = SslSocket::new();
    s.set_peer_verify_depth(1);
    assert_eq!(s.peer_verify_depth(), 1);
    s.set_peer_verify_depth(-1);
    assert_eq!(s.peer_verify_depth(), 1);
}

#[test]
fn s8_start_encryption_without_a_connection_does_nothing() {
    let mut s = SslSocket::new();
    let rec = Recorder::attach(&mut s);
    s.start_client_encryption();
    s.start_server_encryption();
    assert_eq!(s.mode(), SslMode::UnencryptedMode);
    assert_eq!(s.error(), SocketError::UnknownSocketError);
    assert!(rec.signals().is_empty());
}

#[test]
fn s9_unsupported_protocols_fail_before_connecting() {
    for protocol in [
        SslProtocol::DtlsV1_2,
        SslProtocol::UnknownProtocol,
        SslProtocol::SslV2,
    ] {
        let mut s = SslSocket::new();
        s.set_protocol(protocol);
        let rec = Recorder::attach(&mut s);
        s.connect_to_host_encrypted("127.0.0.1", 9);
        assert_eq!(s.state(), SocketState::UnconnectedState, "{protocol}");
        assert_eq!(
            s.error(),
            SocketError::SslInvalidUserDataError,
            "{protocol}"
        );
        assert_eq!(
            rec.signals(),
            ["errorOccurred SslInvalidUserDataError"],
            "no connect attempt for {protocol}"
        );
    }
    let mut s = SslSocket::new();
    s.set_protocol(SslProtocol::DtlsV1_0);
    s.connect_to_host_encrypted("127.0.0.1", 9);
    assert_eq!(
        s.error_string(),
        "Attempted to use an unsupported protocol."
    );
}

#[test]
fn sslv3_error_says_what_is_missing_where_openssl_lacks_it() {
    if SslSocket::is_protocol_supported(SslProtocol::SslV3) {
        // An OpenSSL with SSLv3 compiled in: the protocol is usable and there is no error.
        let mut s = SslSocket::new();
        s.set_protocol(SslProtocol::SslV3);
        s.connect_to_host_encrypted("127.0.0.1", 9);
        assert_ne!(s.error(), SocketError::SslInvalidUserDataError);
        return;
    }
    let mut s = SslSocket::new();
    s.set_protocol(SslProtocol::SslV3);
    s.connect_to_host_encrypted("127.0.0.1", 9);
    assert_eq!(s.error(), SocketError::SslInvalidUserDataError);
    let text = s.error_string();
    assert!(
        text.contains("SSL 3.0")
            && text.contains("OPENSSL_NO_SSL3")
            && text.contains("enable-ssl3"),
        "{text}"
    );
    assert_eq!(s.state(), SocketState::UnconnectedState);
}

/// A plain TCP pair: (accepted server side, connected client SslSocket in plain mode).
fn plain_pair() -> (std::net::TcpStream, SslSocket) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut s = SslSocket::new();
    s.connect_to_host("127.0.0.1", port);
    let (server, _) = listener.accept().unwrap();
    assert!(s.wait_for_connected(5000));
    server
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    (server, s)
}

#[test]
fn s25_server_certificate_without_key_fails_at_start_and_keeps_the_connection() {
    let p = pki();
    let (mut client_side, mut client) = plain_pair();
    // The crate socket is the server here: adopt the client's peer end.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let raw_client = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let (accepted, _) = listener.accept().unwrap();
    let mut server = SslSocket::new();
    server.set_local_certificate(p.leaf.certificate());
    let rec = Recorder::attach(&mut server);
    assert!(server.set_socket_descriptor(
        accepted.into_raw_fd(),
        SocketState::ConnectedState,
        OpenMode::ReadWrite
    ));
    server.start_server_encryption();
    assert_eq!(server.error(), SocketError::SslInvalidUserDataError);
    assert_eq!(
        server.error_string(),
        "Cannot provide a certificate with no key"
    );
    assert_eq!(
        rec.signals(),
        [
            "stateChanged ConnectedState",
            "modeChanged SslServerMode",
            "errorOccurred SslInvalidUserDataError"
        ]
    );
    assert_eq!(
        server.state(),
        SocketState::ConnectedState,
        "Qt leaves the connection up"
    );
    drop(raw_client);
    // (The unrelated plain pair shows the other side is untouched.)
    client.write(b"still plain\n");
    assert!(client.flush());
    assert_eq!(read_plain_line(&mut client_side).unwrap(), b"still plain\n");
}

#[test]
fn set_socket_descriptor_rejects_what_is_not_a_connected_socket() {
    let mut s = SslSocket::new();
    assert!(!s.set_socket_descriptor(-1, SocketState::ConnectedState, OpenMode::ReadWrite));
    assert_eq!(s.error(), SocketError::UnsupportedSocketOperationError);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    assert!(!s.set_socket_descriptor(
        listener.into_raw_fd(),
        SocketState::ConnectedState,
        OpenMode::ReadWrite
    ));
    assert_eq!(s.state(), SocketState::UnconnectedState);
    assert_eq!(s.socket_descriptor(), -1);
}

#[test]
fn starttls_guard_keeps_early_plaintext_readable_and_out_of_tls() {
    let p = pki();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let root = p.root.cert.clone();
    // A client that pipelines: the STARTTLS reply and an injected line arrive together.
    let peer = std::thread::spawn(move || {
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        tcp.write_all(b"STARTTLS\r\nINJECTED\r\n").unwrap();
        let reply = read_plain_line(&mut tcp).unwrap();
        let mut c = SslConnector::builder(SslMethod::tls()).unwrap();
        c.cert_store_mut().add_cert(root).unwrap();
        let mut tls = c.build().connect("localhost", tcp).unwrap();
        tls.write_all(b"secret\n").unwrap();
        tls.shutdown().ok();
        reply
    });
    let (tcp, _) = listener.accept().unwrap();
    let mut s = SslSocket::new();
    s.set_local_certificate_chain(vec![p.leaf.certificate(), p.intermediate.certificate()]);
    s.set_private_key(p.leaf.ssl_key());
    assert!(s.set_socket_descriptor(
        tcp.into_raw_fd(),
        SocketState::ConnectedState,
        OpenMode::ReadWrite
    ));
    while !s.can_read_line() || s.bytes_available() < 20 {
        assert!(s.wait_for_ready_read(5000));
    }
    assert_eq!(s.read_line(), b"STARTTLS\r\n");
    s.write(b"220 ready\r\n");
    s.start_server_encryption();
    // The injected line arrived before encryption: readable, flagged, and not fed to OpenSSL.
    assert_eq!(s.unencrypted_bytes_available(), 10);
    let ok = s.wait_for_encrypted(5000);
    if !ok {
        panic!("{} / peer: {:?}", s.error_string(), peer.join());
    }
    assert_eq!(s.read_line(), b"INJECTED\r\n");
    assert_eq!(s.unencrypted_bytes_available(), 0);
    while !s.can_read_line() {
        assert!(s.wait_for_ready_read(5000));
    }
    assert_eq!(s.read_line(), b"secret\n");
    assert_eq!(peer.join().unwrap(), b"220 ready\r\n");
}

#[test]
fn blocking_io_and_byte_totals() {
    let p = pki();
    let acc = acceptor(&p.leaf, &[&p.intermediate], |_| {});
    let peer = Peer::spawn(move |tcp, log| {
        if let Some(s) = tls_accept(&acc, tcp, log) {
            echo_lines(s, log);
        }
    });
    let mut s = SslSocket::new();
    s.set_ca_certificates(vec![p.root.certificate()]);
    let written = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(0));
    let w = written.clone();
    s.on_bytes_written(move |_, n| {
        w.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
    });
    s.connect_to_host_encrypted("localhost", peer.port);
    // io::Write before the handshake: queued, sent once encrypted.
    s.write_all(b"one\ntwo\n").unwrap();
    Write::flush(&mut s).unwrap();
    let mut got = Vec::new();
    while got.len() < b"echo:one\necho:two\n".len() {
        let mut buf = [0u8; 64];
        let n = Read::read(&mut s, &mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert_eq!(got, b"echo:one\necho:two\n");
    assert_eq!(written.load(std::sync::atomic::Ordering::Relaxed), 8);
    let totals = s.byte_totals();
    assert_eq!(totals.plaintext_written, 8);
    assert_eq!(totals.plaintext_read, 18);
    assert!(
        totals.ciphertext_written > 8 && totals.ciphertext_read > 18,
        "{totals:?}"
    );
    s.disconnect_from_host();
    assert!(s.state() == SocketState::UnconnectedState || s.wait_for_disconnected(5000));
    // The end of the stream: we closed, so io::Read reports the end.
    assert_eq!(Read::read(&mut s, &mut [0u8; 8]).unwrap(), 0);
    peer.join();
}

#[test]
fn wait_for_encrypted_is_false_when_already_encrypted() {
    let p = pki();
    let acc = acceptor(&p.leaf, &[&p.intermediate], |_| {});
    let peer = Peer::spawn(move |tcp, log| {
        if let Some(s) = tls_accept(&acc, tcp, log) {
            echo_lines(s, log);
        }
    });
    let mut s = SslSocket::new();
    s.set_ca_certificates(vec![p.root.certificate()]);
    s.connect_to_host_encrypted("localhost", peer.port);
    assert!(s.wait_for_encrypted(5000));
    assert!(
        !s.wait_for_encrypted(5000),
        "Qt: false when already encrypted"
    );
    assert_eq!(s.error(), SocketError::UnknownSocketError, "and no error");
    // As in Qt, the client's last handshake flight is still queued right after the handshake;
    // once it is out, there is nothing to wait for.
    s.flush();
    assert!(!s.wait_for_bytes_written(100), "nothing queued");
    s.abort();
    peer.join();
}

#[test]
fn socket_options_apply_now_and_to_later_connections() {
    let (_server, mut s) = plain_pair();
    s.set_socket_option(SocketOption::LowDelayOption, 1);
    assert_eq!(s.socket_option(SocketOption::LowDelayOption), 1);
    s.set_socket_option(SocketOption::KeepAliveOption, 1);
    assert_eq!(s.socket_option(SocketOption::KeepAliveOption), 1);
    assert_eq!(
        s.socket_option(SocketOption::MulticastTtlOption),
        -1,
        "does not apply to TCP"
    );
}

#[test]
fn host_not_found() {
    let mut s = SslSocket::new();
    let rec = Recorder::attach(&mut s);
    s.connect_to_host_encrypted("does-not-exist.invalid", 443);
    assert!(!s.wait_for_connected(10_000));
    assert_eq!(s.error(), SocketError::HostNotFoundError);
    assert_eq!(s.error_string(), "Host not found");
    assert_eq!(
        rec.signals(),
        [
            "stateChanged HostLookupState",
            "stateChanged UnconnectedState",
            "errorOccurred HostNotFoundError"
        ]
    );
}

#[test]
fn sni_is_the_ace_form_of_the_peer_name_and_absent_for_ip_literals() {
    let seen = |connect: &dyn Fn(&mut SslSocket, u16)| -> Option<String> {
        let p = pki();
        let name = std::sync::Arc::new(std::sync::Mutex::new(None));
        let n = name.clone();
        let acc = acceptor(&p.leaf, &[&p.intermediate], move |b| {
            b.set_servername_callback(move |ssl, _| {
                *n.lock().unwrap() = ssl
                    .servername(openssl::ssl::NameType::HOST_NAME)
                    .map(str::to_owned);
                Ok(())
            });
        });
        let peer = Peer::spawn(move |tcp, log| {
            if let Some(s) = tls_accept(&acc, tcp, log) {
                echo_lines(s, log);
            }
        });
        let mut s = SslSocket::new();
        s.set_peer_verify_mode(PeerVerifyMode::VerifyNone);
        connect(&mut s, peer.port);
        assert!(s.wait_for_encrypted(5000), "{}", s.error_string());
        s.abort();
        peer.join();
        name.lock().unwrap().clone()
    };
    assert_eq!(
        seen(&|s, port| s.connect_to_host_encrypted("localhost", port)),
        Some("localhost".into())
    );
    assert_eq!(
        seen(&|s, port| s.connect_to_host_encrypted("127.0.0.1", port)),
        None
    );
    assert_eq!(
        seen(&|s, port| s.connect_to_host_encrypted_with_peer_name(
            "127.0.0.1",
            port,
            "Bücher.Example."
        )),
        Some("xn--bcher-kva.example".into())
    );
    assert_eq!(
        seen(&|s, port| {
            s.set_ssl_configuration({
                let mut c = s.ssl_configuration();
                c.set_ssl_option(SslOption::SslOptionDisableServerNameIndication, true);
                c
            });
            s.connect_to_host_encrypted("localhost", port)
        }),
        None
    );
}

#[test]
fn the_servers_handshake_completes_even_if_the_client_stops_driving() {
    // Qt leaves the client's Finished in its plain socket until the next event-loop turn; the
    // crate sends it at once (and reports it with the next encryptedBytesWritten, where Qt does).
    let p = pki();
    // TLS 1.3: the client's Finished is the handshake's last message.
    let acc = acceptor(&p.leaf, &[&p.intermediate], |b| {
        b.set_min_proto_version(Some(openssl::ssl::SslVersion::TLS1_3))
            .unwrap();
    });
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let peer = Peer::spawn(move |tcp, log| {
        let stream = tls_accept(&acc, tcp, log);
        done_tx.send(stream.is_some()).unwrap();
        // Keep the connection until the client side has been checked.
        let _ = release_rx.recv_timeout(common::peer::PEER_TIMEOUT);
        drop(stream);
    });
    let mut s = SslSocket::new();
    s.set_ca_certificates(vec![p.root.certificate()]);
    let rec = Recorder::attach(&mut s);
    s.connect_to_host_encrypted("localhost", peer.port);
    assert!(s.wait_for_encrypted(5000), "{}", s.error_string());
    // No more driving: the server must still finish.
    assert_eq!(done_rx.recv_timeout(Duration::from_secs(5)), Ok(true));
    assert_eq!(rec.signals().last().map(String::as_str), Some("encrypted"));
    // The bytes are reported with the next drive, as Qt reports them on its next turn.
    s.flush();
    assert_eq!(
        rec.signals().last().map(String::as_str),
        Some("encryptedBytesWritten")
    );
    release_tx.send(()).unwrap();
    peer.join();
}

/// A socket reused for an adopted descriptor after a TLS connection starts from scratch: plain
/// mode, no errors, no handshake results, nothing of the old connection's end (review finding:
/// `set_socket_descriptor` kept the previous connection's mode and close_notify state).
#[test]
fn set_socket_descriptor_after_a_tls_connection_starts_fresh() {
    let p = pki();
    // First connection: a client whose peer answers one line and then sends close_notify.
    let acc = acceptor(&p.leaf, &[&p.intermediate], |_| {});
    let peer = Peer::spawn(move |tcp, log| {
        if let Some(mut s) = tls_accept(&acc, tcp, log) {
            if let Some(line) = common::peer::read_line(&mut s) {
                s.write_all(&[b"echo:".as_slice(), &line].concat()).ok();
            }
            s.shutdown().ok();
            let _ = s.read(&mut [0u8; 16]);
        }
    });
    let mut s = SslSocket::new();
    s.set_ca_certificates(vec![p.root.certificate()]);
    s.set_local_certificate_chain(vec![p.leaf.certificate(), p.intermediate.certificate()]);
    s.set_private_key(p.leaf.ssl_key());
    s.connect_to_host_encrypted("localhost", peer.port);
    s.write_all(b"one\n").unwrap();
    let mut got = Vec::new();
    Read::read_to_end(&mut s, &mut got).unwrap();
    assert_eq!(got, b"echo:one\n");
    assert_eq!(s.peer_closed_cleanly(), Some(true));
    s.disconnect_from_host();
    assert!(s.state() == SocketState::UnconnectedState || s.wait_for_disconnected(5000));
    peer.join();

    // Second connection: an adopted descriptor on which this socket is the TLS server.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let root = p.root.cert.clone();
    let client = std::thread::spawn(move || {
        let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut c = SslConnector::builder(SslMethod::tls()).unwrap();
        c.cert_store_mut().add_cert(root).unwrap();
        let mut tls = c.build().connect("localhost", tcp).unwrap();
        tls.write_all(b"two\n").unwrap();
        common::peer::read_line(&mut tls)
    });
    let (tcp, _) = listener.accept().unwrap();
    assert!(s.set_socket_descriptor(
        tcp.into_raw_fd(),
        SocketState::ConnectedState,
        OpenMode::ReadWrite
    ));
    assert_eq!(s.mode(), SslMode::UnencryptedMode);
    assert!(!s.is_encrypted());
    assert_eq!(s.peer_closed_cleanly(), None);
    assert_eq!(s.error(), SocketError::UnknownSocketError);
    assert!(s.verification_report().is_none());
    assert!(s.peer_name().is_empty());
    s.start_server_encryption();
    assert_eq!(s.mode(), SslMode::SslServerMode);
    assert!(s.wait_for_encrypted(5000), "{}", s.error_string());
    let mut line = [0u8; 4];
    Read::read_exact(&mut s, &mut line).unwrap();
    assert_eq!(&line, b"two\n");
    s.write_all(b"ok\n").unwrap();
    Write::flush(&mut s).unwrap();
    assert_eq!(client.join().unwrap().as_deref(), Some(b"ok\n".as_slice()));
    s.abort();
}

/// Qt's `disconnectFromHost` reports ClosingState only when the state changes (plus once for its
/// plain socket in TLS mode): a close that waits for queued plaintext, and a repeated call while
/// the connection is still closing, report nothing more (review finding: three and five).
#[test]
fn closing_state_is_reported_twice_for_a_pending_close_and_not_again() {
    let p = pki();
    let acc = acceptor(&p.leaf, &[&p.intermediate], |_| {});
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    // A peer that completes the handshake and then reads nothing, so the close stays pending.
    let peer = Peer::spawn(move |tcp, log| {
        let stream = tls_accept(&acc, tcp, log);
        let _ = release_rx.recv_timeout(common::peer::PEER_TIMEOUT);
        drop(stream);
    });
    let mut s = SslSocket::new();
    s.set_ca_certificates(vec![p.root.certificate()]);
    s.connect_to_host_encrypted("localhost", peer.port);
    assert!(s.wait_for_encrypted(5000), "{}", s.error_string());
    let rec = Recorder::attach(&mut s);
    let closing = |rec: &Recorder| {
        rec.signals()
            .iter()
            .filter(|e| *e == "stateChanged ClosingState")
            .count()
    };
    let data = vec![7u8; 16 * 1024 * 1024];
    s.write(&data);
    s.disconnect_from_host();
    assert_eq!(s.state(), SocketState::ClosingState);
    assert_eq!(closing(&rec), 1, "{:?}", rec.signals());
    s.flush();
    assert_eq!(
        s.state(),
        SocketState::ClosingState,
        "the peer reads nothing"
    );
    assert_eq!(closing(&rec), 2, "{:?}", rec.signals());
    s.disconnect_from_host();
    s.flush();
    assert_eq!(closing(&rec), 2, "{:?}", rec.signals());
    assert_eq!(s.byte_totals().plaintext_written, data.len() as u64);
    s.abort();
    release_tx.send(()).unwrap();
    peer.join();
}

/// The blocking `io::Read` and `io::Write` on a handshake paused after `ssl_errors` return an
/// error at once instead of waiting for a descriptor event that cannot come (review finding: it
/// blocked until the peer gave up); after `resume()` they work.
#[test]
fn blocking_io_on_a_paused_handshake_fails_at_once_and_works_after_resume() {
    let p = pki();
    let peer = common::peer::echo_peer(&p.leaf, &[&p.intermediate]);
    let mut s = SslSocket::new();
    // The test root is not trusted: the handshake stops with verification errors.
    s.set_ca_certificates(vec![]);
    s.set_pause_mode(PauseMode::PauseOnSslErrors);
    s.connect_to_host_encrypted("localhost", peer.port);
    const BIG: usize = 1024 * 1024 + 1; // just over the high-water mark
    let big = vec![b'.'; BIG];
    let (mut s, read, flushed, written) =
        common::peer::bounded(Duration::from_secs(5), move || {
            let read = Read::read(&mut s, &mut [0u8; 16]).map_err(|e| (e.kind(), e.to_string()));
            s.write(b"hi\n");
            let flushed = Write::flush(&mut s).map_err(|e| e.kind());
            // Queued while paused, up to the high-water mark; beyond it, an error and nothing queued.
            let written = [
                Write::write(&mut s, &big).map_err(|e| e.kind()),
                Write::write(&mut s, &big).map_err(|e| e.kind()),
            ];
            (s, read, flushed, written)
        });
    let (kind, text) = read.unwrap_err();
    assert_eq!(kind, std::io::ErrorKind::WouldBlock);
    assert!(text.contains("resume()"), "{text}");
    assert_eq!(flushed, Err(std::io::ErrorKind::WouldBlock));
    assert_eq!(written, [Ok(BIG), Err(std::io::ErrorKind::WouldBlock)]);
    assert_eq!(s.bytes_to_write(), (3 + BIG) as i64);
    assert!(!s.ssl_errors().is_empty());
    s.ignore_ssl_errors();
    s.resume();
    let mut line = [0u8; 8];
    Read::read_exact(&mut s, &mut line).unwrap();
    assert_eq!(&line, b"echo:hi\n");
    s.abort();
    peer.join();
}

/// A slot that drives the socket while the handshake's verification errors are being reported
/// (here `flush()` in `peer_verify_error`, and in `ssl_errors`) must not re-enter the handshake:
/// every error is reported once, `ssl_errors` once with all of them, `encrypted` once (review
/// finding: the nested drive finished the handshake on the first error alone, and the outer
/// step finished it again).
#[test]
fn slots_that_drive_the_socket_during_verification_do_not_reenter_the_handshake() {
    for ignore in [true, false] {
        let p = pki();
        // An expired leaf under an untrusted chain: two chain errors in one handshake step.
        let peer = common::peer::echo_peer(&p.expired, &[&p.intermediate]);
        let mut s = SslSocket::new();
        s.set_ca_certificates(vec![]);
        let rec = Recorder::attach(&mut s);
        s.on_peer_verify_error(move |s, _| {
            if ignore {
                s.ignore_ssl_errors();
            }
            s.flush();
        });
        s.on_ssl_errors(|s, _| {
            s.flush();
        });
        s.connect_to_host_encrypted("localhost", peer.port);
        assert_eq!(s.wait_for_encrypted(5000), ignore, "{}", s.error_string());
        if ignore {
            s.write(b"x\n");
            assert!(s.wait_for_ready_read(5000));
        }
        s.abort();
        peer.join();
        let signals = rec.signals();
        let count = |prefix: &str| signals.iter().filter(|e| e.starts_with(prefix)).count();
        let verify_errors = count("peerVerifyError");
        assert!(verify_errors >= 2, "{signals:?}");
        assert_eq!(count("sslErrors"), 1, "{signals:?}");
        let listed = signals
            .iter()
            .find(|e| e.starts_with("sslErrors"))
            .map(|e| e.matches(',').count() + 1);
        assert_eq!(listed, Some(verify_errors), "{signals:?}");
        assert_eq!(s.ssl_errors().len(), verify_errors);
        let encrypted = signals.iter().filter(|e| *e == "encrypted").count();
        assert_eq!(encrypted, usize::from(ignore), "{signals:?}");
        assert_eq!(
            count("errorOccurred SslHandshakeFailedError"),
            usize::from(!ignore),
            "{signals:?}"
        );
    }
}

/// `close()` encrypts and sends what is queued; the byte totals count it like any other write
/// (review finding: the plaintext handed to TLS by `close()` was not counted).
#[test]
fn byte_totals_count_what_close_sends() {
    let p = pki();
    let peer = common::peer::echo_peer(&p.leaf, &[&p.intermediate]);
    let mut s = SslSocket::new();
    s.set_ca_certificates(vec![p.root.certificate()]);
    s.connect_to_host_encrypted("localhost", peer.port);
    assert!(s.wait_for_encrypted(5000), "{}", s.error_string());
    s.flush();
    let before = s.byte_totals();
    s.write(b"queued\n");
    s.close();
    let after = s.byte_totals();
    assert_eq!(after.plaintext_written - before.plaintext_written, 7);
    assert!(
        after.ciphertext_written > before.ciphertext_written + 7,
        "{before:?} {after:?}"
    );
    let log = peer.join();
    assert_eq!(log.received, b"queued\n");
}

/// `peek` (QIODevice, Qt tests `qtbug18498_peek`): copies buffered plaintext without consuming
/// it, whatever the size asked, and reads after it see the same bytes; 0 with nothing buffered,
/// -1 once the device is closed.
#[test]
fn peek_copies_without_consuming() {
    let p = pki();
    let peer = echo_peer(&p.leaf, &[&p.intermediate]);
    let mut s = SslSocket::new();
    s.set_ca_certificates(vec![p.root.certificate()]);
    s.connect_to_host_encrypted("localhost", peer.port);
    assert!(s.wait_for_encrypted(5000), "{}", s.error_string());
    assert_eq!(s.peek(&mut [0u8; 8]), 0, "nothing buffered yet");
    s.write(b"hello world\n");
    while !s.can_read_line() {
        assert!(s.wait_for_ready_read(5000), "{}", s.error_string());
    }
    let line = b"echo:hello world\n";
    assert_eq!(s.bytes_available(), line.len() as i64);
    let mut four = [0u8; 4];
    assert_eq!(s.peek(&mut four), 4);
    assert_eq!(&four, b"echo");
    let mut all = [0u8; 64];
    assert_eq!(s.peek(&mut all), line.len() as i64);
    assert_eq!(&all[..line.len()], line);
    assert_eq!(s.bytes_available(), line.len() as i64, "peek consumed");
    let mut five = [0u8; 5];
    assert_eq!(s.read(&mut five), 5);
    assert_eq!(&five, b"echo:");
    assert_eq!(s.peek(&mut all), 12);
    assert_eq!(&all[..12], b"hello world\n");
    assert_eq!(s.read_line(), b"hello world\n");
    assert_eq!(s.peek(&mut all), 0);
    s.close();
    assert_eq!(s.peek(&mut all), -1, "closed device");
    peer.join();
}

/// Addresses, ports and `is_valid` (QAbstractSocket), as PyQt6 6.11 shows them: none before a
/// connection; once connected, the kernel's view of both ends, still there in the
/// `disconnected` slot and cleared after it; valid until `close()`.
#[test]
fn addresses_ports_and_validity_follow_the_connection() {
    let p = pki();
    let acc = acceptor(&p.leaf, &[&p.intermediate], |_| {});
    let peer = Peer::spawn(move |tcp, log| {
        log.push(format!("remote {}", tcp.peer_addr().expect("peer address")));
        if let Some(s) = tls_accept(&acc, tcp, log) {
            echo_lines(s, log);
        }
    });
    let mut s = SslSocket::new();
    s.set_ca_certificates(vec![p.root.certificate()]);
    let unconnected = |s: &SslSocket| {
        (
            s.is_valid(),
            s.local_address(),
            s.local_port(),
            s.peer_address(),
            s.peer_port(),
        )
    };
    assert_eq!(unconnected(&s), (false, None, 0, None, 0));
    s.connect_to_host_encrypted_with_peer_name("127.0.0.1", peer.port, "localhost");
    assert!(s.wait_for_encrypted(5000), "{}", s.error_string());
    let loopback: std::net::IpAddr = "127.0.0.1".parse().unwrap();
    assert!(s.is_valid());
    assert!(s.socket_descriptor() >= 0);
    assert_eq!(s.local_address(), Some(loopback));
    assert_ne!(s.local_port(), 0);
    assert_eq!(s.peer_address(), Some(loopback));
    assert_eq!(s.peer_port(), peer.port);
    let local = format!("remote 127.0.0.1:{}", s.local_port());
    let in_slot = std::sync::Arc::new(std::sync::Mutex::new(None));
    let seen = in_slot.clone();
    s.on_disconnected(move |s| {
        *seen.lock().unwrap() = Some((s.local_port(), s.peer_port(), s.is_valid(), s.is_open()));
    });
    s.disconnect_from_host();
    assert!(s.state() == SocketState::UnconnectedState || s.wait_for_disconnected(5000));
    // Qt's slot still sees both ends; afterwards they are cleared, and the socket stays valid
    // (Qt: QSslSocket::isValid() is isOpen()) until it is closed.
    let (local_port, peer_port, valid, open) = in_slot.lock().unwrap().expect("disconnected");
    assert!(local_port != 0 && peer_port == peer.port && valid && open);
    assert_eq!(unconnected(&s), (true, None, 0, None, 0));
    s.close();
    assert_eq!(unconnected(&s), (false, None, 0, None, 0));
    let log = peer.join();
    assert!(log.events.contains(&local), "{:?}", log.events);
}

/// `set_local_certificate_from_path` and `set_private_key_from_path` (Qt's file overloads): PEM
/// and DER, a key under a pass phrase; a missing file, a file without a certificate and a wrong
/// pass phrase leave the value as it was and say why in `error_string()` (Qt warns on stderr
/// and, for the key, keeps a null key); a server set up from files completes a handshake.
#[test]
fn certificate_and_key_from_files() {
    let p = pki();
    let dir = tempfile::tempdir().expect("temporary directory");
    let file = |name: &str, data: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, data).expect("write");
        path
    };
    let cert_pem = file("leaf.pem", &p.leaf.cert.to_pem().unwrap());
    let cert_der = file("leaf.der", &p.leaf.cert.to_der().unwrap());
    let key_pem = file("leaf.key", &p.leaf.key.private_key_to_pem_pkcs8().unwrap());
    let key_locked = file(
        "locked.key",
        &p.leaf
            .key
            .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"secret")
            .unwrap(),
    );
    let garbage = file("garbage.pem", b"not a certificate\n");
    let missing = dir.path().join("missing.pem");
    let key_der = |k: &SslKey| k.to_der();

    let mut s = SslSocket::new();
    s.set_local_certificate_from_path(&cert_der, EncodingFormat::Der);
    assert_eq!(s.local_certificate(), p.leaf.certificate());
    s.set_local_certificate_from_path(&cert_pem, EncodingFormat::Pem);
    assert_eq!(s.local_certificate(), p.leaf.certificate());
    assert_eq!(s.error(), SocketError::UnknownSocketError);
    s.set_local_certificate_from_path(&missing, EncodingFormat::Pem);
    assert_eq!(s.error(), SocketError::SslInvalidUserDataError);
    assert!(
        s.error_string().starts_with("Cannot read certificate file"),
        "{}",
        s.error_string()
    );
    s.set_local_certificate_from_path(&garbage, EncodingFormat::Pem);
    assert!(
        s.error_string().starts_with("No certificate found in"),
        "{}",
        s.error_string()
    );
    assert_eq!(s.local_certificate(), p.leaf.certificate(), "kept");

    let algorithm = KeyAlgorithm::Rsa;
    s.set_private_key_from_path(&key_locked, algorithm, EncodingFormat::Pem, b"secret");
    assert_eq!(key_der(&s.private_key()), key_der(&p.leaf.ssl_key()));
    s.set_private_key_from_path(&key_pem, algorithm, EncodingFormat::Pem, b"");
    assert_eq!(key_der(&s.private_key()), key_der(&p.leaf.ssl_key()));
    s.set_private_key_from_path(&key_locked, algorithm, EncodingFormat::Pem, b"wrong");
    assert_eq!(s.error(), SocketError::SslInvalidUserDataError);
    assert!(
        s.error_string().starts_with("Cannot load private key from"),
        "{}",
        s.error_string()
    );
    s.set_private_key_from_path(&missing, algorithm, EncodingFormat::Pem, b"");
    assert_eq!(s.error(), SocketError::SslInvalidUserDataError);
    assert_eq!(
        key_der(&s.private_key()),
        key_der(&p.leaf.ssl_key()),
        "kept"
    );

    // A server set up from those files.
    let (tcp, port) = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let client = std::thread::spawn(move || {
            let mut b = SslConnector::builder(SslMethod::tls()).unwrap();
            b.set_verify(openssl::ssl::SslVerifyMode::NONE);
            let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let tls = b.build().connect("localhost", tcp).expect("handshake");
            tls.ssl().peer_certificate().map(|c| c.to_der().unwrap())
        });
        (l.accept().unwrap().0, client)
    };
    let mut server = SslSocket::new();
    server.set_local_certificate_from_path(&cert_pem, EncodingFormat::Pem);
    server.set_private_key_from_path(&key_locked, algorithm, EncodingFormat::Pem, b"secret");
    server.set_peer_verify_mode(PeerVerifyMode::VerifyNone);
    assert!(server.set_socket_descriptor(
        tcp.into_raw_fd(),
        SocketState::ConnectedState,
        OpenMode::ReadWrite
    ));
    server.start_server_encryption();
    assert!(server.wait_for_encrypted(5000), "{}", server.error_string());
    server.flush();
    let seen = port.join().expect("client");
    assert_eq!(seen, Some(p.leaf.cert.to_der().unwrap()));
}
