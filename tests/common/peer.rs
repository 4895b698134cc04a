//! In-process TLS peers on 127.0.0.1 built directly on the `openssl` crate (blocking), scripted
//! like the peers of the Qt reference harness. Every peer is time-bounded: accept and I/O time
//! out after `PEER_TIMEOUT`, so a test can never hang on its peer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use openssl::ssl::{SslAcceptor, SslAcceptorBuilder, SslMethod, SslStream, SslVerifyMode};

use super::pki::Identity;

pub const PEER_TIMEOUT: Duration = Duration::from_secs(10);

/// What a peer saw, for assertions.
#[derive(Debug, Default, Clone)]
pub struct PeerLog {
    pub events: Vec<String>,
    pub received: Vec<u8>,
}

impl PeerLog {
    pub fn push(&mut self, event: impl Into<String>) {
        self.events.push(event.into());
    }
}

/// A peer thread listening on 127.0.0.1.
pub struct Peer {
    pub port: u16,
    handle: Option<JoinHandle<PeerLog>>,
}

impl Peer {
    /// Listens on 127.0.0.1:0 and runs `script` on the first accepted connection.
    pub fn spawn(script: impl FnOnce(TcpStream, &mut PeerLog) + Send + 'static) -> Peer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let handle = std::thread::spawn(move || {
            let mut log = PeerLog::default();
            match accept_bounded(&listener) {
                Some(stream) => {
                    stream.set_read_timeout(Some(PEER_TIMEOUT)).ok();
                    stream.set_write_timeout(Some(PEER_TIMEOUT)).ok();
                    log.push("tcp_accepted");
                    script(stream, &mut log);
                }
                None => log.push("accept_timeout"),
            }
            log
        });
        Peer {
            port,
            handle: Some(handle),
        }
    }

    /// Waits for the script to finish (bounded by the peer's own timeouts).
    pub fn join(mut self) -> PeerLog {
        self.handle
            .take()
            .expect("joined once")
            .join()
            .expect("peer thread panicked")
    }
}

fn accept_bounded(listener: &TcpListener) -> Option<TcpStream> {
    listener.set_nonblocking(true).ok()?;
    let mut poll = mio::Poll::new().ok()?;
    let mut events = mio::Events::with_capacity(4);
    let mut source = mio::unix::SourceFd(&std::os::fd::AsRawFd::as_raw_fd(listener));
    poll.registry()
        .register(&mut source, mio::Token(0), mio::Interest::READABLE)
        .ok()?;
    let deadline = Instant::now() + PEER_TIMEOUT;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).ok()?;
                return Some(s);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let left = deadline.checked_duration_since(Instant::now())?;
                poll.poll(&mut events, Some(left)).ok()?;
            }
            Err(_) => return None,
        }
    }
}

/// A TLS server acceptor presenting `identity` followed by `extra_chain`.
pub fn acceptor(
    identity: &Identity,
    extra_chain: &[&Identity],
    configure: impl FnOnce(&mut SslAcceptorBuilder),
) -> SslAcceptor {
    let mut b = SslAcceptor::mozilla_intermediate_v5(SslMethod::tls()).expect("acceptor");
    b.set_certificate(&identity.cert).expect("cert");
    b.set_private_key(&identity.key).expect("key");
    for extra in extra_chain {
        b.add_extra_chain_cert(extra.cert.clone()).expect("chain");
    }
    b.set_verify(SslVerifyMode::NONE);
    configure(&mut b);
    b.build()
}

/// Accepts TLS on `tcp`; logs `handshake_ok` (with version and cipher) or `handshake_failed`.
pub fn tls_accept(
    acceptor: &SslAcceptor,
    tcp: TcpStream,
    log: &mut PeerLog,
) -> Option<SslStream<TcpStream>> {
    match acceptor.accept(tcp) {
        Ok(s) => {
            let version = s.ssl().version_str().to_owned();
            let cipher = s
                .ssl()
                .current_cipher()
                .map(|c| c.name().to_owned())
                .unwrap_or_default();
            log.push(format!("handshake_ok {version} {cipher}"));
            Some(s)
        }
        Err(e) => {
            log.push(format!("handshake_failed {e}"));
            None
        }
    }
}

