//! Qt's cipher snippet, `setCiphers` with an OpenSSL cipher string (Rust: `set_ciphers_str`):
//!
//! ```cpp
//! QSslConfiguration config = QSslConfiguration::defaultConfiguration();
//! config.setCiphers("DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:AES256-SHA");
//! ```
//!
//! It prints what the linked OpenSSL makes of the string (`SslCipher::report`), then connects
//! over TLS 1.2 to a local server (127.0.0.1, RSA certificate minted at start) and shows which of
//! the three suites was negotiated. (TLS 1.3 has its own suites, which this string does not
//! name, so the client stays at TLS 1.2 to use them.) Run: `cargo run --example
//! set_ciphers_string`.

mod common;
use common::{KeyKind, mint, stand_in_server};

use std::thread;

use qsslsocket::{SslCipher, SslConfiguration, SslProtocol, SslSocket};

const CIPHERS: &str = "DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:AES256-SHA";

fn main() {
    // What this OpenSSL provides of the string, token by token.
    print!("{}", SslCipher::report(CIPHERS));

    // The snippet.
    let mut config = SslConfiguration::default_configuration();
    config.set_ciphers_str(CIPHERS);
    let names: Vec<String> = config.ciphers().iter().map(SslCipher::name).collect();
    println!("ciphers(): {}", names.join(", "));

    let (certificate, key) = mint(KeyKind::Rsa);
    let (mut server, port) = stand_in_server(certificate.clone(), key);
    let server_thread = thread::spawn(move || {
        if server.wait_for_new_connection(5000) {
            if let Some(mut socket) = server.next_pending_connection() {
                if socket.wait_for_encrypted(5000) {
                    socket.wait_for_disconnected(5000);
                }
            }
        }
    });

    let mut socket = SslSocket::new();
    config.set_protocol(SslProtocol::TlsV1_2);
    config.add_ca_certificate(certificate);
    socket.set_ssl_configuration(config);
    socket.connect_to_host_encrypted("127.0.0.1", port);
    let encrypted = socket.wait_for_encrypted(5000);
    let cipher = socket.session_cipher();
    if encrypted {
        println!(
            "negotiated: {} {} (key exchange {}, authentication {}, {} bits)",
            socket.session_protocol(),
            cipher.name(),
            cipher.key_exchange_method(),
            cipher.authentication_method(),
            cipher.used_bits()
        );
        socket.disconnect_from_host();
        socket.wait_for_disconnected(5000);
    }
    server_thread.join().expect("server thread");
    if !encrypted || !names.contains(&cipher.name()) {
        eprintln!("handshake failed: {}", socket.error_string());
        std::process::exit(1);
    }
}
