//! The engine in memory: two engines talk to each other with no sockets at all.

use std::time::UNIX_EPOCH;

use openssl::ssl::SslVersion;

use super::probe::{handshake_in_memory, self_signed, shuttle};
use super::{Engine, ReadOutcome, Role, Setup, context};
use crate::{PeerVerifyMode, SslCertificate, SslConfiguration, SslKey, SslProtocol};

struct Pair {
    client: Engine,
    server: Engine,
    server_certificate: SslCertificate,
}

fn pair(protocol: SslProtocol, verify_peer: bool) -> Pair {
    let (cert, key) = self_signed("engine test").expect("self-signed certificate");
    let server_certificate = SslCertificate::from_x509(cert);
    let mut server_config = SslConfiguration::new();
    server_config.set_protocol(protocol);
    server_config.set_local_certificate(server_certificate.clone());
    server_config.set_private_key(SslKey::from_private_pkey(key));
    let mut client_config = SslConfiguration::new();
    client_config.set_protocol(protocol);
    client_config.set_peer_verify_mode(PeerVerifyMode::VerifyPeer);
    client_config.allow_root_cert_on_demand_loading = false;
    let server_ctx = context::shared_context(&server_config, Role::Server, UNIX_EPOCH).unwrap();
    let client_ctx = context::shared_context(&client_config, Role::Client, UNIX_EPOCH).unwrap();
    let client = Engine::new(
        client_ctx,
        Role::Client,
        Setup {
            verify_peer,
            server_name: Some("engine.test".into()),
            ..Setup::default()
        },
    )
    .unwrap();
    let server = Engine::new(server_ctx, Role::Server, Setup::default()).unwrap();
    Pair {
        client,
        server,
        server_certificate,
    }
}

/// Moves everything `from` wants to send into `to`, and says how many ciphertext bytes that was
/// (the engine keeps no byte counters; the socket counts what it moves).
fn shuttle_counted(from: &mut Engine, to: &mut Engine) -> usize {
    let n = from.outgoing().len();
    shuttle(from, to);
    n
}

/// Reads everything `engine` can decrypt right now.
fn read_all(engine: &mut Engine) -> (Vec<u8>, ReadOutcome) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match engine.read_plaintext(&mut buf) {
            ReadOutcome::Data(n) => out.extend_from_slice(&buf[..n]),
            other => return (out, other),
        }
    }
}

fn handshake_and_exchange(protocol: SslProtocol, version: SslVersion) {
    let Pair {
        mut client,
        mut server,
        ..
    } = pair(protocol, false);
    assert!(handshake_in_memory(&mut client, &mut server));
    assert_eq!(
        client.session_protocol(),
        Some(if version == SslVersion::TLS1_3 {
            SslProtocol::TlsV1_3
        } else {
            SslProtocol::TlsV1_2
        })
    );
    assert!(!client.session_cipher().is_null());

    let request = vec![7u8; 100_000];
    assert_eq!(client.write_plaintext(&request).unwrap(), request.len());
    let ciphertext = shuttle_counted(&mut client, &mut server);
    assert!(ciphertext > request.len(), "records add overhead");
    assert_eq!(server.pending_ciphertext_in(), ciphertext);
    let (got, outcome) = read_all(&mut server);
    assert_eq!(got, request);
    assert_eq!(outcome, ReadOutcome::NeedInput);
    assert_eq!(server.pending_ciphertext_in(), 0, "all of it consumed");

    assert_eq!(server.write_plaintext(b"reply").unwrap(), 5);
    assert!(shuttle_counted(&mut server, &mut client) > 5);
    let (got, _) = read_all(&mut client);
    assert_eq!(got, b"reply");
}

#[test]
fn tls13_handshake_and_data_both_ways() {
    handshake_and_exchange(SslProtocol::TlsV1_3, SslVersion::TLS1_3);
}

