//! Session resumption that really happens: between crate sockets (both sides report it, TLS 1.2
//! session ids/tickets and TLS 1.3 tickets), from a saved ticket alone (Qt 5.13's
//! `sessionTicket()` / `setSessionTicket()`, the way to resume across processes), and with
//! `openssl s_server` / `s_client` as the other side.

mod common;

use std::process::Command;
use std::sync::mpsc;
use std::thread::JoinHandle;

use common::external::{Proc, openssl_binary};
use common::interop::{PemFiles, STEP, STEP_MS};
use common::pki::pki;
use qsslsocket::*;

/// A crate server (SslServer, blocking style) for `count` connections: each completes the
/// handshake, echoes one line, and waits for the client to close. Returns its port and, per
/// connection, whether the server side resumed.
fn crate_server(protocol: SslProtocol, count: usize) -> (u16, JoinHandle<Vec<bool>>) {
    let p = pki();
    let mut config = SslConfiguration::default_configuration();
    config.set_local_certificate_chain(vec![p.leaf.certificate(), p.intermediate.certificate()]);
    config.set_private_key(p.leaf.ssl_key());
    config.set_protocol(protocol);
    let (port_tx, port_rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let mut server = SslServer::new();
        server.set_ssl_configuration(config);
        assert!(
            server.listen("127.0.0.1".parse().unwrap(), 0),
            "{}",
            server.error_string()
        );
        port_tx.send(server.server_port()).unwrap();
        let mut resumed = Vec::new();
        for _ in 0..count {
            assert!(server.wait_for_new_connection(STEP_MS), "no client");
            let mut s = server
                .next_pending_connection()
                .expect("a pending connection");
            assert!(
                s.is_encrypted() || s.wait_for_encrypted(STEP_MS),
                "{}",
                s.error_string()
            );
            while !s.can_read_line() {
                assert!(s.wait_for_ready_read(STEP_MS), "{}", s.error_string());
            }
            let line = s.read_line();
            s.write(&line);
            resumed.push(s.is_session_resumed());
            assert!(
                s.state() == SocketState::UnconnectedState || s.wait_for_disconnected(STEP_MS),
                "{}",
                s.error_string()
            );
        }
        resumed
    });
    (port_rx.recv_timeout(STEP).expect("server port"), handle)
}

/// One client connection to `port`: handshake, one line echoed, graceful close. Returns the
/// client socket afterwards (for its resumption flag and configuration).
fn client_round(configure: impl FnOnce(&mut SslSocket), port: u16) -> SslSocket {
    let mut s = SslSocket::new();
    s.set_ca_certificates(vec![pki().root.certificate()]);
    configure(&mut s);
    s.connect_to_host_encrypted("localhost", port);
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    s.write(b"ping\n");
    while !s.can_read_line() {
        assert!(s.wait_for_ready_read(STEP_MS), "{}", s.error_string());
    }
    assert_eq!(s.read_line(), b"ping\n");
    s.disconnect_from_host();
    assert!(s.state() == SocketState::UnconnectedState || s.wait_for_disconnected(STEP_MS));
    s
}

fn resumes_between_crate_sockets(protocol: SslProtocol) {
    let (port, server) = crate_server(protocol, 3);
    let client: Vec<bool> = (0..3)
        .map(|_| client_round(|_| {}, port).is_session_resumed())
        .collect();
    assert_eq!(client, [false, true, true], "client side, {protocol}");
    assert_eq!(
        server.join().unwrap(),
        [false, true, true],
        "server side, {protocol}"
    );
}

#[test]
fn tls13_tickets_resume_between_crate_sockets() {
    resumes_between_crate_sockets(SslProtocol::TlsV1_3);
}

#[test]
fn tls12_sessions_resume_between_crate_sockets() {
    resumes_between_crate_sockets(SslProtocol::TlsV1_2);
}

#[test]
fn session_sharing_off_means_no_resumption() {
    let (port, server) = crate_server(SslProtocol::SecureProtocols, 2);
    let off = |s: &mut SslSocket| {
        let mut c = s.ssl_configuration();
        c.set_ssl_option(SslOption::SslOptionDisableSessionSharing, true);
        s.set_ssl_configuration(c);
    };
    let first = client_round(off, port);
    let second = client_round(off, port);
    assert!(!first.is_session_resumed() && !second.is_session_resumed());
    assert_eq!(server.join().unwrap(), [false, false]);
}

#[test]
fn a_saved_session_ticket_resumes_a_fresh_socket() {
    let (port, server) = crate_server(SslProtocol::SecureProtocols, 3);
    // Session persistence is off by default (Qt): turn it on to get the ticket.
    let keep = |s: &mut SslSocket| {
        let mut c = s.ssl_configuration();
        c.set_ssl_option(SslOption::SslOptionDisableSessionPersistence, false);
        c.set_ssl_option(SslOption::SslOptionDisableSessionSharing, true);
        s.set_ssl_configuration(c);
    };
    let first = client_round(keep, port);
    let config = first.ssl_configuration();
    let ticket = config.session_ticket();
    assert!(
        !ticket.is_empty(),
        "the TLS 1.3 ticket arrives after the handshake and is kept"
    );
    assert!(config.session_ticket_life_time_hint() > 0);

    // A fresh socket sharing nothing with the first (as in another process) resumes from the
    // ticket alone...
    let with_ticket = client_round(
        |s| {
            keep(s);
            let mut c = s.ssl_configuration();
            c.set_session_ticket(ticket.clone());
            s.set_ssl_configuration(c);
        },
        port,
    );
    assert!(with_ticket.is_session_resumed());
    // ...and without it does not.
    let without = client_round(keep, port);
    assert!(!without.is_session_resumed());
    assert_eq!(server.join().unwrap(), [false, true, false]);
}

