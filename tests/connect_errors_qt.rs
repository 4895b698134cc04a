//! How a client handshake fails, against the real Qt (PyQt6 6.11 via
//! `tests/peers/qt_connect_errors.py`): the same peers, met by Qt's QSslSocket and by the crate's
//! (`connect_to_host_encrypted` + `wait_for_encrypted`), end with the same error, the same text
//! and the same state: a closed port, an unknown host, a peer that closes at once, one that
//! answers in HTTP, one that sends zeros, a truncated TLS record, and a TLS alert.

mod common;

use std::io::{Read, Write};
use std::net::TcpListener;

use common::external::{ask_qt, assert_same_fields};
use common::peer::PEER_TIMEOUT;
use qsslsocket::*;
use serde_json::{Value, json};

/// A listener on 127.0.0.1 that answers each of two connections (Qt's, then the crate's) with
/// `reply` after the client's first bytes, then closes.
fn peer(reply: &'static [u8]) -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("address").port();
    let thread = std::thread::spawn(move || {
        for _ in 0..2 {
            let Ok((mut tcp, _)) = listener.accept() else {
                return;
            };
            tcp.set_read_timeout(Some(PEER_TIMEOUT)).ok();
            let mut hello = [0u8; 4096];
            if !reply.is_empty() {
                let _ = tcp.read(&mut hello);
                let _ = tcp.write_all(reply);
            }
            let _ = tcp.shutdown(std::net::Shutdown::Both);
        }
    });
    (port, thread)
}

fn crate_view(host: &str, port: u16) -> Value {
    let mut s = SslSocket::new();
    s.connect_to_host_encrypted(host, port);
    let encrypted = s.wait_for_encrypted(5000);
    if !encrypted && s.state() != SocketState::UnconnectedState {
        s.wait_for_disconnected(2000);
    }
    json!({
        "encrypted": encrypted,
        "error": s.error().to_string(),
        "error_string": s.error_string(),
        "state": s.state().to_string(),
    })
}

#[test]
fn failed_connections_end_as_in_qt() {
    let closed_port = {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("address").port()
    };
    let mut peers = Vec::new();
    let mut targets: Vec<(String, String, u16)> = vec![
        ("a closed port".into(), "127.0.0.1".into(), closed_port),
        ("an unknown host".into(), "no-such-host.invalid".into(), 443),
    ];
    let replies: [(&str, &'static [u8]); 5] = [
        ("a peer that closes at once", b""),
        (
            "an HTTP answer",
            b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        ),
        ("zeros", &[0u8; 64]),
        ("a truncated handshake record", &[22, 3, 3, 0, 200, 2, 0, 0]),
        ("a fatal handshake_failure alert", &[21, 3, 3, 0, 2, 2, 40]),
    ];
    for (what, reply) in replies {
        let (port, thread) = peer(reply);
        peers.push(thread);
        targets.push((what.into(), "127.0.0.1".into(), port));
    }
    let args: Vec<String> = targets.iter().map(|(_, h, p)| format!("{h}:{p}")).collect();
    let qt = ask_qt("qt_connect_errors.py", &args, b"");
    assert_eq!(qt.len(), targets.len());
    let ours: Vec<Value> = targets.iter().map(|(_, h, p)| crate_view(h, *p)).collect();
    for thread in peers {
        thread.join().expect("peer");
    }
    assert_same_fields(
        targets
            .iter()
            .zip(ours)
            .zip(qt)
            .map(|(((what, _, _), ours), qt)| (what.clone(), ours, qt)),
    );
}
