//! Helpers shared by the SslServer and EventLoop tests (`tests/server.rs`,
//! `tests/server_abuse.rs`, `tests/event_loop.rs`, `tests/event_loop_idle.rs`): the test PKI's
//! server configuration, clients (SslSocket and openssl crate), echo servers (to add to a loop,
//! or in an EventLoop on its own thread), the misbehaving-client tools, and CPU-time probes.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpStream};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use openssl::ssl::{SslConnector, SslMethod, SslStream};
use qsslsocket::*;

use crate::common::bytes::XorShift64;
use crate::common::pki::pki;

pub const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

pub fn server_config() -> SslConfiguration {
    let p = pki();
    let mut config = SslConfiguration::default_configuration();
    config.set_local_certificate_chain(p.server_chain());
    config.set_private_key(p.leaf.ssl_key());
    config
}

/// A client SslSocket trusting the test root, connecting to `host:port`.
pub fn client(host: &str, port: u16) -> SslSocket {
    let mut socket = SslSocket::new();
    socket.set_ca_certificates(vec![pki().root.certificate()]);
    socket.connect_to_host_encrypted(host, port);
    socket
}

/// An openssl-crate client connector trusting the test root.
pub fn connector() -> SslConnector {
    let mut b = SslConnector::builder(SslMethod::tls()).expect("connector");
    b.cert_store_mut()
        .add_cert(pki().root.cert.clone())
        .expect("root");
    b.build()
}

pub fn tls_connect(port: u16) -> SslStream<TcpStream> {
    let tcp = TcpStream::connect((LOCALHOST, port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
    connector().connect("localhost", tcp).expect("handshake")
}

/// Reads until the peer closes or `timeout`; returns the time it took.
pub fn time_until_closed(mut tcp: TcpStream, timeout: Duration) -> Option<Duration> {
    let start = Instant::now();
    tcp.set_read_timeout(Some(timeout)).ok();
    let mut buf = [0u8; 4096];
    loop {
        match tcp.read(&mut buf) {
            Ok(0) => return Some(start.elapsed()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return Some(start.elapsed());
            }
            Err(_) => return None,
        }
    }
}

/// Connects the echo: every accepted socket writes back what it reads.
fn echo_connections(server: &mut SslServer) {
    server.on_new_connection(|socket| {
        socket.on_ready_read(|s| {
            let data = s.read_all();
            s.write(&data);
        });
    });
}

/// An echo server listening on 127.0.0.1 (any port), to add to a loop.
pub fn echo_server() -> SslServer {
    echo_server_with(|_| {})
}

/// [`echo_server`], with `configure` run after the defaults (configuration, echo) and before
/// `listen`, so that it can replace the configuration and set the listen backlog.
pub fn echo_server_with(configure: impl FnOnce(&mut SslServer)) -> SslServer {
    let mut server = SslServer::new();
    server.set_ssl_configuration(server_config());
    echo_connections(&mut server);
    configure(&mut server);
    assert!(server.listen(LOCALHOST, 0), "{}", server.error_string());
    server
}

/// A server in an EventLoop on its own thread, echoing what each client sends.
pub struct ServerThread {
    pub port: u16,
    pub handle: LoopHandle,
    join: Option<JoinHandle<EventLoop>>,
}

impl ServerThread {
    pub fn spawn(address: IpAddr, configure: impl FnOnce(&mut SslServer) + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        let join = std::thread::spawn(move || {
            let mut server = SslServer::new();
            server.set_ssl_configuration(server_config());
            echo_connections(&mut server);
            configure(&mut server);
            assert!(server.listen(address, 0), "{}", server.error_string());
            let port = server.server_port();
            let mut event_loop = EventLoop::new();
            event_loop.add_server(server);
            tx.send((port, event_loop.handle())).expect("send");
            event_loop.run();
            event_loop
        });
        let (port, handle) = rx.recv_timeout(Duration::from_secs(10)).expect("server up");
        ServerThread {
            port,
            handle,
            join: Some(join),
        }
    }

    /// Stops the loop and returns it (with the server and its remaining sockets).
    pub fn stop(mut self) -> EventLoop {
        self.handle.stop();
        self.join
            .take()
            .expect("joined once")
            .join()
            .expect("server thread panicked")
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.handle.stop();
    }
}

/// The payload client `i` sends (`len` ≤ 1 MiB): a window of a pseudo-random stream at an
/// offset of its own, so crossed streams would show. Built by copying, which stays fast in
/// debug builds.
pub fn payload(i: usize, len: usize) -> Vec<u8> {
    const OFFSETS: usize = 4096;
    static STREAM: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let stream = STREAM.get_or_init(|| XorShift64::new(0x5eed).bytes((1 << 20) + OFFSETS));
    let start = i.wrapping_mul(1031) % OFFSETS;
    stream[start..start + len].to_vec()
}

pub fn client_hello() -> Vec<u8> {
    struct Capture(Vec<u8>);
    impl Read for Capture {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::ErrorKind::WouldBlock.into())
        }
    }
    impl Write for Capture {
        fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
            self.0.extend_from_slice(data);
            Ok(data.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    match connector().connect("localhost", Capture(Vec::new())) {
        Err(openssl::ssl::HandshakeError::WouldBlock(mid)) => mid.get_ref().0.clone(),
        _ => panic!("the client handshake should wait for the server"),
    }
}

/// Collects the server-level errors (socket's peer port, error, text).
pub type ErrorLog = Arc<Mutex<Vec<(u16, SocketError, String)>>>;

pub fn log_errors(server: &mut SslServer) -> ErrorLog {
    let log: ErrorLog = Arc::default();
    let sink = log.clone();
    server.on_error_occurred(move |s, e| {
        sink.lock()
            .unwrap()
            .push((s.peer_port(), e, s.error_string()));
    });
    log
}

/// One good client: handshake, a line echoed, close. Returns how long it took.
pub fn good_client(port: u16) -> Duration {
    let start = Instant::now();
    let mut tls = tls_connect(port);
    tls.write_all(b"ping\n").expect("write");
    let mut buf = [0u8; 5];
    tls.read_exact(&mut buf).expect("echo");
    assert_eq!(&buf, b"ping\n");
    let _ = tls.shutdown();
    start.elapsed()
}

pub fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

pub struct CutAfterHello(pub TcpStream, pub bool);

impl Read for CutAfterHello {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::ErrorKind::ConnectionAborted.into())
    }
}

impl Write for CutAfterHello {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        if std::mem::replace(&mut self.1, true) {
            return Err(std::io::ErrorKind::ConnectionAborted.into());
        }
        self.0.write_all(data)?;
        Ok(data.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

pub trait PortForTest {
    fn port_for_test(&self) -> u16;
}

impl PortForTest for SslServer {
    fn port_for_test(&self) -> u16 {
        let port = self.server_port();
        assert_ne!(port, 0);
        port
    }
}

/// This thread's CPU time so far (scheduler run time, `/proc/thread-self/schedstat`).
pub fn thread_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("schedstat");
    let ns: u64 = stat
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .expect("run time");
    Duration::from_nanos(ns)
}

/// This process's CPU time so far (user + system from `/proc/self/stat`, 10 ms ticks).
pub fn process_cpu() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("stat");
    let after_name = &stat[stat.rfind(')').expect("comm") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    Duration::from_millis(ticks * 10)
}
