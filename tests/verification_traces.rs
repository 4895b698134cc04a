//! The Qt reference scenarios of peer verification (b, c, d, e, f, k): the same certificates and
//! calls as Qt's recorded runs, and the same signals, error lists (kinds, order, certificates),
//! decisions and texts.

mod common;

use std::io::Write;
use std::net::TcpListener;
use std::os::fd::IntoRawFd;
use std::sync::{Arc, Mutex, OnceLock};

use common::peer::{Peer, PeerLog, read_line};
use common::pki::{Eku, Identity, Spec, mint, pki};
use common::recorder::{Recorder, qt_signals, qt_trace};
use common::scenario::{SCENARIO_TIMEOUT, attach, drive_until_finished};
use openssl::ssl::{SslConnector, SslMethod, SslVersion};
use qsslsocket::*;

/// qtref's extra identities: a self-signed server certificate for localhost, a leaf for
/// example.test, an expired leaf, and a self-signed client certificate.
struct Extra {
    self_signed_localhost: Identity,
    example: Identity,
    expired: Identity,
    rogue_client: Identity,
}

fn extra() -> &'static Extra {
    static EXTRA: OnceLock<Extra> = OnceLock::new();
    EXTRA.get_or_init(|| {
        let p = pki();
        Extra {
            self_signed_localhost: mint(&Spec::self_signed("localhost").dns(&["localhost"]), None),
            example: mint(&Spec::leaf("example.test"), Some(&p.intermediate)),
            expired: mint(
                &Spec::leaf("localhost").validity(-60, -30),
                Some(&p.intermediate),
            ),
            rogue_client: mint(
                &Spec::self_signed("qtref rogue client").eku(&[Eku::ClientAuth]),
                None,
            ),
        }
    })
}

/// qtref's `echo_server` presenting `identity` (plus the intermediate when `chain`).
fn echo_peer(identity: &Identity, chain: bool) -> Peer {
    let p = pki();
    let extra: Vec<&Identity> = if chain { vec![&p.intermediate] } else { vec![] };
    common::peer::echo_peer(identity, &extra)
}

/// A client trusting the test root, writing `hello\n` when encrypted, closing on the echo.
fn client() -> (SslSocket, Recorder, common::scenario::Lines) {
    let mut s = SslSocket::new();
    s.set_ca_certificates(vec![pki().root.certificate()]);
    let (rec, lines) = attach(&mut s, |s, line| {
        if line.starts_with(b"echo:") {
            s.disconnect_from_host();
        }
    });
    s.on_encrypted(|s| {
        s.write(b"hello\n");
    });
    (s, rec, lines)
}

fn kinds(errors: &[SslError]) -> Vec<String> {
    errors.iter().map(|e| e.error().to_string()).collect()
}