#[test]
fn tls12_handshake_and_data_both_ways() {
    handshake_and_exchange(SslProtocol::TlsV1_2, SslVersion::TLS1_2);
}

#[test]
fn verification_errors_are_collected_and_the_handshake_continues() {
    let Pair {
        mut client,
        mut server,
        server_certificate,
    } = pair(SslProtocol::TlsV1_3, true);
    assert!(
        handshake_in_memory(&mut client, &mut server),
        "the verify callback lets it finish"
    );
    let errors = client.take_verify_errors();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        errors[0].code,
        openssl_sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT
    );
    assert_eq!(errors[0].depth, 0);
    assert_eq!(errors[0].certificate.as_ref(), Some(&server_certificate));
    assert!(client.take_verify_errors().is_empty(), "taken once");
    assert_eq!(client.peer_certificate(), server_certificate);
    assert_eq!(client.peer_certificate_chain(), vec![server_certificate]);
}

#[test]
fn close_notify_is_a_clean_end_and_eof_alone_is_truncation() {
    let Pair {
        mut client,
        mut server,
        ..
    } = pair(SslProtocol::TlsV1_3, false);
    assert!(handshake_in_memory(&mut client, &mut server));
    server.write_plaintext(b"last words").unwrap();
    assert!(server.shutdown());
    assert!(!server.shutdown(), "close_notify is sent once");
    shuttle(&mut server, &mut client);
    let (got, outcome) = read_all(&mut client);
    assert_eq!(got, b"last words", "data before close_notify is delivered");
    assert_eq!(outcome, ReadOutcome::CloseNotify);
    assert!(client.close_notify_received());

    let Pair {
        mut client,
        mut server,
        ..
    } = pair(SslProtocol::TlsV1_3, false);
    assert!(handshake_in_memory(&mut client, &mut server));
    server.write_plaintext(b"cut").unwrap();
    shuttle(&mut server, &mut client);
    client.handle_transport_eof();
    let (got, outcome) = read_all(&mut client);
    assert_eq!(got, b"cut", "data before the cut is delivered");
    assert_eq!(outcome, ReadOutcome::Truncated);
}

#[test]
fn plaintext_held_inside_openssl_is_read_with_no_ciphertext_queued() {
    let Pair {
        mut client,
        mut server,
        ..
    } = pair(SslProtocol::TlsV1_3, false);
    assert!(handshake_in_memory(&mut client, &mut server));
    server.write_plaintext(b"0123456789").unwrap();
    shuttle(&mut server, &mut client);
    let mut one = [0u8; 1];
    // Post-handshake messages (TLS 1.3 tickets) come first; the first byte of data then leaves
    // the other nine decrypted inside OpenSSL, with the engine's own queue empty.
    while client.read_plaintext(&mut one) == ReadOutcome::NeedInput {
        assert!(
            client.pending_ciphertext_in() > 0,
            "data arrived but none came out"
        );
    }
    assert_eq!(one, *b"0");
    assert_eq!(client.pending_ciphertext_in(), 0);
    let (rest, outcome) = read_all(&mut client);
    assert_eq!(rest, b"123456789", "nothing is left behind in OpenSSL");
    assert_eq!(outcome, ReadOutcome::NeedInput);
    // Once it is all out, the skipped call and the real one agree.
    assert_eq!(client.read_plaintext(&mut one), ReadOutcome::NeedInput);
}

#[test]
fn errors_are_sticky() {
    let Pair {
        mut client,
        mut server,
        ..
    } = pair(SslProtocol::TlsV1_3, false);
    assert!(handshake_in_memory(&mut client, &mut server));
    // A record with a valid header and a garbage body fails authentication.
    client.handle_ciphertext(&[0x17, 0x03, 0x03, 0x00, 0x20]);
    client.handle_ciphertext(&[0xAA; 0x20]);
    let ReadOutcome::Failed(failure) = client.read_plaintext(&mut [0u8; 64]) else {
        panic!("garbage must fail");
    };
    assert!(
        failure.reasons.contains("SSL routines"),
        "{}",
        failure.reasons
    );
    // Every later call returns the same failure and does no new work.
    assert_eq!(
        client.read_plaintext(&mut [0u8; 64]),
        ReadOutcome::Failed(failure.clone())
    );
    assert_eq!(client.write_plaintext(b"x"), Err(failure.clone()));
    assert_eq!(client.handshake(), Err(failure.clone()));
    assert!(!client.shutdown());
    // The alert OpenSSL produced can still be drained for the peer.
    assert!(!client.outgoing().is_empty());
}

