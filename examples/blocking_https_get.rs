//! Qt's blocking snippet, `waitForEncrypted` then an HTTP GET, without an event loop:
//!
//! ```cpp
//! QSslSocket socket;
//! socket.connectToHostEncrypted("http.example.com", 443);
//! if (!socket.waitForEncrypted()) {
//!     qDebug() << socket.errorString();
//!     return false;
//! }
//! socket.write("GET / HTTP/1.0\r\n\r\n");
//! while (socket.waitForReadyRead())
//!     qDebug() << socket.readAll().data();
//! ```
//!
//! The web server is a local stand-in on 127.0.0.1 (a blocking `SslServer` on its own thread,
//! certificate minted at start and trusted by the client). Run: `cargo run --example
//! blocking_https_get`.

mod common;
use common::{KeyKind, mint, stand_in_server};

use std::thread;

use qsslsocket::{SslServer, SslSocket};

/// Answers one request with a small page, then closes (HTTP/1.0).
fn web_server(server: &mut SslServer) {
    if !server.wait_for_new_connection(5000) {
        return;
    }
    let Some(mut socket) = server.next_pending_connection() else {
        return;
    };
    let mut request = Vec::new();
    loop {
        request.extend(socket.read_all());
        if request.ends_with(b"\r\n\r\n") || !socket.wait_for_ready_read(5000) {
            break;
        }
    }
    let body = b"<html><body>hello from a local QSslSocket server</body></html>\n";
    let head = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    socket.write(head.as_bytes());
    socket.write(body);
    socket.disconnect_from_host();
    socket.wait_for_disconnected(5000);
}

fn main() {
    let (certificate, key) = mint(KeyKind::Ec);
    let (mut server, port) = stand_in_server(certificate.clone(), key);
    let server_thread = thread::spawn(move || web_server(&mut server));

    // The snippet.
    let mut socket = SslSocket::new();
    socket.add_ca_certificate(certificate); // trust the local stand-in
    socket.connect_to_host_encrypted("127.0.0.1", port);
    if !socket.wait_for_encrypted(5000) {
        eprintln!("{}", socket.error_string());
        std::process::exit(1);
    }
    socket.write(b"GET / HTTP/1.0\r\n\r\n");
    let mut response = Vec::new();
    while socket.wait_for_ready_read(5000) {
        response.extend(socket.read_all());
    }
    response.extend(socket.read_all()); // anything that came with the server's close
    server_thread.join().expect("server thread");
    print!("{}", String::from_utf8_lossy(&response));
    if !response.starts_with(b"HTTP/1.0 200 OK") {
        eprintln!("no response: {}", socket.error_string());
        std::process::exit(1);
    }
}
