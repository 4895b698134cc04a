//! What a server reports for clients that start a TLS handshake and then go wrong, against the
//! real Qt (PyQt6 6.11's QSslServer via `tests/peers/qt_server_errors.py`): the same bytes sent to
//! Qt's server and to the crate's `SslServer`, one client after another, give the same
//! `errorOccurred` signals, in the same order, with the same error and text.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Command;
use std::sync::{Arc, Mutex};

use common::external::{PROC_TIMEOUT, Proc, python};
use common::interop::PemFiles;
use common::peer::PEER_TIMEOUT;
use common::server::{client_hello, server_config};
use qsslsocket::*;
use serde_json::{Value, json};

/// Sends `bytes` (then, with `cut`, ends its side), then reads until the server closes.
fn send(port: u16, bytes: &[u8], cut: bool) {
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.set_read_timeout(Some(PEER_TIMEOUT)).expect("timeout");
    tcp.write_all(bytes).expect("send");
    if cut {
        tcp.shutdown(Shutdown::Write).expect("FIN");
    }
    let mut sink = [0u8; 4096];
    while matches!(tcp.read(&mut sink), Ok(n) if n > 0) {}
}

/// Clients that start like TLS (a handshake record) and then go wrong. (Qt's server drops a
/// client whose first byte is anything else without a signal; the crate reports the handshake
/// error, as the README's differences say, and `server_abuse.rs` checks.)
fn inputs() -> Vec<(Vec<u8>, bool)> {
    let hello = client_hello();
    vec![
        // Half a ClientHello, then FIN.
        (hello[..hello.len() / 2].to_vec(), true),
        // A handshake record whose body is not a ClientHello.
        (vec![22, 3, 1, 0, 5, 9, 9, 9, 9, 9], false),
        // A whole ClientHello, then FIN: the client is gone before the handshake ends.
        (hello, true),
    ]
}

#[test]
fn garbage_clients_are_reported_as_qt_reports_them() {
    let pems = PemFiles::new();
    let inputs = inputs();

    let mut qt = Command::new(python());
    qt.arg(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/peers/qt_server_errors.py"
    ))
    .arg(&pems.server_leaf)
    .arg(&pems.server_key)
    .arg(inputs.len().to_string());
    let mut qt = Proc::spawn("qt_server_errors.py", qt);
    let port: u16 = qt
        .expect_line("PORT", PROC_TIMEOUT, |l| l.starts_with("PORT "))
        .trim_start_matches("PORT ")
        .parse()
        .expect("port");
    for (bytes, cut) in &inputs {
        send(port, bytes, *cut);
    }
    assert!(qt.wait_exit(PROC_TIMEOUT).success(), "{}", qt.transcript());
    let qt: Value =
        serde_json::from_str(qt.stdout_lines().last().expect("the result line")).expect("JSON");

    let mut server = SslServer::new();
    server.set_ssl_configuration(server_config());
    // In order: the clients come one after another.
    let seen: Arc<Mutex<Vec<Value>>> = Arc::default();
    let s = seen.clone();
    server.on_error_occurred(move |socket, error| {
        s.lock()
            .unwrap()
            .push(json!([error.to_string(), socket.error_string()]));
    });
    assert!(server.listen("127.0.0.1".parse().unwrap(), 0));
    let port = server.server_port();
    let mut lp = EventLoop::new();
    lp.add_server(server);
    let handle = lp.handle();
    let clients = std::thread::spawn(move || {
        for (bytes, cut) in inputs {
            send(port, &bytes, cut);
        }
        handle.stop();
    });
    lp.run_until(|_| false, 20_000);
    clients.join().expect("clients");
    // Let the last connection's signals finish.
    lp.process_events(0);
    let ours = json!(*seen.lock().unwrap());
    assert_eq!(ours, qt, "crate (left) and Qt (right)");
}