#[test]
fn no_session_ticket_while_persistence_is_off() {
    let (port, server) = crate_server(SslProtocol::SecureProtocols, 1);
    let s = client_round(|_| {}, port);
    assert!(
        s.ssl_configuration().session_ticket().is_empty(),
        "Qt's default: not persisted"
    );
    server.join().unwrap();
}

#[test]
fn crate_client_resumes_with_openssl_s_server() {
    let pems = PemFiles::new();
    let mut cmd = Command::new(openssl_binary());
    cmd.args([
        "s_server",
        "-accept",
        "127.0.0.1:0",
        "-naccept",
        "2",
        "-rev",
    ])
    .arg("-cert")
    .arg(&pems.server_leaf)
    .arg("-cert_chain")
    .arg(&pems.intermediate)
    .arg("-key")
    .arg(&pems.server_key);
    let mut server = Proc::spawn("openssl s_server", cmd);
    let accept = server.expect_value("ACCEPT", STEP);
    let port: u16 = accept
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .expect("port");
    let round = |port| {
        let mut s = SslSocket::new();
        s.set_ca_certificates(vec![pki().root.certificate()]);
        s.connect_to_host_encrypted("localhost", port);
        assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
        s.write(b"abc\n");
        while !s.can_read_line() {
            assert!(s.wait_for_ready_read(STEP_MS), "{}", s.error_string());
        }
        assert_eq!(s.read_line(), b"cba\n");
        let resumed = s.is_session_resumed();
        s.disconnect_from_host();
        assert!(s.state() == SocketState::UnconnectedState || s.wait_for_disconnected(STEP_MS));
        resumed
    };
    assert!(!round(port), "the first connection is a full handshake");
    assert!(round(port), "the second resumes s_server's session");
}

/// A crate server for `count` connections that only handshakes and waits for the close.
fn handshake_only_server(count: usize) -> (u16, JoinHandle<Vec<bool>>) {
    let p = pki();
    let mut config = SslConfiguration::default_configuration();
    config.set_local_certificate_chain(vec![p.leaf.certificate(), p.intermediate.certificate()]);
    config.set_private_key(p.leaf.ssl_key());
    let (port_tx, port_rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let mut server = SslServer::new();
        server.set_ssl_configuration(config);
        assert!(server.listen("127.0.0.1".parse().unwrap(), 0));
        port_tx.send(server.server_port()).unwrap();
        let mut resumed = Vec::new();
        for _ in 0..count {
            assert!(server.wait_for_new_connection(STEP_MS), "no client");
            let mut s = server.next_pending_connection().unwrap();
            if s.is_encrypted() || s.wait_for_encrypted(STEP_MS) {
                resumed.push(s.is_session_resumed());
            }
            // Echo until the client closes (data may already be buffered: wait_for_ready_read
            // only reports new arrivals, as in Qt).
            loop {
                let data = s.read_all();
                s.write(&data);
                if !s.wait_for_ready_read(STEP_MS) {
                    break;
                }
            }
        }
        resumed
    });
    (port_rx.recv_timeout(STEP).unwrap(), handle)
}

/// TLS 1.3 from an external client: Python's ssl reads the server's ticket with the echo, then
/// offers the saved session on a second connection.
#[test]
fn crate_server_resumes_python_tls13_sessions() {
    let pems = PemFiles::new();
    let (port, server) = handshake_only_server(2);
    let script = r#"
import socket, ssl, sys
port, cafile = int(sys.argv[1]), sys.argv[2]
ctx = ssl.create_default_context(cafile=cafile)
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
session = None
for round in (1, 2):
    with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
        with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as tls:
            tls.sendall(b"x\n")
            assert tls.recv(16) == b"x\n"
            print("REUSED%d" % round, tls.session_reused, flush=True)
            session = tls.session
"#;
    let mut cmd = Command::new(common::external::python());
    cmd.arg("-c")
        .arg(script)
        .arg(port.to_string())
        .arg(&pems.root);
    let mut client = Proc::spawn("python ssl client", cmd);
    assert_eq!(client.expect_value("REUSED1", STEP), "False");
    assert_eq!(client.expect_value("REUSED2", STEP), "True");
    client.wait_exit(STEP);
    assert_eq!(
        server.join().unwrap(),
        [false, true],
        "the crate server saw both"
    );
}

/// TLS 1.2 from `openssl s_client -reconnect` (one full handshake, then five reconnects offering
/// its session; with TLS 1.3 s_client reconnects before it has read the server's ticket).
#[test]
fn crate_server_resumes_openssl_s_client_tls12_sessions() {
    let pems = PemFiles::new();
    let (port, server) = handshake_only_server(6);
    let mut cmd = Command::new(openssl_binary());
    cmd.args(["s_client", "-reconnect", "-tls1_2"])
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .args(["-servername", "localhost", "-CAfile"])
        .arg(&pems.root);
    let mut client = Proc::spawn("openssl s_client -reconnect", cmd);
    client.close_stdin();
    client.wait_exit(STEP);
    let resumed = server.join().unwrap();
    assert_eq!(resumed.len(), 6, "every connection handshook");
    assert!(!resumed[0], "the first is a full handshake");
    assert!(
        resumed[1..].iter().all(|r| *r),
        "s_client's reconnects resume: {resumed:?}"
    );
}
