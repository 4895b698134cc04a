//! Qt's server snippet: override `incomingConnection` to build the socket yourself, adopt the
//! descriptor, and start server-side encryption:
//!
//! ```cpp
//! void SslServer::incomingConnection(qintptr socketDescriptor)
//! {
//!     QSslSocket *serverSocket = new QSslSocket;
//!     if (serverSocket->setSocketDescriptor(socketDescriptor)) {
//!         addPendingConnection(serverSocket);
//!         connect(serverSocket, &QSslSocket::encrypted, this, &SslServer::ready);
//!         serverSocket->startServerEncryption();
//!     } else {
//!         delete serverSocket;
//!     }
//! }
//! ```
//!
//! In Rust the override is the `on_incoming_connection` hook. The server and a client run in one
//! `EventLoop` on 127.0.0.1, with a certificate minted at start. Run: `cargo run --example
//! server_incoming_connection`.

mod common;
use common::{KeyKind, mint};

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};

use qsslsocket::{EventLoop, OpenMode, SocketState, SslConfiguration, SslServer, SslSocket};

fn main() {
    let (certificate, key) = mint(KeyKind::Ec);
    let mut config = SslConfiguration::default_configuration();
    config.set_local_certificate(certificate.clone());
    config.set_private_key(key);

    let mut server = SslServer::new();
    server.set_ssl_configuration(config);
    // incomingConnection(qintptr socketDescriptor)
    server.on_incoming_connection(|server, fd| {
        println!("server: incoming_connection(fd {fd})");
        let mut socket = SslSocket::new();
        if socket.set_socket_descriptor(fd, SocketState::ConnectedState, OpenMode::ReadWrite) {
            socket.set_ssl_configuration(server.ssl_configuration());
            socket.on_encrypted(|s| {
                println!("server: encrypted ({})", s.session_protocol());
            });
            socket.on_ready_read(|s| {
                let data = s.read_all();
                println!("server: echoing {:?}", String::from_utf8_lossy(&data));
                s.write(&data);
            });
            socket.start_server_encryption();
            server.add_pending_connection(socket);
        } // else: the socket (and the descriptor) are dropped, like `delete serverSocket`
    });
    assert!(
        server.listen(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        "listen: {}",
        server.error_string()
    );
    let port = server.server_port();
    let mut event_loop = EventLoop::new();
    event_loop.add_server(server);

    // A client in the same loop.
    let echoed = Arc::new(Mutex::new(Vec::new()));
    let mut client = SslSocket::new();
    client.add_ca_certificate(certificate);
    client.on_encrypted(|s| {
        println!("client: encrypted, sending a line");
        s.write(b"hello, incoming_connection\n");
    });
    let sink = echoed.clone();
    client.on_ready_read(move |s| {
        let data = s.read_all();
        let mut echoed = sink.lock().unwrap();
        echoed.extend_from_slice(&data);
        if echoed.ends_with(b"\n") {
            s.disconnect_from_host();
        }
    });
    client.connect_to_host_encrypted("127.0.0.1", port);
    let id = event_loop.add_socket(client);
    let finished = event_loop.run_until(
        |lp| {
            lp.socket(id)
                .is_none_or(|s| s.state() == SocketState::UnconnectedState)
        },
        10_000,
    );
    let echoed = echoed.lock().unwrap().clone();
    println!("client: got {:?}", String::from_utf8_lossy(&echoed));
    if !finished || echoed != b"hello, incoming_connection\n" {
        eprintln!("the echo did not come back");
        std::process::exit(1);
    }
}
