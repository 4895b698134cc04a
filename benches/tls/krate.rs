//! The crate's side of every workload: `SslSocket` in blocking style (`std::io::Read` and
//! `std::io::Write`, `wait_for_*`) at both ends, client and server on two threads of one
//! process, as the baseline. Server sockets adopt descriptors from a `TcpListener`
//! (`set_socket_descriptor` + `start_server_encryption`), which needs nothing beyond the
//! socket's API; `SslServer` accepts the same way with a non-blocking listener.
//!
//! Both ends get the configuration the baseline's contexts have: the protocol and suite pinned,
//! the client trusting only the benchmark root and checking the name `localhost`, and the server
//! not asking for a client certificate (`VerifyNone`; Qt's server default, `QueryPeer`, sends a
//! CertificateRequest the baseline does not). Clients connect to `127.0.0.1` with the peer name
//! `localhost`, as the baseline does, so no host lookup runs.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::IntoRawFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use qsslsocket::{
    EncodingFormat, KeyAlgorithm, KeyType, OpenMode, PeerVerifyMode, SocketOption, SocketState,
    SslCertificate, SslConfiguration, SslKey, SslOption, SslProtocol, SslSocket,
};
use serde_json::{Value, json};

use crate::Tls;
use crate::pki::{Kind, Loaded, load};
use crate::sys::{process_threads_cpu_ns, thread_cpu_ns};

fn protocol(tls: Tls) -> SslProtocol {
    if tls.v13 {
        SslProtocol::TlsV1_3
    } else {
        SslProtocol::TlsV1_2
    }
}

fn suite(tls: Tls) -> &'static str {
    if tls.v13 {
        "TLS_AES_128_GCM_SHA256"
    } else {
        tls.tls12_cipher()
    }
}

pub(crate) fn server_config(pki: &Loaded, tls: Tls) -> SslConfiguration {
    let mut c = SslConfiguration::default_configuration();
    c.set_local_certificate_chain(SslCertificate::from_data(
        &pki.leaf_pem,
        EncodingFormat::Pem,
    ));
    let algorithm = match tls.kind {
        Kind::Ec => KeyAlgorithm::Ec,
        Kind::Rsa => KeyAlgorithm::Rsa,
    };
    c.set_private_key(SslKey::new(
        &pki.key_pem,
        algorithm,
        EncodingFormat::Pem,
        KeyType::PrivateKey,
        b"",
    ));
    c.set_protocol(protocol(tls));
    c.set_ciphers_str(suite(tls));
    c.set_peer_verify_mode(PeerVerifyMode::VerifyNone);
    c
}

/// `share_sessions`: let the client resume through the shared context's session cache (the
/// crate's default); off, every handshake is a full one, as the baseline's.
pub(crate) fn client_config(pki: &Loaded, tls: Tls, share_sessions: bool) -> SslConfiguration {
    let mut c = SslConfiguration::default_configuration();
    c.set_ca_certificates(SslCertificate::from_data(&pki.ca_pem, EncodingFormat::Pem));
    c.set_protocol(protocol(tls));
    c.set_ciphers_str(suite(tls));
    c.set_ssl_option(SslOption::SslOptionDisableSessionSharing, !share_sessions);
    c
}

/// Starts a connection; the handshake runs when the socket is driven.
pub(crate) fn start_client(config: &SslConfiguration, port: u16) -> SslSocket {
    let mut s = SslSocket::new();
    s.set_ssl_configuration(config.clone());
    s.set_socket_option(SocketOption::LowDelayOption, 1);
    s.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
    s
}

pub(crate) fn encrypted(s: &mut SslSocket) -> bool {
    s.is_encrypted() || s.wait_for_encrypted(10_000)
}

pub(crate) fn connect(config: &SslConfiguration, port: u16) -> SslSocket {
    let mut s = start_client(config, port);
    assert!(encrypted(&mut s), "client handshake: {}", s.error_string());
    s
}

/// The server side: a plain `TcpListener` whose accepted descriptors are handed to server-mode
/// sockets (`set_socket_descriptor` + `start_server_encryption`, Qt's `incomingConnection`
/// pattern). The baseline accepts the same way.
pub(crate) struct Server {
    listener: TcpListener,
    config: SslConfiguration,
}

impl Server {
    pub(crate) fn port(&self) -> u16 {
        self.listener.local_addr().expect("address").port()
    }

    /// Accepts the next connection (blocking) without starting TLS on it.
    fn accept_tcp(&self) -> TcpStream {
        let (tcp, _) = self.listener.accept().expect("accept");
        tcp
    }

    /// Hands an accepted connection to a server-mode socket; the handshake runs when it is
    /// driven.
    fn adopt(&self, tcp: TcpStream) -> SslSocket {
        let mut s = SslSocket::new();
        s.set_ssl_configuration(self.config.clone());
        s.set_socket_option(SocketOption::LowDelayOption, 1);
        assert!(
            s.set_socket_descriptor(
                tcp.into_raw_fd(),
                SocketState::ConnectedState,
                OpenMode::ReadWrite
            ),
            "set_socket_descriptor: {}",
            s.error_string()
        );
        s.start_server_encryption();
        s
    }
}

pub(crate) fn listen(config: SslConfiguration) -> Server {
    Server {
        listener: TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind"),
        config,
    }
}

/// The next accepted socket (handshake started, not finished).
pub(crate) fn next(server: &Server) -> SslSocket {
    let tcp = server.accept_tcp();
    server.adopt(tcp)
}