/// Echo script: answers every line with `echo:<line>` until the client closes, then logs how it
/// closed (`closed close_notify` or `closed eof`).
pub fn echo_lines(mut s: SslStream<TcpStream>, log: &mut PeerLog) {
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.ssl_read(&mut buf) {
            Ok(n) => {
                log.received.extend_from_slice(&buf[..n]);
                line.extend_from_slice(&buf[..n]);
                while let Some(i) = line.iter().position(|b| *b == b'\n') {
                    let l: Vec<u8> = line.drain(..=i).collect();
                    let mut reply = b"echo:".to_vec();
                    reply.extend_from_slice(&l);
                    if s.write_all(&reply).is_err() {
                        return;
                    }
                }
            }
            Err(e) if e.code() == openssl::ssl::ErrorCode::ZERO_RETURN => {
                log.push("closed close_notify");
                return;
            }
            Err(e) => {
                log.push(format!("closed eof ({e})"));
                return;
            }
        }
    }
}

/// Reads one line from a blocking TLS stream.
pub fn read_line(s: &mut SslStream<TcpStream>) -> Option<Vec<u8>> {
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    loop {
        match s.read(&mut byte) {
            Ok(1) => {
                line.push(byte[0]);
                if byte[0] == b'\n' {
                    return Some(line);
                }
            }
            _ => return if line.is_empty() { None } else { Some(line) },
        }
    }
}

/// Reads one line from a plain TCP stream (STARTTLS exchanges).
pub fn read_plain_line(tcp: &mut TcpStream) -> Option<Vec<u8>> {
    let mut reader = BufReader::new(tcp.try_clone().ok()?);
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).ok()?;
    (!line.is_empty()).then_some(line)
}

/// Runs `f` on a thread and waits at most `timeout` for its result.
pub fn bounded<T: Send + 'static>(timeout: Duration, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(timeout)
        .expect("bounded operation timed out")
}

/// qtref's `echo_server`: TLS accept presenting `identity` (plus `extra_chain`), echo lines with
/// `echo:` until the client closes.
pub fn echo_peer(identity: &Identity, extra_chain: &[&Identity]) -> Peer {
    let acc = acceptor(identity, extra_chain, |_| {});
    Peer::spawn(move |tcp, log| {
        if let Some(s) = tls_accept(&acc, tcp, log) {
            echo_lines(s, log);
        }
    })
}

/// A client connector that records when the server's TLS 1.3 session tickets arrived, for
/// [`wait_for_tickets`] (qtref's client pauses after the handshake for the same reason: so the
/// server has flushed its post-handshake output before the first data arrives).
pub fn ticket_flag(
    builder: &mut openssl::ssl::SslConnectorBuilder,
) -> std::sync::Arc<std::sync::atomic::AtomicBool> {
    let flag = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let f = flag.clone();
    builder.set_session_cache_mode(openssl::ssl::SslSessionCacheMode::CLIENT);
    builder
        .set_new_session_callback(move |_, _| f.store(true, std::sync::atomic::Ordering::SeqCst));
    flag
}

/// Reads (nothing is expected) until the session-ticket `flag` is set, bounded by
/// `PEER_TIMEOUT`. TLS 1.2 sends no ticket after the handshake; then this returns at once.
pub fn wait_for_tickets(tls: &mut SslStream<TcpStream>, flag: &std::sync::atomic::AtomicBool) {
    if tls.ssl().version2() != Some(openssl::ssl::SslVersion::TLS1_3) {
        return;
    }
    let deadline = Instant::now() + PEER_TIMEOUT;
    tls.get_ref()
        .set_read_timeout(Some(Duration::from_millis(20)))
        .ok();
    while !flag.load(std::sync::atomic::Ordering::SeqCst) && Instant::now() < deadline {
        // Processes post-handshake messages; the timeout only bounds each attempt. Anything but
        // "no data yet" (data, the server closing, an alert) ends the wait.
        match tls.ssl_read(&mut [0u8; 1]) {
            Err(e) if e.code() == openssl::ssl::ErrorCode::WANT_READ => continue,
            _ => break,
        }
    }
    tls.get_ref().set_read_timeout(Some(PEER_TIMEOUT)).ok();
}