/// The final state, error, text and `sslHandshakeErrors()` kinds Qt ended with.
fn assert_final(s: &SslSocket, scenario: &str) {
    let fin = &qt_trace(scenario)["final"];
    assert_eq!(
        s.state().to_string(),
        fin["state"].as_str().unwrap(),
        "state"
    );
    assert_eq!(
        s.error().to_string(),
        fin["error"].as_str().unwrap(),
        "error"
    );
    assert_eq!(
        s.error_string(),
        fin["errorString"].as_str().unwrap(),
        "errorString"
    );
    let qt_errors: Vec<String> = fin["sslHandshakeErrors"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_str().or(e["error"].as_str()).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(kinds(&s.ssl_errors()), qt_errors, "sslHandshakeErrors");
}

fn run_client(
    scenario: &str,
    peer: Peer,
    mut s: SslSocket,
    rec: Recorder,
    host: &str,
) -> (SslSocket, PeerLog) {
    s.connect_to_host_encrypted(host, peer.port);
    assert!(
        drive_until_finished(&mut s, &rec, SCENARIO_TIMEOUT),
        "{scenario} did not finish"
    );
    let log = peer.join();
    assert_eq!(rec.signals(), qt_signals(scenario), "{scenario}");
    assert_final(&s, scenario);
    (s, log)
}

#[test]
fn b_selfsigned() {
    let e = extra();
    let (s, rec, _) = client();
    let (s, log) = run_client(
        "b_selfsigned",
        echo_peer(&e.self_signed_localhost, false),
        s,
        rec,
        "localhost",
    );
    let errors = s.ssl_errors();
    assert_eq!(
        errors[0].certificate(),
        Some(e.self_signed_localhost.certificate()),
        "bound to the cert"
    );
    assert_eq!(
        errors[0].error_string(),
        "The certificate is self-signed, and untrusted"
    );
    // As with Qt: the peer never gets our Finished and sees EOF.
    assert!(
        log.events
            .iter()
            .any(|l| l.starts_with("handshake_failed") || l.starts_with("closed eof")),
        "{:?}",
        log.events
    );
    let report = s.verification_report().expect("audit record");
    assert_eq!(report.entries().len(), 1);
    assert_eq!(report.entries()[0].depth, 0);
    assert_eq!(report.entries()[0].ignored_by, None);
    assert!(report.trust_anchor().is_none());
}

#[test]
fn b3_system_cas_default_config() {
    let e = extra();
    let peer = echo_peer(&e.self_signed_localhost, false);
    let mut s = SslSocket::new(); // the default configuration: system roots on demand
    let rec = Recorder::attach(&mut s);
    s.on_encrypted(|s| {
        s.write(b"hello\n");
    });
    run_client("b3_system_cas_default_config", peer, s, rec, "localhost");
}

#[test]
fn c_selfsigned_ignore_in_slot() {
    let e = extra();
    let (mut s, rec, lines) = client();
    s.on_ssl_errors(|s, _| s.ignore_ssl_errors());
    let (s, _) = run_client(
        "c_selfsigned_ignore_in_slot",
        echo_peer(&e.self_signed_localhost, false),
        s,
        rec,
        "localhost",
    );
    assert_eq!(lines.text(), "echo:hello\n");
    let report = s.verification_report().unwrap();
    assert_eq!(report.entries()[0].ignored_by, Some(IgnoreRule::IgnoreAll));
}

#[test]
fn c2_ignore_in_peer_verify_error_slot() {
    let e = extra();
    let (mut s, rec, _) = client();
    s.on_peer_verify_error(|s, _| s.ignore_ssl_errors());
    run_client(
        "c2_ignore_in_peerVerifyError_slot",
        echo_peer(&e.self_signed_localhost, false),
        s,
        rec,
        "localhost",
    );
}

/// qtref's pause scenarios: after `ssl_errors` the socket waits; later the test decides.
fn pause_scenario(scenario: &str, ignore: bool) {
    let e = extra();
    let peer = echo_peer(&e.self_signed_localhost, false);
    let (mut s, rec, lines) = client();
    s.set_pause_mode(PauseMode::PauseOnSslErrors);
    s.connect_to_host_encrypted("localhost", peer.port);
    assert!(!s.wait_for_encrypted(5000), "paused after sslErrors");
    assert_eq!(s.state(), SocketState::ConnectedState);
    assert!(!s.is_encrypted());
    assert_eq!(
        s.error(),
        SocketError::UnknownSocketError,
        "no error while paused"
    );
    if ignore {
        s.ignore_ssl_errors();
    }
    s.resume();
    assert!(!s.is_encrypted(), "Qt's resume() is queued");
    assert!(drive_until_finished(&mut s, &rec, SCENARIO_TIMEOUT));
    peer.join();
    assert_eq!(rec.signals(), qt_signals(scenario));
    assert_final(&s, scenario);
    assert_eq!(lines.text(), if ignore { "echo:hello\n" } else { "" });
}

#[test]
fn c3_pause_on_ssl_errors_ignore_resume() {
    pause_scenario("c3_pause_on_ssl_errors_ignore_resume", true);
}

#[test]
fn c4_pause_on_ssl_errors_resume_only() {
    pause_scenario("c4_pause_on_ssl_errors_resume_only", false);
}

#[test]
fn d1_preignore_matching() {
    let e = extra();
    let (mut s, rec, _) = client();
    s.ignore_ssl_errors_list(&[SslError::new(
        SslErrorKind::SelfSignedCertificate,
        Some(e.self_signed_localhost.certificate()),
    )]);
    let (s, _) = run_client(
        "d1_preignore_matching",
        echo_peer(&e.self_signed_localhost, false),
        s,
        rec,
        "localhost",
    );
    assert_eq!(
        s.verification_report().unwrap().entries()[0].ignored_by,
        Some(IgnoreRule::ListEntry(0))
    );
}

#[test]
fn d3_preignore_other_error() {
    let e = extra();
    let (mut s, rec, _) = client();
    s.ignore_ssl_errors_list(&[SslError::new(
        SslErrorKind::HostNameMismatch,
        Some(e.self_signed_localhost.certificate()),
    )]);
    run_client(
        "d3_preignore_other_error",
        echo_peer(&e.self_signed_localhost, false),
        s,
        rec,
        "localhost",
    );
}

#[test]
fn d5_ignore_all_after_connect_call() {
    let e = extra();
    let peer = echo_peer(&e.self_signed_localhost, false);
    let (mut s, rec, _) = client();
    s.ignore_ssl_errors(); // reset by connect_to_host_encrypted (Qt 6)...
    s.connect_to_host_encrypted("localhost", peer.port);
    s.ignore_ssl_errors(); // ...so it counts only when called after it.
    assert!(drive_until_finished(&mut s, &rec, SCENARIO_TIMEOUT));
    peer.join();
    assert_eq!(
        rec.signals(),
        qt_signals("d5_ignore_all_after_connect_call")
    );
    assert_final(&s, "d5_ignore_all_after_connect_call");
}

#[test]
fn ignore_all_before_connecting_is_reset() {
    let e = extra();
    let peer = echo_peer(&e.self_signed_localhost, false);
    let (mut s, rec, _) = client();
    s.ignore_ssl_errors();
    s.connect_to_host_encrypted("localhost", peer.port);
    assert!(drive_until_finished(&mut s, &rec, SCENARIO_TIMEOUT));
    peer.join();
    assert_eq!(s.error(), SocketError::SslHandshakeFailedError);
}

#[test]
fn e1_hostname_mismatch() {
    let e = extra();
    let (s, rec, _) = client();
    let (s, _) = run_client(
        "e1_hostname_mismatch",
        echo_peer(&e.example, true),
        s,
        rec,
        "localhost",
    );
    assert_eq!(
        s.ssl_errors()[0].certificate(),
        Some(e.example.certificate())
    );
}

#[test]
fn e2_ssl_peer_name_argument() {
    let e = extra();
    let peer = echo_peer(&e.example, true);
    let (mut s, rec, _) = client();
    s.connect_to_host_encrypted_with_peer_name("localhost", peer.port, "example.test");
    assert!(drive_until_finished(&mut s, &rec, SCENARIO_TIMEOUT));
    peer.join();
    assert_eq!(rec.signals(), qt_signals("e2_sslPeerName_arg"));
    assert_final(&s, "e2_sslPeerName_arg");
    assert_eq!(s.peer_verify_name(), "example.test");
    let report = s.verification_report().unwrap();
    assert!(report.errors().is_empty());
    assert_eq!(report.trust_anchor(), Some(pki().root.certificate()));
    assert_eq!(report.trust_anchor_source(), Some(AnchorSource::Added));
}

#[test]
fn e3_set_peer_verify_name() {
    let e = extra();
    let (mut s, rec, _) = client();
    s.set_peer_verify_name("example.test");
    run_client(
        "e3_setPeerVerifyName",
        echo_peer(&e.example, true),
        s,
        rec,
        "127.0.0.1",
    );
}

#[test]
fn e5_ip_host_without_ip_san() {
    let e = extra();
    let (s, rec, _) = client();
    run_client(
        "e5_ip_host_no_ip_san",
        echo_peer(&e.example, true),
        s,
        rec,
        "127.0.0.1",
    );
}

#[test]
fn f1_expired() {
    let e = extra();
    let (s, rec, _) = client();
    let (s, _) = run_client(
        "f1_expired",
        echo_peer(&e.expired, true),
        s,
        rec,
        "localhost",
    );
    assert_eq!(
        s.ssl_errors()[0].certificate(),
        Some(e.expired.certificate())
    );
}

/// qtref's `qt_server_scenario`: the crate socket is the server (adopted descriptor, leaf +
/// intermediate, CA root, `verify_mode`); an openssl-crate client sends `hello`, reads the echo
/// and closes with close_notify.
fn server_scenario(
    scenario: &str,
    verify_mode: Option<PeerVerifyMode>,
    client_identity: Option<&'static Identity>,
    max_tls12: bool,
) {
    let p = pki();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let root = p.root.cert.clone();
    let intermediate = p.intermediate.cert.clone();
    let peer = std::thread::spawn(move || {
        let mut log = PeerLog::default();
        let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(common::peer::PEER_TIMEOUT))
            .unwrap();
        let mut c = SslConnector::builder(SslMethod::tls()).unwrap();
        c.cert_store_mut().add_cert(root).unwrap();
        let tickets = common::peer::ticket_flag(&mut c);
        if max_tls12 {
            c.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
        }
        if let Some(id) = client_identity {
            c.set_certificate(&id.cert).unwrap();
            c.set_private_key(&id.key).unwrap();
            if id.cert.issuer_name_hash() != id.cert.subject_name_hash() {
                c.add_extra_chain_cert(intermediate).unwrap();
            }
        }
        match c.build().connect("localhost", tcp) {
            Ok(mut tls) => {
                log.push("handshake_ok");
                common::peer::wait_for_tickets(&mut tls, &tickets);
                if tls.write_all(b"hello\n").is_err() {
                    log.push("send_failed");
                    return log;
                }
                match read_line(&mut tls) {
                    Some(line) => {
                        log.received.extend_from_slice(&line);
                        let _ = tls.shutdown();
                    }
                    None => log.push("recv_error"),
                }
            }
            Err(e) => log.push(format!("handshake_failed {e}")),
        }
        log
    });
    let (tcp, _) = listener.accept().unwrap();
    let mut s = SslSocket::new();
    s.set_ca_certificates(vec![p.root.certificate()]);
    s.set_local_certificate_chain(vec![p.leaf.certificate(), p.intermediate.certificate()]);
    s.set_private_key(p.leaf.ssl_key());
    if let Some(mode) = verify_mode {
        s.set_peer_verify_mode(mode);
    }
    let (rec, lines) = attach(&mut s, |s, line| {
        let mut reply = b"echo:".to_vec();
        reply.extend_from_slice(line);
        s.write(&reply);
    });
    let chain_seen = Arc::new(Mutex::new(None));
    let seen = chain_seen.clone();
    s.on_encrypted(move |s| *seen.lock().unwrap() = Some(s.peer_certificate_chain()));
    assert!(s.set_socket_descriptor(
        tcp.into_raw_fd(),
        SocketState::ConnectedState,
        OpenMode::ReadWrite
    ));
    s.start_server_encryption();
    assert!(drive_until_finished(&mut s, &rec, SCENARIO_TIMEOUT));
    let log = peer.join().unwrap();
    let dedup = |mut v: Vec<String>| {
        v.dedup_by(|a, b| a == b && a == "encryptedBytesWritten");
        v
    };
    assert_eq!(
        dedup(rec.signals()),
        dedup(qt_signals(scenario)),
        "{scenario}: {:?}",
        log.events
    );
    assert_final(&s, scenario);
    if let Some(id) = client_identity.filter(|_| s.ssl_errors().is_empty()) {
        let chain = chain_seen.lock().unwrap().clone().expect("encrypted");
        assert_eq!(
            chain[0],
            id.certificate(),
            "the server sees the client's chain, leaf first"
        );
        assert_eq!(chain.len(), 2);
        assert_eq!(lines.text(), "hello\n");
    }
}

