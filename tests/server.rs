//! SslServer: listening, accepting, the handshake timeout, bad clients, the pending limit, the
//! incoming-connection hook, the blocking flow, server-level signals, and a 1,000-client echo
//! server in an EventLoop.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::pki::pki;
use openssl::ssl::{SslConnector, SslMethod, SslStream};
use qsslsocket::*;

const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn server_config() -> SslConfiguration {
    let p = pki();
    let mut config = SslConfiguration::default_configuration();
    config.set_local_certificate_chain(p.server_chain());
    config.set_private_key(p.leaf.ssl_key());
    config
}

/// A client SslSocket trusting the test root, connecting to `host:port`.
fn client(host: &str, port: u16) -> SslSocket {
    let mut socket = SslSocket::new();
    socket.set_ca_certificates(vec![pki().root.certificate()]);
    socket.connect_to_host_encrypted(host, port);
    socket
}

/// An openssl-crate client connector trusting the test root.
fn connector() -> SslConnector {
    let mut b = SslConnector::builder(SslMethod::tls()).expect("connector");
    b.cert_store_mut()
        .add_cert(pki().root.cert.clone())
        .expect("root");
    b.build()
}

fn tls_connect(port: u16) -> SslStream<TcpStream> {
    let tcp = TcpStream::connect((LOCALHOST, port)).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
    connector().connect("localhost", tcp).expect("handshake")
}