/// Runs `serve` on a server thread; returns the port and the thread.
fn spawn_server<T: Send + 'static>(
    config: SslConfiguration,
    serve: impl FnOnce(Server) -> T + Send + 'static,
) -> (u16, std::thread::JoinHandle<T>) {
    let server = listen(config);
    let port = server.port();
    (port, std::thread::spawn(move || serve(server)))
}

pub(crate) fn bulk(dir: &std::path::Path, tls: Tls, bytes: u64, chunk: usize) -> Value {
    let pki = load(dir, tls.kind);
    let (port, server) = spawn_server(server_config(&pki, tls), move |server| {
        let mut s = next(&server);
        assert!(encrypted(&mut s), "server handshake: {}", s.error_string());
        let c0 = thread_cpu_ns();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0u64;
        while got < bytes {
            let n = Read::read(&mut s, &mut buf).expect("server read");
            assert!(n > 0, "early end of stream");
            got += n as u64;
        }
        s.write_all(&[1]).expect("ack");
        Write::flush(&mut s).expect("ack flush");
        let cpu = thread_cpu_ns() - c0;
        let _ = Read::read(&mut s, &mut buf); // the client's close_notify
        cpu
    });
    let mut s = connect(&client_config(&pki, tls, false), port);
    let data = vec![0x5au8; chunk];
    let c0 = thread_cpu_ns();
    let t0 = Instant::now();
    let mut sent = 0u64;
    while sent < bytes {
        let n = chunk.min((bytes - sent) as usize);
        s.write_all(&data[..n]).expect("client write");
        sent += n as u64;
    }
    Write::flush(&mut s).expect("client flush");
    let mut ack = [0u8; 1];
    s.read_exact(&mut ack).expect("ack");
    let secs = t0.elapsed().as_secs_f64();
    let client_cpu = thread_cpu_ns() - c0;
    let cipher = s.session_cipher().name();
    s.disconnect_from_host();
    drop(s);
    let server_cpu = server.join().expect("server thread");
    json!({"secs": secs, "cpu_s": (client_cpu + server_cpu) as f64 / 1e9, "cipher": cipher})
}

/// Sequential connections for `seconds`, as `raw::handshakes`. With `resume`, the client
/// resumes through the shared context's session cache (sessions are shared by default between
/// client sockets with equal configurations); without, sharing is switched off.
pub(crate) fn handshakes(dir: &std::path::Path, tls: Tls, seconds: f64, resume: bool) -> Value {
    let pki = load(dir, tls.kind);
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let (port, server) = spawn_server(server_config(&pki, tls), move |server| {
        let mut failures = 0u64;
        loop {
            let tcp = server.accept_tcp();
            if stop2.load(Ordering::SeqCst) {
                break;
            }
            let mut s = server.adopt(tcp);
            let mut b = [0u8; 1];
            let ok = encrypted(&mut s)
                && s.read_exact(&mut b).is_ok()
                && s.write_all(&b).is_ok()
                && matches!(Read::read(&mut s, &mut b), Ok(0));
            failures += u64::from(!ok);
        }
        failures
    });
    let config = client_config(&pki, tls, resume);
    // The whole process: both ends and the lingering-close thread, which closes the client's
    // descriptors (a close that rust-stream makes in the client thread).
    let c0 = process_threads_cpu_ns();
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(seconds);
    let mut count = 0u64;
    let mut reused = 0u64;
    while Instant::now() < deadline {
        let mut s = connect(&config, port);
        s.write_all(&[7]).expect("write");
        let mut b = [0u8; 1];
        s.read_exact(&mut b).expect("read");
        reused += u64::from(s.is_session_resumed());
        s.disconnect_from_host();
        if s.state() != SocketState::UnconnectedState {
            s.wait_for_disconnected(10_000);
        }
        drop(s);
        count += 1;
    }
    let secs = t0.elapsed().as_secs_f64();
    let cpu = process_threads_cpu_ns() - c0;
    stop.store(true, Ordering::SeqCst);
    drop(TcpStream::connect((Ipv4Addr::LOCALHOST, port)));
    let failures = server.join().expect("server thread");
    json!({"count": count, "secs": secs, "cpu_s": cpu as f64 / 1e9,
           "reused": reused, "failures": failures})
}

pub(crate) fn ping_pong(dir: &std::path::Path, tls: Tls, warm: usize, iters: usize) -> Value {
    let pki = load(dir, tls.kind);
    let total = warm + iters;
    let (port, server) = spawn_server(server_config(&pki, tls), move |server| {
        let mut s = next(&server);
        assert!(encrypted(&mut s), "server handshake: {}", s.error_string());
        let mut b = [0u8; 1];
        for _ in 0..total {
            s.read_exact(&mut b).expect("server read");
            s.write_all(&b).expect("server write");
        }
        let _ = Read::read(&mut s, &mut b);
    });
    let mut s = connect(&client_config(&pki, tls, false), port);
    let mut rtts = Vec::with_capacity(iters);
    let mut b = [0u8; 1];
    for i in 0..total {
        let t0 = Instant::now();
        s.write_all(&[1]).expect("write");
        s.read_exact(&mut b).expect("read");
        if i >= warm {
            rtts.push(t0.elapsed().as_secs_f64() * 1e6);
        }
    }
    s.disconnect_from_host();
    drop(s);
    server.join().expect("server thread");
    json!({"rtt_us": rtts})
}
