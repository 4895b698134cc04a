//! Qt's IMAP snippets: `connectToHostEncrypted` with a slot on `encrypted()`, and data written
//! before the handshake has finished, which QSslSocket queues and sends once encrypted:
//!
//! ```cpp
//! QSslSocket *socket = new QSslSocket(this);
//! connect(socket, SIGNAL(encrypted()), this, SLOT(ready()));
//! socket->connectToHostEncrypted("imap.example.com", 993);
//! socket->write("1 CAPABILITY\r\n");
//! ```
//!
//! The IMAP server is a tiny local stand-in on 127.0.0.1 (an `SslServer` on its own thread) with
//! a certificate minted at start, which the client trusts. Run: `cargo run --example
//! imap_write_before_encrypted`.

mod common;
use common::{KeyKind, mint, stand_in_server};

use std::thread;

use qsslsocket::{SslServer, SslSocket};

/// One IMAP-like session: greeting, then an answer to `1 CAPABILITY`.
fn imap_server(server: &mut SslServer) {
    if !server.wait_for_new_connection(5000) {
        eprintln!("server: no client");
        return;
    }
    let Some(mut socket) = server.next_pending_connection() else {
        return;
    };
    if !socket.wait_for_encrypted(5000) {
        eprintln!("server: handshake failed: {}", socket.error_string());
        return;
    }
    socket.write(b"* OK IMAP4rev1 example ready\r\n");
    // The client's command may have arrived with its last handshake message, so look at what is
    // buffered before waiting for more (as with Qt's waitForReadyRead).
    loop {
        while socket.can_read_line() {
            let line = socket.read_line();
            if line.starts_with(b"1 CAPABILITY") {
                socket.write(b"* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n1 OK CAPABILITY completed\r\n");
                socket.disconnect_from_host();
                socket.wait_for_disconnected(5000);
                return;
            }
        }
        if !socket.wait_for_ready_read(5000) {
            eprintln!("server: no command: {}", socket.error_string());
            return;
        }
    }
}

fn main() {
    let (certificate, key) = mint(KeyKind::Ec);
    let (mut server, port) = stand_in_server(certificate.clone(), key);
    let server_thread = thread::spawn(move || imap_server(&mut server));

    // The client, as in Qt's snippet.
    let mut socket = SslSocket::new();
    socket.add_ca_certificate(certificate); // trust the local stand-in
    socket.on_encrypted(|s| {
        println!(
            "encrypted: {} {}",
            s.session_protocol(),
            s.session_cipher().name()
        );
    });
    socket.connect_to_host_encrypted("127.0.0.1", port);
    // Written before the handshake: queued, sent once encrypted.
    socket.write(b"1 CAPABILITY\r\n");
    println!("queued 1 CAPABILITY before encrypted");

    let mut done = false;
    while !done && socket.wait_for_ready_read(5000) {
        while socket.can_read_line() {
            let line = socket.read_line();
            print!("S: {}", String::from_utf8_lossy(&line));
            done |= line.starts_with(b"1 OK");
        }
    }
    server_thread.join().expect("server thread");
    if !done {
        eprintln!("no tagged answer: {}", socket.error_string());
        std::process::exit(1);
    }
    println!("done");
}