/// Reads until the peer closes or `timeout`; returns the time it took.
fn time_until_closed(mut tcp: TcpStream, timeout: Duration) -> Option<Duration> {
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

/// A server in an EventLoop on its own thread, echoing what each client sends.
struct ServerThread {
    port: u16,
    handle: LoopHandle,
    join: Option<JoinHandle<EventLoop>>,
}

impl ServerThread {
    fn spawn(address: IpAddr, configure: impl FnOnce(&mut SslServer) + Send + 'static) -> Self {
        let (tx, rx) = mpsc::channel();
        let join = std::thread::spawn(move || {
            let mut server = SslServer::new();
            server.set_ssl_configuration(server_config());
            server.on_new_connection(|socket| {
                socket.on_ready_read(|s| {
                    let data = s.read_all();
                    s.write(&data);
                });
            });
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
    fn stop(mut self) -> EventLoop {
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

/// The payload client `i` sends: distinct per client, so crossed streams would show.
fn payload(i: usize, len: usize) -> Vec<u8> {
    (0..len)
        .map(|k| (i.wrapping_mul(31) ^ k.wrapping_mul(7) ^ (k >> 8)) as u8)
        .collect()
}

#[test]
fn echo_server_serves_1000_concurrent_clients() {
    const CLIENTS: usize = 1000;
    const SIZE: usize = 64 * 1024;
    let encrypted = Arc::new(AtomicUsize::new(0));
    let server_errors = Arc::new(Mutex::new(Vec::new()));
    let (enc, errs) = (encrypted.clone(), server_errors.clone());
    let server = ServerThread::spawn(LOCALHOST, move |server| {
        server.set_max_pending_connections(CLIENTS as i32 + 100);
        server.set_listen_backlog_size(2048);
        // 1,000 handshakes queue up on two shared cores in a debug build.
        server.set_handshake_timeout(60_000);
        server.on_encrypted(move |_| {
            enc.fetch_add(1, Ordering::Relaxed);
        });
        server.on_error_occurred(move |s, e| {
            errs.lock()
                .unwrap()
                .push(format!("{e}: {}", s.error_string()));
        });
    });

    let start = Instant::now();
    let done = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(Mutex::new(Vec::new()));
    let mut clients = EventLoop::new();
    for i in 0..CLIENTS {
        let mut socket = client("127.0.0.1", server.port);
        socket.on_encrypted(move |s| {
            s.write(&payload(i, SIZE));
        });
        let mut received = Vec::with_capacity(SIZE);
        let (done, mismatches) = (done.clone(), failures.clone());
        socket.on_ready_read(move |s| {
            received.extend_from_slice(&s.read_all());
            if received.len() >= SIZE {
                if received != payload(i, SIZE) {
                    mismatches
                        .lock()
                        .unwrap()
                        .push(format!("client {i}: bytes differ"));
                }
                done.fetch_add(1, Ordering::Relaxed);
                s.disconnect_from_host();
            }
        });
        let failures = failures.clone();
        socket.on_error_occurred(move |s, e| {
            if !s.is_encrypted() || e != SocketError::RemoteHostClosedError {
                failures
                    .lock()
                    .unwrap()
                    .push(format!("client {i}: {e}: {}", s.error_string()));
            }
        });
        clients.add_socket(socket);
    }
    let finished = clients.run_until(
        |_| done.load(Ordering::Relaxed) + failures.lock().unwrap().len() >= CLIENTS,
        120_000,
    );
    let elapsed = start.elapsed();
    eprintln!(
        "1000 clients x (handshake + 64 KiB echo): {elapsed:?}, {} fds open in the process",
        std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
    );
    assert!(finished, "timed out: {} done", done.load(Ordering::Relaxed));
    assert_eq!(*failures.lock().unwrap(), Vec::<String>::new());
    assert_eq!(done.load(Ordering::Relaxed), CLIENTS);
    assert_eq!(encrypted.load(Ordering::Relaxed), CLIENTS);
    assert_eq!(*server_errors.lock().unwrap(), Vec::<String>::new());

    // Every client disconnects; the server loop drops the ended sockets on its own.
    let ids = clients.socket_ids();
    let closed = clients.run_until(
        |lp| {
            ids.iter()
                .all(|id| lp.socket(*id).unwrap().state() == SocketState::UnconnectedState)
        },
        30_000,
    );
    eprintln!("clients closed after {:?}: {closed}", start.elapsed());
    assert!(closed);
    let mut server_loop = server.stop();
    let deadline = Instant::now() + Duration::from_secs(30);
    while server_loop.socket_count() > 0 && Instant::now() < deadline {
        server_loop.process_events(100);
    }
    eprintln!(
        "server sockets left: {} after {:?}",
        server_loop.socket_count(),
        start.elapsed()
    );
    assert_eq!(server_loop.socket_count(), 0, "ended sockets are dropped");
}

/// The first flight an openssl-crate client sends (its ClientHello), captured without a server.
fn client_hello() -> Vec<u8> {
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
type ErrorLog = Arc<Mutex<Vec<(u16, SocketError, String)>>>;

fn log_errors(server: &mut SslServer) -> ErrorLog {
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
fn good_client(port: u16) -> Duration {
    let start = Instant::now();
    let mut tls = tls_connect(port);
    tls.write_all(b"ping\n").expect("write");
    let mut buf = [0u8; 5];
    tls.read_exact(&mut buf).expect("echo");
    assert_eq!(&buf, b"ping\n");
    let _ = tls.shutdown();
    start.elapsed()
}

fn wait_for(what: &str, timeout: Duration, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn stalled_handshakes_are_dropped_at_the_timeout_while_others_proceed() {
    const TIMEOUT_MS: u64 = 1000;
    const STALLED: usize = 100;
    let log: ErrorLog = Arc::default();
    let sink = log.clone();
    let server = ServerThread::spawn(LOCALHOST, move |server| {
        server.set_handshake_timeout(TIMEOUT_MS as i32);
        server.set_max_pending_connections(1000);
        server.set_listen_backlog_size(1024);
        server.on_error_occurred(move |s, e| {
            sink.lock()
                .unwrap()
                .push((s.peer_port(), e, s.error_string()));
        });
    });
    let hello = client_hello();
    // Half of them send nothing, half a partial ClientHello (slowloris).
    let stalled: Vec<(TcpStream, Instant)> = (0..STALLED)
        .map(|i| {
            let mut tcp = TcpStream::connect((LOCALHOST, server.port)).expect("connect");
            if i % 2 == 1 {
                tcp.write_all(&hello[..hello.len() / 2])
                    .expect("partial hello");
            }
            (tcp, Instant::now())
        })
        .collect();
    // Good clients keep being served while the stalled ones wait.
    for _ in 0..5 {
        let took = good_client(server.port);
        assert!(took < Duration::from_secs(1), "good client took {took:?}");
    }
    let closed: Vec<JoinHandle<Option<Duration>>> = stalled
        .into_iter()
        .map(|(tcp, connected)| {
            std::thread::spawn(move || {
                time_until_closed(tcp, Duration::from_secs(10)).map(|_| connected.elapsed())
            })
        })
        .collect();
    let times: Vec<Duration> = closed
        .into_iter()
        .map(|j| {
            j.join()
                .unwrap()
                .expect("the server closes a stalled connection")
        })
        .collect();
    let (min, max) = (times.iter().min().unwrap(), times.iter().max().unwrap());
    eprintln!(
        "{STALLED} stalled connections closed after {min:?} .. {max:?} (timeout {TIMEOUT_MS} ms)"
    );
    let timeout = Duration::from_millis(TIMEOUT_MS);
    assert!(*min >= timeout.mul_f64(0.95), "closed too early: {min:?}");
    assert!(*max <= timeout.mul_f64(1.5), "closed too late: {max:?}");
    let errors = log.lock().unwrap().clone();
    assert_eq!(errors.len(), STALLED, "{errors:?}");
    for (_, error, text) in &errors {
        assert_eq!(*error, SocketError::SocketTimeoutError);
        assert_eq!(text, "Network operation timed out");
    }
    // A good client still gets through afterwards, and the loop kept nothing of the others.
    good_client(server.port);
    let mut server_loop = server.stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server_loop.socket_count() > 0 && Instant::now() < deadline {
        server_loop.process_events(50);
    }
    assert_eq!(server_loop.socket_count(), 0);
}

/// Reads and writes that fail after the first write: an openssl client that sends its
/// ClientHello and then vanishes (mid-handshake disconnect).
struct CutAfterHello(TcpStream, bool);

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

#[test]
fn bad_clients_cost_one_failed_socket_each() {
    let log: ErrorLog = Arc::default();
    let encrypted = Arc::new(AtomicUsize::new(0));
    let (sink, enc) = (log.clone(), encrypted.clone());
    let server = ServerThread::spawn(LOCALHOST, move |server| {
        server.on_error_occurred(move |s, e| {
            sink.lock()
                .unwrap()
                .push((s.peer_port(), e, s.error_string()));
        });
        server.on_encrypted(move |_| {
            enc.fetch_add(1, Ordering::Relaxed);
        });
    });
    let port = server.port;
    good_client(port);
    let hello = client_hello();

    let mut bad: Vec<(&str, u16)> = Vec::new();
    let raw = |data: &[u8], half_close: bool| {
        let mut tcp = TcpStream::connect((LOCALHOST, port)).expect("connect");
        tcp.write_all(data).expect("write");
        if half_close {
            tcp.shutdown(Shutdown::Write).expect("shutdown");
        }
        let local = tcp.local_addr().unwrap().port();
        (tcp, local)
    };
    let mut keep = Vec::new();
    for (name, data, half_close) in [
        (
            "garbage",
            &b"\x00\x01\x02\x03 this is not TLS at all \xff\xfe\xfd\r\n\r\n"[..],
            false,
        ),
        (
            "http",
            &b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"[..],
            false,
        ),
        ("truncated hello", &hello[..hello.len() / 3], true),
        ("bad record header", &b"\x16\x03\x01\xff\xff"[..], true),
    ] {
        let (tcp, local) = raw(data, half_close);
        bad.push((name, local));
        keep.push(tcp);
    }
    // A real ClientHello, then the client disappears.
    let tcp = TcpStream::connect((LOCALHOST, port)).expect("connect");
    let local = tcp.local_addr().unwrap().port();
    assert!(
        connector()
            .connect("localhost", CutAfterHello(tcp, false))
            .is_err()
    );
    bad.push(("mid-handshake disconnect", local));
    // A client that resets the connection right after connecting.
    let tcp = TcpStream::connect((LOCALHOST, port)).expect("connect");
    let local = tcp.local_addr().unwrap().port();
    socket2::SockRef::from(&tcp)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(tcp);
    bad.push(("reset", local));

    // Good clients keep working meanwhile.
    good_client(port);
    // A client reset before it was accepted is not even a socket (accept(2) hands over a dead
    // descriptor that cannot be adopted): no error. Reset after, it is RemoteHostClosedError.
    let reset = bad.pop().unwrap();
    wait_for(
        "an error for every bad client",
        Duration::from_secs(10),
        || log.lock().unwrap().len() >= bad.len(),
    );
    good_client(port);
    let errors = log.lock().unwrap().clone();
    for (name, local) in &bad {
        let mine: Vec<_> = errors.iter().filter(|(p, _, _)| p == local).collect();
        eprintln!("{name}: {mine:?}");
        assert_eq!(mine.len(), 1, "{name}: exactly one error: {errors:?}");
        let (_, error, text) = mine[0];
        let expected: &[SocketError] = match *name {
            "garbage" | "http" | "bad record header" => &[SocketError::SslHandshakeFailedError],
            _ => &[
                SocketError::RemoteHostClosedError,
                SocketError::SslHandshakeFailedError,
            ],
        };
        assert!(expected.contains(error), "{name}: {error} ({text})");
        assert!(
            !text.is_empty() && text != "Unknown error",
            "{name}: {text}"
        );
    }
    let reset_errors: Vec<_> = errors.iter().filter(|(p, _, _)| *p == reset.1).collect();
    eprintln!("{}: {reset_errors:?}", reset.0);
    assert!(reset_errors.len() <= 1);
    assert!(
        reset_errors
            .iter()
            .all(|(_, e, _)| *e == SocketError::RemoteHostClosedError)
    );
    assert_eq!(errors.len(), bad.len() + reset_errors.len(), "{errors:?}");
    let http = errors.iter().find(|(p, _, _)| *p == bad[1].1).unwrap();
    assert!(http.2.contains("http request"), "{}", http.2);
    drop(keep);
    assert_eq!(encrypted.load(Ordering::Relaxed), 3);
    let mut server_loop = server.stop();
    let deadline = Instant::now() + Duration::from_secs(10);
    while server_loop.socket_count() > 0 && Instant::now() < deadline {
        server_loop.process_events(50);
    }
    assert_eq!(server_loop.socket_count(), 0, "failed sockets are dropped");
}

#[test]
fn listens_on_ipv6_loopback() {
    let server = ServerThread::spawn(IpAddr::V6(Ipv6Addr::LOCALHOST), |server| {
        assert_eq!(server.server_port(), 0);
    });
    let mut socket = client("::1", server.port);
    assert!(
        socket.wait_for_encrypted(10_000),
        "{}",
        socket.error_string()
    );
    assert_eq!(socket.peer_address(), Some(IpAddr::V6(Ipv6Addr::LOCALHOST)));
    socket.write(b"over IPv6\n");
    let mut got = Vec::new();
    while got.len() < 10 && socket.wait_for_ready_read(10_000) {
        got.extend(socket.read_all());
    }
    assert_eq!(got, b"over IPv6\n");
    // IPv6-only, as Qt: the IPv4 loopback is not served on that port.
    assert!(TcpStream::connect((LOCALHOST, server.port)).is_err());
    server.stop();
}

#[test]
fn port_zero_picks_a_free_port_and_address_in_use_is_reported() {
    let mut server = SslServer::new();
    assert!(!server.is_listening());
    assert_eq!(server.server_port(), 0);
    assert_eq!(server.server_address(), None);
    assert_eq!(server.error(), SocketError::UnknownSocketError);
    assert_eq!(server.error_string(), "Unknown error");
    assert!(server.listen(LOCALHOST, 0), "{}", server.error_string());
    let port = server.server_port();
    assert_ne!(port, 0);
    assert_eq!(server.server_address(), Some(LOCALHOST));
    assert!(server.is_listening());
    assert!(server.socket_descriptor() >= 0);
    assert!(!server.listen(LOCALHOST, 0), "already listening");

    let mut second = SslServer::new();
    assert!(!second.listen(LOCALHOST, port));
    assert_eq!(second.error(), SocketError::AddressInUseError);
    assert_eq!(second.error_string(), "The bound address is already in use");
    assert!(!second.is_listening());

    let mut unavailable = SslServer::new();
    assert!(!unavailable.listen("192.0.2.1".parse().unwrap(), 0));
    assert_eq!(
        unavailable.error(),
        SocketError::SocketAddressNotAvailableError
    );
    assert_eq!(unavailable.error_string(), "The address is not available");

    server.close();
    assert!(!server.is_listening());
    assert_eq!(server.server_port(), 0);
    assert_eq!(server.socket_descriptor(), -1);
    assert!(!server.wait_for_new_connection(0));
    assert!(second.listen(LOCALHOST, port), "{}", second.error_string());
}

#[test]
fn blocking_accept_and_handshake_with_a_client_thread() {
    let mut server = SslServer::new();
    server.set_ssl_configuration(server_config());
    let new_connections = Arc::new(AtomicUsize::new(0));
    let seen = new_connections.clone();
    server.on_new_connection(move |socket| {
        assert_eq!(socket.mode(), SslMode::SslServerMode);
        assert_eq!(socket.state(), SocketState::ConnectedState);
        assert!(EventLoop::current_socket_id().is_none(), "not in a loop");
        seen.fetch_add(1, Ordering::Relaxed);
    });
    let server_encrypted = Arc::new(AtomicUsize::new(0));
    let enc = server_encrypted.clone();
    server.on_encrypted(move |s| {
        assert!(s.is_encrypted());
        enc.fetch_add(1, Ordering::Relaxed);
    });
    assert!(server.listen(LOCALHOST, 0));
    assert!(!server.wait_for_new_connection(50), "nobody connected yet");
    assert!(!server.has_pending_connections());
    assert!(server.next_pending_connection().is_none());

    let port = server.port_for_test();
    let client = std::thread::spawn(move || {
        let mut tls = tls_connect(port);
        tls.write_all(b"hello server\n").unwrap();
        let mut reply = [0u8; 13];
        tls.read_exact(&mut reply).unwrap();
        let _ = tls.shutdown();
        reply.to_vec()
    });
    assert!(
        server.wait_for_new_connection(10_000),
        "{}",
        server.error_string()
    );
    assert_eq!(new_connections.load(Ordering::Relaxed), 1);
    assert!(server.has_pending_connections());
    let mut socket = server
        .next_pending_connection()
        .expect("a pending connection");
    assert!(!server.has_pending_connections());
    // Handed over with the handshake started, not finished: slots connected now see it end.
    assert_eq!(socket.mode(), SslMode::SslServerMode);
    assert!(!socket.is_encrypted());
    let encrypted_slot = Arc::new(AtomicUsize::new(0));
    let enc = encrypted_slot.clone();
    socket.on_encrypted(move |_| {
        enc.fetch_add(1, Ordering::Relaxed);
    });
    assert!(
        socket.wait_for_encrypted(10_000),
        "{}",
        socket.error_string()
    );
    assert_eq!(encrypted_slot.load(Ordering::Relaxed), 1);
    assert_eq!(server_encrypted.load(Ordering::Relaxed), 1);
    let mut line = Vec::new();
    while !socket.can_read_line() && socket.wait_for_ready_read(10_000) {}
    line.extend(socket.read_line());
    assert_eq!(line, b"hello server\n");
    socket.write(b"hello client\n");
    assert!(socket.wait_for_bytes_written(10_000));
    assert_eq!(client.join().unwrap(), b"hello client\n");
    assert!(
        socket.wait_for_disconnected(10_000) || socket.state() == SocketState::UnconnectedState
    );
}

trait PortForTest {
    fn port_for_test(&self) -> u16;
}

impl PortForTest for SslServer {
    fn port_for_test(&self) -> u16 {
        let port = self.server_port();
        assert_ne!(port, 0);
        port
    }
}

#[test]
fn max_pending_connections_pauses_and_resumes_accepting() {
    let mut server = SslServer::new();
    server.set_ssl_configuration(server_config());
    assert_eq!(server.max_pending_connections(), 30, "Qt's default");
    assert_eq!(server.listen_backlog_size(), 50, "Qt's default");
    server.set_max_pending_connections(2);
    assert_eq!(server.max_pending_connections(), 2);
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    server.on_new_connection(move |_| {
        count.fetch_add(1, Ordering::Relaxed);
    });
    assert!(server.listen(LOCALHOST, 0));
    let port = server.port_for_test();
    // Four clients complete TCP in the kernel's backlog.
    let clients: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect((LOCALHOST, port)).unwrap())
        .collect();
    assert!(server.wait_for_new_connection(5000));
    assert_eq!(accepted.load(Ordering::Relaxed), 2, "stops at the limit");
    // Full: returns at once, without accepting, saying a connection is waiting.
    let start = Instant::now();
    assert!(server.wait_for_new_connection(5000));
    assert!(start.elapsed() < Duration::from_secs(1));
    assert_eq!(accepted.load(Ordering::Relaxed), 2);
    assert!(server.next_pending_connection().is_some());
    assert!(server.next_pending_connection().is_some());
    assert!(server.next_pending_connection().is_none());
    // Drained: accepting resumes.
    assert!(server.wait_for_new_connection(5000));
    assert_eq!(accepted.load(Ordering::Relaxed), 4);
    while server.next_pending_connection().is_some() {}
    assert!(!server.wait_for_new_connection(100), "no fifth client");
    drop(clients);
}

#[test]
fn in_a_loop_unfinished_handshakes_count_toward_the_pending_limit() {
    let accepted = Arc::new(Mutex::new(Vec::new()));
    let log = accepted.clone();
    let start = Instant::now();
    let server = ServerThread::spawn(LOCALHOST, move |server| {
        server.set_max_pending_connections(2);
        server.set_handshake_timeout(400);
        server.on_new_connection(move |_| log.lock().unwrap().push(start.elapsed()));
    });
    // Four clients that never send a ClientHello: two are accepted, the next two only once
    // the first two have timed out.
    let clients: Vec<TcpStream> = (0..4)
        .map(|_| TcpStream::connect((LOCALHOST, server.port)).unwrap())
        .collect();
    wait_for("four accepted connections", Duration::from_secs(10), || {
        accepted.lock().unwrap().len() == 4
    });
    let times = accepted.lock().unwrap().clone();
    eprintln!("accepted at {times:?}");
    assert!(times[1] < Duration::from_millis(300), "{times:?}");
    assert!(times[2] >= Duration::from_millis(380), "{times:?}");
    // A good client is served once the stalled ones are gone.
    good_client(server.port);
    drop(clients);
    server.stop();
}

#[test]
fn incoming_connection_hook_sets_up_the_socket() {
    let mut server = SslServer::new();
    server.set_ssl_configuration(server_config());
    let fds = Arc::new(Mutex::new(Vec::new()));
    let seen = fds.clone();
    // The seed's incomingConnection override.
    server.on_incoming_connection(move |server, fd| {
        seen.lock().unwrap().push(fd);
        let mut socket = SslSocket::new();
        if socket.set_socket_descriptor(fd, SocketState::ConnectedState, OpenMode::ReadWrite) {
            socket.set_ssl_configuration(server.ssl_configuration());
            socket.set_read_buffer_size(1234);
            socket.start_server_encryption();
            server.add_pending_connection(socket);
        }
    });
    let new_connection = Arc::new(AtomicUsize::new(0));
    let count = new_connection.clone();
    server.on_new_connection(move |s| {
        assert_eq!(s.read_buffer_size(), 1234, "the hook's socket");
        count.fetch_add(1, Ordering::Relaxed);
    });
    let server_encrypted = Arc::new(AtomicUsize::new(0));
    let enc = server_encrypted.clone();
    server.on_encrypted(move |_| {
        enc.fetch_add(1, Ordering::Relaxed);
    });
    assert!(server.listen(LOCALHOST, 0));
    let port = server.port_for_test();
    let client = std::thread::spawn(move || good_client(port));
    assert!(server.wait_for_new_connection(10_000));
    assert_eq!(fds.lock().unwrap().len(), 1);
    assert!(fds.lock().unwrap()[0] >= 0);
    assert_eq!(new_connection.load(Ordering::Relaxed), 1);
    let mut socket = server.next_pending_connection().unwrap();
    assert_eq!(socket.socket_descriptor(), fds.lock().unwrap()[0]);
    socket.on_ready_read(|s| {
        let data = s.read_all();
        s.write(&data);
    });
    assert!(
        socket.wait_for_encrypted(10_000),
        "{}",
        socket.error_string()
    );
    assert_eq!(
        server_encrypted.load(Ordering::Relaxed),
        1,
        "forwarded like the server's own"
    );
    socket.wait_for_disconnected(10_000);
    client.join().unwrap();

    // A hook that refuses: the descriptor is closed, nothing is queued.
    server.on_incoming_connection(|_, fd| {
        // Adopting the descriptor and dropping the socket closes it.
        let mut socket = SslSocket::new();
        assert!(socket.set_socket_descriptor(
            fd,
            SocketState::ConnectedState,
            OpenMode::ReadWrite
        ));
    });
    let refused = TcpStream::connect((LOCALHOST, port)).unwrap();
    assert!(!server.wait_for_new_connection(500), "nothing was queued");
    assert!(!server.has_pending_connections());
    assert_eq!(new_connection.load(Ordering::Relaxed), 1);
    assert!(time_until_closed(refused, Duration::from_secs(5)).is_some());
}

#[test]
fn incoming_connection_hook_in_an_event_loop() {
    let ids = Arc::new(Mutex::new(Vec::new()));
    let seen = ids.clone();
    let server = ServerThread::spawn(LOCALHOST, move |server| {
        server.on_incoming_connection(|server, fd| {
            let mut socket = SslSocket::new();
            if socket.set_socket_descriptor(fd, SocketState::ConnectedState, OpenMode::ReadWrite) {
                socket.set_ssl_configuration(server.ssl_configuration());
                socket.on_ready_read(|s| {
                    let data = s.read_all();
                    s.write(&data);
                });
                socket.start_server_encryption();
                server.add_pending_connection(socket);
            }
        });
        server.on_new_connection(move |_| {
            seen.lock()
                .unwrap()
                .push(EventLoop::current_socket_id().expect("in the loop"));
        });
    });
    good_client(server.port);
    good_client(server.port);
    let ids = ids.lock().unwrap().clone();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1]);
    server.stop();
}

#[test]
fn server_signals_report_client_certificate_problems() {
    let p = pki();
    for ignore in [true, false] {
        let mut config = server_config();
        config.set_peer_verify_mode(PeerVerifyMode::VerifyPeer);
        config.set_ca_certificates(vec![p.root.certificate()]);
        let mut server = SslServer::new();
        server.set_ssl_configuration(config);
        let verify_errors = Arc::new(Mutex::new(Vec::new()));
        let (sink, errors_seen) = (verify_errors.clone(), Arc::new(Mutex::new(Vec::new())));
        server.on_peer_verify_error(move |s, e| {
            assert_eq!(s.mode(), SslMode::SslServerMode);
            sink.lock().unwrap().push(e.error());
        });
        let sink = errors_seen.clone();
        server.on_ssl_errors(move |s, errors| {
            sink.lock()
                .unwrap()
                .extend(errors.iter().map(SslError::error));
            if ignore {
                s.ignore_ssl_errors();
            }
        });
        let log = log_errors(&mut server);
        assert!(server.listen(LOCALHOST, 0));
        let port = server.port_for_test();
        let client_identity = p.self_signed.clone();
        let client = std::thread::spawn(move || {
            let mut b = SslConnector::builder(SslMethod::tls()).unwrap();
            b.cert_store_mut()
                .add_cert(pki().root.cert.clone())
                .unwrap();
            b.set_certificate(&client_identity.cert).unwrap();
            b.set_private_key(&client_identity.key).unwrap();
            let tcp = TcpStream::connect((LOCALHOST, port)).unwrap();
            tcp.set_read_timeout(Some(Duration::from_secs(10))).ok();
            let mut tls = b.build().connect("localhost", tcp).ok()?;
            tls.write_all(b"x").ok()?;
            let mut buf = [0u8; 1];
            tls.read_exact(&mut buf).ok().map(|_| buf[0])
        });
        assert!(server.wait_for_new_connection(10_000));
        let mut socket = server.next_pending_connection().unwrap();
        let encrypted = socket.wait_for_encrypted(10_000);
        assert_eq!(encrypted, ignore, "{}", socket.error_string());
        if ignore {
            while socket.bytes_available() == 0 && socket.wait_for_ready_read(10_000) {}
            let data = socket.read_all();
            socket.write(&data);
            socket.wait_for_bytes_written(10_000);
        }
        let reply = client.join().unwrap();
        assert_eq!(reply, ignore.then_some(b'x'));
        assert!(
            verify_errors
                .lock()
                .unwrap()
                .contains(&SslErrorKind::SelfSignedCertificate)
        );
        assert!(
            errors_seen
                .lock()
                .unwrap()
                .contains(&SslErrorKind::SelfSignedCertificate)
        );
        let log = log.lock().unwrap().clone();
        if ignore {
            assert!(log.is_empty(), "{log:?}");
        } else {
            assert_eq!(log.len(), 1, "{log:?}");
            assert_eq!(log[0].1, SocketError::SslHandshakeFailedError);
        }
    }
}

#[test]
fn a_server_without_a_key_drops_connections_with_a_clear_error() {
    let mut config = server_config();
    config.set_private_key(SslKey::default());
    let mut server = SslServer::new();
    server.set_ssl_configuration(config);
    let log = log_errors(&mut server);
    assert!(server.listen(LOCALHOST, 0));
    let tcp = TcpStream::connect((LOCALHOST, server.port_for_test())).unwrap();
    assert!(!server.wait_for_new_connection(500));
    assert!(!server.has_pending_connections());
    let log = log.lock().unwrap().clone();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0].1, SocketError::SslInvalidUserDataError);
    eprintln!("{}", log[0].2);
    assert!(time_until_closed(tcp, Duration::from_secs(5)).is_some());
}

/// Run by `accept_error_pauses_the_server` in a child process whose descriptor limit is low.
#[test]
#[ignore = "helper: runs in a child process started by accept_error_pauses_the_server"]
fn accept_error_child() {
    let mut server = SslServer::new();
    server.set_ssl_configuration(server_config());
    server.set_listen_backlog_size(200);
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = errors.clone();
    server.on_accept_error(move |server, e| {
        assert!(!server.is_listening() || server.error() == e);
        sink.lock().unwrap().push(e);
    });
    assert!(server.listen(LOCALHOST, 0));
    let port = server.port_for_test();
    // Use up every descriptor with connected clients.
    let mut clients = Vec::new();
    loop {
        match TcpStream::connect((LOCALHOST, port)) {
            Ok(tcp) => clients.push(tcp),
            Err(e) => {
                assert_eq!(e.raw_os_error(), Some(libc::EMFILE), "{e}");
                break;
            }
        }
        assert!(clients.len() < 1000, "the descriptor limit was not lowered");
    }
    assert!(!server.wait_for_new_connection(1000));
    assert_eq!(server.error(), SocketError::SocketResourceError);
    assert_eq!(server.error_string(), "Out of resources");
    assert_eq!(*errors.lock().unwrap(), [SocketError::SocketResourceError]);
    // Descriptors freed: accepting works again.
    clients.truncate(clients.len() - 4);
    server.resume_accepting();
    assert!(
        server.wait_for_new_connection(1000),
        "{}",
        server.error_string()
    );
    assert!(server.next_pending_connection().is_some());
    println!("ACCEPT-ERROR-CHILD-OK");
}

#[test]
fn accept_error_pauses_the_server() {
    let exe = std::env::current_exe().unwrap();
    let output = std::process::Command::new("prlimit")
        .arg("--nofile=64:64")
        .arg(exe)
        .args(["--exact", "accept_error_child", "--ignored", "--nocapture"])
        .output()
        .expect("prlimit (util-linux) runs the child with a low descriptor limit");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.contains("ACCEPT-ERROR-CHILD-OK"),
        "child failed:\n{stdout}\n{stderr}"
    );
}