#[test]
fn a_handshake_waiting_for_input_still_sees_the_end_of_the_stream() {
    let Pair { mut client, .. } = pair(SslProtocol::TlsV1_3, false);
    assert_eq!(client.handshake(), Ok(false), "the ClientHello is produced");
    let hello = client.outgoing().len();
    assert!(hello > 0);
    client.consume_outgoing(hello);
    // Nothing arrived: another step produces nothing and is not an error.
    assert_eq!(client.handshake(), Ok(false));
    assert!(client.outgoing().is_empty());
    // The peer closed before answering: the next step reports it.
    client.handle_transport_eof();
    let failure = client.handshake().unwrap_err();
    assert_eq!(failure.kind, super::FailureKind::Handshake);
}

#[test]
fn a_server_waits_for_the_client_hello_then_answers_it() {
    let Pair {
        mut client,
        mut server,
        ..
    } = pair(SslProtocol::TlsV1_3, false);
    assert_eq!(server.handshake(), Ok(false), "nothing to answer yet");
    assert!(server.outgoing().is_empty());
    assert_eq!(client.handshake(), Ok(false));
    shuttle(&mut client, &mut server);
    assert_eq!(server.handshake(), Ok(false));
    assert!(
        !server.outgoing().is_empty(),
        "ServerHello and the rest of its flight"
    );
    assert!(handshake_in_memory(&mut client, &mut server));
}

