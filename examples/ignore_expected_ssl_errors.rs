//! Qt's snippet for a server whose self-signed certificate you expect: ignore exactly that
//! error, for exactly that certificate, and nothing else:
//!
//! ```cpp
//! QList<QSslCertificate> cert = QSslCertificate::fromPath("server-certificate.pem"_L1);
//! QSslError error(QSslError::SelfSignedCertificate, cert.at(0));
//! QList<QSslError> expectedSslErrors;
//! expectedSslErrors.append(error);
//!
//! QSslSocket socket;
//! socket.ignoreSslErrors(expectedSslErrors);
//! socket.connectToHostEncrypted("server.tld", 443);
//! ```
//!
//! The server is local (127.0.0.1, its certificate minted at start and written to
//! `server-certificate.pem` in a temporary directory). A second server with another self-signed
//! certificate shows that the list ignores nothing else. Run: `cargo run --example
//! ignore_expected_ssl_errors`.

mod common;
use common::{KeyKind, mint, stand_in_server};

use std::thread;

use qsslsocket::{
    EncodingFormat, PatternSyntax, SslCertificate, SslError, SslErrorKind, SslKey, SslSocket,
};

/// A server on 127.0.0.1 that accepts one connection and completes (or fails) its handshake.
fn start_server(cert_pem: &[u8], key: SslKey) -> (u16, thread::JoinHandle<()>) {
    let certificate = SslCertificate::from_data(cert_pem, EncodingFormat::Pem)[0].clone();
    let (mut server, port) = stand_in_server(certificate, key);
    let handle = thread::spawn(move || {
        if server.wait_for_new_connection(5000) {
            if let Some(mut socket) = server.next_pending_connection() {
                if socket.wait_for_encrypted(5000) {
                    socket.wait_for_disconnected(5000);
                }
            }
        }
    });
    (port, handle)
}

/// Connects with exactly the expected errors ignored; returns whether it got encrypted.
fn connect(port: u16, expected: &[SslError]) -> bool {
    let mut socket = SslSocket::new();
    socket.ignore_ssl_errors_list(expected);
    socket.on_ssl_errors(|_, errors| {
        for e in errors {
            println!("  ssl_errors: {:?} ({})", e.error(), e.error_string());
        }
    });
    socket.connect_to_host_encrypted("127.0.0.1", port);
    let encrypted = socket.wait_for_encrypted(5000);
    if encrypted {
        println!("  encrypted; the error was ignored because it was expected");
        socket.disconnect_from_host();
        socket.wait_for_disconnected(5000);
    } else {
        println!("  refused: {}", socket.error_string());
    }
    encrypted
}

fn main() {
    let dir = std::env::temp_dir().join(format!("qsslsocket-example-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let (certificate, key) = mint(KeyKind::Ec);
    let pem = certificate.to_pem();
    let path = dir.join("server-certificate.pem");
    std::fs::write(&path, &pem).expect("write server-certificate.pem");

    // The snippet.
    let cert = SslCertificate::from_path(&path, EncodingFormat::Pem, PatternSyntax::FixedString);
    let error = SslError::new(SslErrorKind::SelfSignedCertificate, Some(cert[0].clone()));
    let expected_ssl_errors = vec![error];

    println!("the expected server:");
    let (port, server) = start_server(&pem, key);
    let trusted = connect(port, &expected_ssl_errors);
    server.join().expect("server thread");

    println!("another self-signed server:");
    let (other_certificate, other_key) = mint(KeyKind::Ec);
    let other_pem = other_certificate.to_pem();
    let (port, server) = start_server(&other_pem, other_key);
    let other = connect(port, &expected_ssl_errors);
    server.join().expect("server thread");

    let _ = std::fs::remove_dir_all(&dir);
    if !trusted || other {
        eprintln!("unexpected outcome: expected server {trusted}, other server {other}");
        std::process::exit(1);
    }
}