#[test]
fn k0_server_default_no_client_cert() {
    server_scenario("k0_server_default_no_client_cert", None, None, false);
}

#[test]
fn k1_server_verify_peer_no_client_cert() {
    server_scenario(
        "k1_server_verifypeer_no_client_cert",
        Some(PeerVerifyMode::VerifyPeer),
        None,
        false,
    );
}

#[test]
fn k1b_server_verify_peer_no_client_cert_tls12() {
    server_scenario(
        "k1b_server_verifypeer_no_client_cert_tls12",
        Some(PeerVerifyMode::VerifyPeer),
        None,
        true,
    );
}

#[test]
fn k2_server_verify_peer_client_cert() {
    server_scenario(
        "k2_server_verifypeer_client_cert",
        Some(PeerVerifyMode::VerifyPeer),
        Some(&pki().client),
        false,
    );
}

#[test]
fn k3_server_verify_peer_untrusted_client_cert() {
    server_scenario(
        "k3_server_verifypeer_untrusted_client_cert",
        Some(PeerVerifyMode::VerifyPeer),
        Some(&extra().rogue_client),
        false,
    );
}

#[test]
fn verify_none_reports_an_unverified_chain() {
    let peer = echo_peer(&pki().leaf, true);
    let mut s = SslSocket::new();
    s.set_peer_verify_mode(PeerVerifyMode::VerifyNone);
    s.connect_to_host_encrypted("localhost", peer.port);
    assert!(s.wait_for_encrypted(5000), "{}", s.error_string());
    let report = s.verification_report().unwrap();
    assert!(
        report.errors().is_empty(),
        "the name matches and nothing else is checked"
    );
    assert!(!report.is_trusted(), "the chain was not verified");
    assert!(report.trust_anchor().is_none());
    s.abort();
    peer.join();
}
