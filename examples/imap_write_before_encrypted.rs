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

use std::net::{IpAddr, Ipv4Addr};
use std::thread;

use openssl::asn1::Asn1Time;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509, X509NameBuilder};
use qsslsocket::{
    EncodingFormat, KeyAlgorithm, KeyType, SslCertificate, SslConfiguration, SslKey, SslServer,
    SslSocket,
};

/// A self-signed certificate for localhost / 127.0.0.1 and its key.
fn mint() -> (SslCertificate, SslKey) {
    let key = PKey::from_ec_key(
        EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
    )
    .unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, "localhost")
        .unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = SslCertificate::from_data(&b.build().to_pem().unwrap(), EncodingFormat::Pem);
    let key = SslKey::new(
        &key.private_key_to_pem_pkcs8().unwrap(),
        KeyAlgorithm::Ec,
        EncodingFormat::Pem,
        KeyType::PrivateKey,
        b"",
    );
    (cert[0].clone(), key)
}

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
    let (certificate, key) = mint();
    let mut config = SslConfiguration::default_configuration();
    config.set_local_certificate(certificate.clone());
    config.set_private_key(key);
    let mut server = SslServer::new();
    server.set_ssl_configuration(config);
    assert!(
        server.listen(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        "listen: {}",
        server.error_string()
    );
    let port = server.server_port();
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