#[test]
fn a_handshake_failure_carries_openssl_s_reason() {
    let Pair { mut client, .. } = pair(SslProtocol::TlsV1_3, false);
    assert_eq!(client.handshake(), Ok(false), "the ClientHello is produced");
    client.handle_ciphertext(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    let failure = client.handshake().unwrap_err();
    assert_eq!(failure.kind, super::FailureKind::Handshake);
    assert!(
        failure.reasons.starts_with("error:0A"),
        "{}",
        failure.reasons
    );
    assert!(
        failure.reasons.contains("SSL routines::"),
        "Qt's ERR_error_string form: {}",
        failure.reasons
    );
}

#[test]
fn contexts_are_shared_per_configuration() {
    let mut config = SslConfiguration::new();
    config.set_protocol(SslProtocol::TlsV1_2OrLater);
    config.allow_root_cert_on_demand_loading = false;
    let a = context::shared_context(&config, Role::Client, UNIX_EPOCH).unwrap();
    let b = context::shared_context(&config.clone(), Role::Client, UNIX_EPOCH).unwrap();
    assert!(
        std::sync::Arc::ptr_eq(&a, &b),
        "equal configurations share one SSL_CTX"
    );
    let c = context::shared_context(&config, Role::Server, UNIX_EPOCH);
    assert!(c.is_ok());
    config.set_peer_verify_depth(3);
    let d = context::shared_context(&config, Role::Client, UNIX_EPOCH).unwrap();
    assert!(
        !std::sync::Arc::ptr_eq(&a, &d),
        "a different configuration gets its own"
    );
}

#[test]
fn context_errors_use_qt_s_texts() {
    let mut config = SslConfiguration::new();
    let (cert, _) = self_signed("no key").unwrap();
    config.set_local_certificate(SslCertificate::from_x509(cert));
    let e = context::shared_context(&config, Role::Server, UNIX_EPOCH).unwrap_err();
    assert_eq!(e.message, "Cannot provide a certificate with no key");

    let mut config = SslConfiguration::new();
    let (cert, _) = self_signed("wrong key").unwrap();
    let (_, other_key) = self_signed("other").unwrap();
    config.set_local_certificate(SslCertificate::from_x509(cert));
    config.set_private_key(SslKey::from_private_pkey(other_key));
    let e = context::shared_context(&config, Role::Server, UNIX_EPOCH).unwrap_err();
    // OpenSSL 3 already refuses the key in SSL_CTX_use_PrivateKey, so Qt's first check fires.
    assert!(
        e.message.starts_with("Error loading private key, error:")
            && e.message.ends_with("key values mismatch"),
        "{}",
        e.message
    );

    let mut config = SslConfiguration::new();
    config.set_protocol(SslProtocol::DtlsV1_2);
    let e = context::shared_context(&config, Role::Client, UNIX_EPOCH).unwrap_err();
    assert_eq!(e.message, "Attempted to use an unsupported protocol.");
}

#[test]
fn openssl_buffers_are_freed_only_between_records() {
    use crate::ffi::openssl::holds_record_data;
    let Pair {
        mut client,
        mut server,
        ..
    } = pair(SslProtocol::TlsV1_3, false);
    assert!(handshake_in_memory(&mut client, &mut server));
    assert_eq!(read_all(&mut client).1, ReadOutcome::NeedInput, "tickets");

    // A record read only in part (CVE-2024-4741, first case).
    let message: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    server.write_plaintext(&message).unwrap();
    shuttle(&mut server, &mut client);
    let mut first = [0u8; 10];
    assert_eq!(client.read_plaintext(&mut first), ReadOutcome::Data(10));
    assert!(holds_record_data(client.stream.ssl()));
    assert!(!client.release_openssl_buffers());
    let (rest, outcome) = read_all(&mut client);
    assert_eq!(outcome, ReadOutcome::NeedInput);
    assert_eq!([&first[..], &rest[..]].concat(), message);

    // Idle: freed once, then not asked again until OpenSSL is used.
    assert!(!holds_record_data(client.stream.ssl()));
    assert!(client.release_openssl_buffers());
    assert!(!client.ssl_touched);
    assert!(!client.release_openssl_buffers(), "no second FFI call");

    // A record whose header arrived but not its body (second case).
    server.write_plaintext(b"after a pause").unwrap();
    let record = server.outgoing().to_vec();
    server.consume_outgoing(record.len());
    client.handle_ciphertext(&record[..5]);
    assert_eq!(
        client.read_plaintext(&mut [0u8; 64]),
        ReadOutcome::NeedInput
    );
    assert!(holds_record_data(client.stream.ssl()));
    assert!(!client.release_openssl_buffers());
    client.handle_ciphertext(&record[5..]);
    let (got, _) = read_all(&mut client);
    assert_eq!(got, b"after a pause");
    assert!(client.release_openssl_buffers());

    // Both directions still work after the buffers were freed.
    client.write_plaintext(b"ping").unwrap();
    shuttle(&mut client, &mut server);
    assert_eq!(read_all(&mut server).0, b"ping");
}

#[test]
fn client_contexts_keep_sessions_out_of_openssl_s_cache() {
    use crate::ffi::openssl::stores_no_sessions_internally;
    let mut config = SslConfiguration::new();
    config.allow_root_cert_on_demand_loading = false;
    let client = context::shared_context(&config, Role::Client, UNIX_EPOCH).unwrap();
    assert!(
        stores_no_sessions_internally(&client.ctx),
        "the invariant ffi::openssl::set_session relies on"
    );
    let (cert, key) = self_signed("cache mode").unwrap();
    config.set_local_certificate(SslCertificate::from_x509(cert));
    config.set_private_key(SslKey::from_private_pkey(key));
    let server = context::shared_context(&config, Role::Server, UNIX_EPOCH).unwrap();
    assert!(!stores_no_sessions_internally(&server.ctx));
}
