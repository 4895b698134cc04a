//! How the socket copes with peers that end badly or speak nonsense, with real peers on
//! 127.0.0.1:
//! - the peer ends mid-stream with close_notify, with a bare FIN, or with an RST: everything that
//!   arrived before stays readable (the crate keeps it, unlike Qt before QTBUG-23607), and
//!   `peer_closed_cleanly()` / `io::Read` tell a clean end (`Some(true)`, `Ok(0)`) from a
//!   truncation (`Some(false)`, `Err(UnexpectedEof)`);
//! - garbage instead of a handshake, to the crate as client and as server: OpenSSL's reason in
//!   Qt's "Error during SSL handshake: error:...:SSL routines::<reason>", or
//!   `RemoteHostClosedError` when the peer just closes; never a panic or a hang;
//! - a seeded mutation fuzzer (xorshift, stable toolchain, no dependencies): real handshake
//!   flights from an OpenSSL server (and a real ClientHello), mutated and replayed over TCP;
//! - Qt's disconnect-while-connecting (S42) and close-after-data (S44) against a real peer.

mod common;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::bytes::{Digest, XorShift64, len_and_sha, random_bytes};
use common::external::Proc;
use common::interop::{
    PemFiles, STEP, STEP_MS, accept_within, chain_python_server, crate_server_on, drive_until,
    encrypted_client, listener, python_peer, trusting_client, wait_unconnected,
};
use common::peer::{Peer, acceptor};
use common::pki::pki;
use common::recorder::Recorder;
use qsslsocket::*;

// ---------------------------------------------------------------------------------------------
// The peer ends the connection.

/// A Python server that sends `count` bytes and then ends as `end` says.
fn source(pems: &PemFiles, count: usize, end: &str) -> (Proc, u16) {
    let count = count.to_string();
    chain_python_server(
        pems,
        &["--action", "source", "--count", &count, "--end", end],
    )
}

/// Reads with `io::Read` until it returns `Ok(0)` or an error; returns the data and the end.
fn read_until_end(s: &mut SslSocket) -> (Vec<u8>, std::io::Result<()>) {
    let mut data = Vec::new();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match Read::read(s, &mut buf) {
            Ok(0) => return (data, Ok(())),
            Ok(n) => data.extend_from_slice(&buf[..n]),
            Err(e) => return (data, Err(e)),
        }
    }
}

/// close_notify in the middle of the stream (the peer then waits for ours): every byte before it
/// is read, `io::Read` ends with `Ok(0)` (and stays there), the connection is still up until the
/// crate answers.
#[test]
fn close_notify_mid_stream_io_read() {
    let pems = PemFiles::new();
    let (mut py, port) = source(&pems, 300_000, "close_notify");
    let mut s = encrypted_client(port);
    let (data, end) = read_until_end(&mut s);
    end.expect("close_notify is a clean end: Ok(0)");
    assert_eq!(len_and_sha(&data), py.expect_value("SENT", STEP));
    assert_eq!(s.peer_closed_cleanly(), Some(true));
    assert_eq!(Read::read(&mut s, &mut [0u8; 8]).unwrap(), 0, "Ok(0) again");
    assert_eq!(s.state(), SocketState::ConnectedState);
    assert_eq!(s.error(), SocketError::RemoteHostClosedError);
    assert_eq!(s.error_string(), "The TLS/SSL connection has been closed");
    assert_eq!(
        s.read(&mut [0u8; 8]),
        0,
        "Qt's read(): connected, nothing buffered"
    );
    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
    assert_eq!(py.expect_value("PEER_END", STEP), "close_notify");
    assert_eq!(s.read(&mut [0u8; 8]), -1);
}

/// close_notify and FIN at once (Qt's disconnectFromHost on the peer), read with `io::Read`.
#[test]
fn close_notify_and_fin_io_read() {
    let pems = PemFiles::new();
    let (mut py, port) = source(&pems, 300_000, "close_notify_fin");
    let mut s = encrypted_client(port);
    let (data, end) = read_until_end(&mut s);
    end.expect("close_notify is a clean end: Ok(0)");
    assert_eq!(len_and_sha(&data), py.expect_value("SENT", STEP));
    assert_eq!(s.peer_closed_cleanly(), Some(true));
    assert!(wait_unconnected(&mut s, STEP));
    assert_eq!(s.error(), SocketError::RemoteHostClosedError);
    assert_eq!(s.error_string(), "The remote host closed the connection");
    assert_eq!(s.peer_closed_cleanly(), Some(true));
    assert_eq!(Read::read(&mut s, &mut [0u8; 8]).unwrap(), 0);
}

/// A FIN without close_notify: all the data is readable, then `io::Read` reports the truncation
/// as `UnexpectedEof`, and `peer_closed_cleanly()` is `Some(false)`.
#[test]
fn fin_without_close_notify_io_read() {
    let pems = PemFiles::new();
    let (mut py, port) = source(&pems, 300_000, "fin");
    let mut s = encrypted_client(port);
    let (data, end) = read_until_end(&mut s);
    let e = end.expect_err("a FIN without close_notify is a truncation");
    assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof, "{e}");
    assert_eq!(len_and_sha(&data), py.expect_value("SENT", STEP));
    assert_eq!(s.peer_closed_cleanly(), Some(false));
    assert_eq!(s.state(), SocketState::UnconnectedState);
    assert_eq!(s.error(), SocketError::RemoteHostClosedError);
    assert_eq!(
        Read::read(&mut s, &mut [0u8; 8]).unwrap_err().kind(),
        std::io::ErrorKind::UnexpectedEof,
        "and again"
    );
}

/// A FIN without close_notify, read with Qt's API after `disconnected`: everything is there.
#[test]
fn fin_without_close_notify_read_after_disconnected() {
    let pems = PemFiles::new();
    let (mut py, port) = source(&pems, 300_000, "fin");
    let mut s = encrypted_client(port);
    assert!(
        s.state() == SocketState::UnconnectedState || s.wait_for_disconnected(STEP_MS),
        "{}",
        s.error_string()
    );
    let data = s.read_all();
    assert_eq!(len_and_sha(&data), py.expect_value("SENT", STEP));
    assert_eq!(s.read(&mut [0u8; 1]), -1);
    assert_eq!(s.peer_closed_cleanly(), Some(false));
    assert_eq!(s.error(), SocketError::RemoteHostClosedError);
}

/// An RST once the data was delivered (the peer waits until its kernel's send queue is empty):
/// the data received before the reset stays readable; the end is a truncation.
#[test]
fn rst_after_data() {
    let pems = PemFiles::new();
    let (mut py, port) = source(&pems, 300_000, "rst");
    let mut s = encrypted_client(port);
    let rec = Recorder::attach(&mut s);
    assert!(
        s.state() == SocketState::UnconnectedState || s.wait_for_disconnected(STEP_MS),
        "{}",
        s.error_string()
    );
    assert_eq!(py.expect_value("END", STEP), "rst acked");
    let data = s.read_all();
    assert_eq!(len_and_sha(&data), py.expect_value("SENT", STEP));
    assert_eq!(s.peer_closed_cleanly(), Some(false));
    assert_eq!(
        s.error(),
        SocketError::RemoteHostClosedError,
        "{}",
        s.error_string()
    );
    assert_eq!(
        Read::read(&mut s, &mut [0u8; 8]).unwrap_err().kind(),
        std::io::ErrorKind::UnexpectedEof
    );
    let signals = rec.signals();
    assert_eq!(
        signals
            .iter()
            .filter(|e| e.starts_with("errorOccurred"))
            .count(),
        1,
        "{signals:?}"
    );
    assert_eq!(signals.last().map(String::as_str), Some("disconnected"));
}

/// The crate as server: a Python client uploads and then ends with a bare FIN.
#[test]
fn crate_server_client_fin_without_close_notify() {
    let pems = PemFiles::new();
    let (l, port) = listener();
    let port_s = port.to_string();
    let mut py = python_peer(
        "client",
        &[
            "--port",
            &port_s,
            "--ca",
            pems.root.to_str().unwrap(),
            "--action",
            "source",
            "--count",
            "200000",
            "--end",
            "fin",
        ],
    );
    let mut s = crate_server_on(accept_within(&l, STEP));
    s.start_server_encryption();
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    let (data, end) = read_until_end(&mut s);
    assert_eq!(
        end.expect_err("truncated").kind(),
        std::io::ErrorKind::UnexpectedEof
    );
    assert_eq!(len_and_sha(&data), py.expect_value("SENT", STEP));
    assert_eq!(s.peer_closed_cleanly(), Some(false));
}

// ---------------------------------------------------------------------------------------------
// Garbage instead of a handshake.

#[derive(Debug)]
enum Expect {
    /// `SslHandshakeFailedError` with "Error during SSL handshake: error:0A...:SSL routines::"
    /// followed by this reason.
    Reason(&'static str),
    /// The peer closed: `RemoteHostClosedError`, "The remote host closed the connection".
    RemoteClosed,
}

fn http_400() -> Vec<u8> {
    b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\nContent-Type: text/html\r\n\
      Content-Length: 11\r\nConnection: close\r\n\r\nBad Request"
        .to_vec()
}

/// A handshake record header (TLS 1.2) announcing `len` bytes, followed by `body`.
fn record(len: u16, body: &[u8]) -> Vec<u8> {
    let mut v = vec![0x16, 0x03, 0x03];
    v.extend_from_slice(&len.to_be_bytes());
    v.extend_from_slice(body);
    v
}

fn assert_outcome(s: &SslSocket, expect: &Expect, case: &str) {
    assert_eq!(s.state(), SocketState::UnconnectedState, "{case}");
    assert!(!s.is_encrypted(), "{case}");
    match expect {
        Expect::Reason(reason) => {
            assert_eq!(
                s.error(),
                SocketError::SslHandshakeFailedError,
                "{case}: {}",
                s.error_string()
            );
            let text = s.error_string();
            let rest = text
                .strip_prefix("Error during SSL handshake: error:0A")
                .unwrap_or_else(|| panic!("{case}: {text}"));
            assert!(
                rest.ends_with(&format!(":SSL routines::{reason}")),
                "{case}: {text}"
            );
        }
        Expect::RemoteClosed => {
            assert_eq!(s.error(), SocketError::RemoteHostClosedError, "{case}");
            assert_eq!(
                s.error_string(),
                "The remote host closed the connection",
                "{case}"
            );
        }
    }
}

/// The garbage cases for a crate client (what a server sends after the ClientHello), each with
/// whether the peer then closes, and the expected outcome.
fn client_cases() -> Vec<(&'static str, Vec<u8>, bool, Expect)> {
    vec![
        (
            "random bytes",
            random_bytes(1, 512),
            false,
            Expect::Reason("wrong version number"),
        ),
        (
            "HTTP/1.1 400 reply",
            http_400(),
            false,
            Expect::Reason("wrong version number"),
        ),
        (
            "huge record length",
            record(0xffff, &random_bytes(2, 64)),
            false,
            Expect::Reason("packet length too long"),
        ),
        (
            "record just over the limit",
            record(16384 + 2048 + 1, &[]),
            false,
            Expect::Reason("packet length too long"),
        ),
        (
            // OpenSSL tolerates a few empty records and waits for more.
            "one empty handshake record, then close",
            record(0, &[]),
            true,
            Expect::RemoteClosed,
        ),
        (
            "40 empty handshake records",
            record(0, &[]).repeat(40),
            false,
            Expect::Reason("record too small"),
        ),
        (
            "truncated record, then close",
            record(100, &random_bytes(3, 10)),
            true,
            Expect::RemoteClosed,
        ),
        (
            "fatal alert record",
            vec![0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28],
            false,
            Expect::Reason("sslv3 alert handshake failure"),
        ),
        (
            "ServerHello with garbage body",
            record(
                64,
                &[&[0x02, 0x00, 0x00, 0x3c][..], &random_bytes(4, 60)].concat(),
            ),
            false,
            Expect::Reason("length mismatch"),
        ),
        (
            "nothing, then close",
            Vec::new(),
            true,
            Expect::RemoteClosed,
        ),
    ]
}

/// A raw TCP server that reads the ClientHello, sends `garbage`, and closes (at once if `close`,
/// else once the client has closed).
fn garbage_server(garbage: Vec<u8>, close: bool) -> Peer {
    Peer::spawn(move |mut tcp, log| {
        let mut buf = [0u8; 16 * 1024];
        let n = tcp.read(&mut buf).unwrap_or(0);
        log.push(format!("client hello {n} bytes"));
        let _ = tcp.write_all(&garbage);
        if close {
            return;
        }
        let mut rest = Vec::new();
        let _ = tcp.read_to_end(&mut rest);
        log.push(format!("client closed after {} more bytes", rest.len()));
    })
}

#[test]
fn garbage_from_server() {
    for (case, garbage, close, expect) in client_cases() {
        let peer = garbage_server(garbage, close);
        let mut s = trusting_client();
        let rec = Recorder::attach(&mut s);
        s.connect_to_host_encrypted("127.0.0.1", peer.port);
        let started = Instant::now();
        assert!(!s.wait_for_encrypted(STEP_MS), "{case}");
        assert!(started.elapsed() < STEP, "{case}: no hang");
        assert_outcome(&s, &expect, case);
        let signals = rec.signals();
        assert!(!signals.contains(&"encrypted".to_string()), "{case}");
        assert!(
            signals.contains(&"disconnected".to_string()),
            "{case}: {signals:?}"
        );
        let log = peer.join();
        assert!(
            log.events.iter().any(|e| e.starts_with("client hello")),
            "{case}: {:?}",
            log.events
        );
    }
}

/// A truncated record and silence: the handshake waits (a bounded wait times out, the
/// connection stays up) until the peer closes.
#[test]
fn truncated_record_then_silence() {
    let (l, port) = listener();
    let mut s = trusting_client();
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(s.wait_for_connected(STEP_MS));
    let mut peer = accept_within(&l, STEP);
    peer.write_all(&record(300, &[0x02; 20])).unwrap();
    assert!(!s.wait_for_encrypted(300));
    assert_eq!(s.error(), SocketError::SocketTimeoutError);
    assert_eq!(s.state(), SocketState::ConnectedState);
    peer.shutdown(Shutdown::Both).unwrap();
    assert!(!s.wait_for_encrypted(STEP_MS));
    assert_outcome(&s, &Expect::RemoteClosed, "truncated then FIN");
}

/// The garbage cases for a crate server (what a client sends instead of a ClientHello).
fn server_cases() -> Vec<(&'static str, Vec<u8>, Expect)> {
    vec![
        (
            "HTTP GET",
            b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n".to_vec(),
            Expect::Reason("http request"),
        ),
        (
            "HTTP CONNECT",
            b"CONNECT localhost:443 HTTP/1.1\r\n\r\n".to_vec(),
            Expect::Reason("https proxy request"),
        ),
        (
            "random bytes",
            random_bytes(5, 512),
            Expect::Reason("wrong version number"),
        ),
        (
            "huge record length",
            record(0xffff, &random_bytes(6, 64)),
            Expect::Reason("packet length too long"),
        ),
        (
            "ClientHello with garbage body",
            record(
                64,
                &[&[0x01, 0x00, 0x00, 0x3c][..], &random_bytes(7, 60)].concat(),
            ),
            Expect::Reason("length mismatch"),
        ),
        (
            "truncated record, then close",
            record(100, &random_bytes(8, 10)),
            Expect::RemoteClosed,
        ),
        ("nothing, then close", Vec::new(), Expect::RemoteClosed),
    ]
}

#[test]
fn garbage_to_server() {
    for (case, garbage, expect) in server_cases() {
        let (l, port) = listener();
        let mut raw = TcpStream::connect(("127.0.0.1", port)).unwrap();
        raw.set_read_timeout(Some(STEP)).unwrap();
        let mut s = crate_server_on(accept_within(&l, STEP));
        let rec = Recorder::attach(&mut s);
        s.start_server_encryption();
        raw.write_all(&garbage).unwrap();
        raw.shutdown(Shutdown::Write).unwrap();
        let started = Instant::now();
        assert!(!s.wait_for_encrypted(STEP_MS), "{case}");
        assert!(started.elapsed() < STEP, "{case}: no hang");
        assert_outcome(&s, &expect, case);
        let signals = rec.signals();
        assert!(
            signals.contains(&"disconnected".to_string()),
            "{case}: {signals:?}"
        );
        // What the crate sent back: a TLS alert record (or nothing), never plaintext.
        let mut back = Vec::new();
        let _ = raw.read_to_end(&mut back);
        assert!(
            back.is_empty() || back[0] == 0x15 || back[0] == 0x16,
            "{case}: {back:02x?}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Mutation fuzzing with real flights.

/// An in-memory transport for recording what an OpenSSL server answers to one ClientHello.
#[derive(Debug)]
struct MemIo {
    input: Vec<u8>,
    pos: usize,
    output: Vec<u8>,
}

impl Read for MemIo {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.pos >= self.input.len() {
            return Err(std::io::ErrorKind::WouldBlock.into());
        }
        let n = buf.len().min(self.input.len() - self.pos);
        buf[..n].copy_from_slice(&self.input[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Write for MemIo {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.output.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Reads one TLS record (header and body) from a blocking stream.
fn read_record(tcp: &mut TcpStream) -> Vec<u8> {
    let mut header = [0u8; 5];
    tcp.read_exact(&mut header).expect("record header");
    let len = u16::from_be_bytes([header[3], header[4]]) as usize;
    let mut body = vec![0u8; len];
    tcp.read_exact(&mut body).expect("record body");
    [&header[..], &body].concat()
}

/// A crate client's real ClientHello for `protocol`.
fn capture_client_hello(protocol: SslProtocol) -> Vec<u8> {
    let (l, port) = listener();
    let mut s = trusting_client();
    s.set_protocol(protocol);
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(s.wait_for_connected(STEP_MS));
    s.flush();
    let mut tcp = accept_within(&l, STEP);
    tcp.set_read_timeout(Some(STEP)).unwrap();
    let hello = read_record(&mut tcp);
    assert_eq!(hello[0], 0x16, "a handshake record");
    assert_eq!(hello[5], 0x01, "a ClientHello");
    s.abort();
    hello
}

/// What an OpenSSL server (the standard chain) answers to `client_hello`: its whole first
/// flight, recorded in memory.
fn record_server_flight(client_hello: &[u8]) -> Vec<u8> {
    let p = pki();
    let acc = acceptor(&p.leaf, &[&p.intermediate], |_| {});
    let ssl = openssl::ssl::Ssl::new(acc.context()).unwrap();
    let io = MemIo {
        input: client_hello.to_vec(),
        pos: 0,
        output: Vec::new(),
    };
    match ssl.accept(io) {
        Err(openssl::ssl::HandshakeError::WouldBlock(mid)) => mid.get_ref().output.clone(),
        Err(e) => panic!("recording the server flight: {e}"),
        Ok(_) => panic!("the server cannot finish without the client's second flight"),
    }
}

/// TLS 1.3 servers echo the client's legacy session id: a replayed ServerHello gets the new
/// client's, so that the run gets past that check (to the key schedule and record decryption).
fn echo_session_id(flight: &[u8], client_hello: &[u8]) -> Vec<u8> {
    // Record header (5), handshake header (4), version (2), random (32), then the id's length.
    const SID: usize = 5 + 4 + 2 + 32;
    let mut v = flight.to_vec();
    if let (Some(&n), Some(&m)) = (client_hello.get(SID), v.get(SID)) {
        let n = n as usize;
        if n > 0 && n == m as usize && client_hello.len() > SID + n && v.len() > SID + n {
            v[SID + 1..SID + 1 + n].copy_from_slice(&client_hello[SID + 1..SID + 1 + n]);
        }
    }
    v
}

/// Offsets of the record headers in `data` (as far as they parse).
fn record_offsets(data: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut at = 0;
    while at + 5 <= data.len() {
        offsets.push(at);
        at += 5 + u16::from_be_bytes([data[at + 3], data[at + 4]]) as usize;
    }
    offsets
}

/// One to four random mutations of `input`.
fn mutate(rng: &mut XorShift64, input: &[u8]) -> Vec<u8> {
    const INTERESTING: [u8; 7] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0x16];
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        if v.is_empty() {
            v.push(rng.next_u64() as u8);
        }
        let at = rng.below(v.len());
        match rng.below(9) {
            0 => v[at] ^= 1 << rng.below(8),
            1 => v[at] = rng.next_u64() as u8,
            2 => v[at] = INTERESTING[rng.below(INTERESTING.len())],
            3 => {
                let n = 1 + rng.below(16);
                let extra = rng.bytes(n);
                v.splice(at..at, extra);
            }
            4 => {
                let end = (at + 1 + rng.below(64)).min(v.len());
                v.drain(at..end);
            }
            5 => v.truncate(at),
            6 => {
                let len = (1 + rng.below(64)).min(v.len() - at);
                let chunk = v[at..at + len].to_vec();
                let to = rng.below(v.len());
                v.splice(to..to, chunk);
            }
            7 => {
                // A 16-bit length-like field.
                if at + 2 <= v.len() {
                    let value: u16 = match rng.below(4) {
                        0 => 0,
                        1 => 0xffff,
                        2 => u16::from_be_bytes([v[at], v[at + 1]]).wrapping_add(1),
                        _ => u16::from_be_bytes([v[at], v[at + 1]]).wrapping_sub(1),
                    };
                    v[at..at + 2].copy_from_slice(&value.to_be_bytes());
                }
            }
            _ => {
                // A record header: type, version or length.
                let offsets = record_offsets(&v);
                if !offsets.is_empty() {
                    let h = offsets[rng.below(offsets.len())];
                    let field = h + rng.below(5);
                    v[field] = match rng.below(3) {
                        0 => INTERESTING[rng.below(INTERESTING.len())],
                        1 => v[field].wrapping_add(1),
                        _ => rng.next_u64() as u8,
                    };
                }
            }
        }
    }
    v
}

/// Classifies how a fuzzed handshake ended, checking that it did end properly.
fn outcome(s: &SslSocket, what: &str) -> String {
    if s.is_encrypted() {
        return "encrypted".into();
    }
    assert_eq!(s.state(), SocketState::UnconnectedState, "{what}");
    let text = s.error_string();
    match s.error() {
        SocketError::SslHandshakeFailedError => {
            assert!(!text.is_empty(), "{what}");
            text.rsplit("::")
                .next()
                .map_or(text.clone(), |reason| format!("handshake: {reason}"))
        }
        SocketError::RemoteHostClosedError => "remote closed".into(),
        other => panic!("{what}: unexpected {other:?} ({text})"),
    }
}

/// Drives `s` until its handshake is over (encrypted or unconnected); panics on a hang.
fn finish_handshake(s: &mut SslSocket, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !s.is_encrypted() && s.state() != SocketState::UnconnectedState {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "{what}: the handshake hangs ({:?})",
            s.state()
        );
        s.wait_for_encrypted(left.as_millis().max(1) as i32);
    }
}

/// Mutated server flights (TLS 1.2: ServerHello, Certificate, ServerKeyExchange, ServerHelloDone
/// in the clear; TLS 1.3: ServerHello, then encrypted records) replayed to fresh crate clients
/// over TCP, the peer closing after its flight. Every run must end (error or success) without a
/// panic or a hang. Bounded by iterations and by time.
#[test]
fn fuzz_mutated_server_flights() {
    const ITERATIONS: usize = 500;
    const BUDGET: Duration = Duration::from_secs(25);
    let flights: Vec<(SslProtocol, Vec<u8>)> = [SslProtocol::TlsV1_2, SslProtocol::TlsV1_3]
        .into_iter()
        .map(|p| (p, record_server_flight(&capture_client_hello(p))))
        .collect();
    for (p, flight) in &flights {
        assert!(
            record_offsets(flight).len() >= 2,
            "{p:?}: a multi-record flight"
        );
    }
    let (l, port) = listener();
    let mut rng = XorShift64::new(0x5eed_f1a9);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let started = Instant::now();
    let mut done = 0;
    while done < ITERATIONS && started.elapsed() < BUDGET {
        let (protocol, flight) = &flights[done % flights.len()];
        let mut s = trusting_client();
        s.set_protocol(*protocol);
        if rng.one_in(2) {
            // Go as deep as possible: verification errors do not stop the handshake.
            s.on_ssl_errors(|s, _| s.ignore_ssl_errors());
        }
        s.connect_to_host_encrypted("127.0.0.1", port);
        assert!(s.wait_for_connected(STEP_MS), "iteration {done}");
        s.flush();
        let mut peer = accept_within(&l, STEP);
        peer.set_read_timeout(Some(STEP)).unwrap();
        let hello = read_record(&mut peer);
        let mutated = mutate(&mut rng, &echo_session_id(flight, &hello));
        let what = format!("iteration {done} ({protocol:?}, {} bytes)", mutated.len());
        let _ = peer.write_all(&mutated);
        let _ = peer.shutdown(Shutdown::Write);
        finish_handshake(&mut s, &what);
        *outcomes.entry(outcome(&s, &what)).or_default() += 1;
        s.abort();
        done += 1;
    }
    eprintln!(
        "fuzz_mutated_server_flights: {done} runs in {:?}: {outcomes:#?}",
        started.elapsed()
    );
    assert!(done >= 100, "only {done} iterations in {BUDGET:?}");
    assert!(
        outcomes.len() >= 3,
        "the mutations reach different code paths: {outcomes:?}"
    );
}

/// Mutated ClientHellos (TLS 1.2 and 1.3 offers of a real crate client) sent to fresh crate
/// servers; every run must end without a panic or a hang.
#[test]
fn fuzz_mutated_client_hellos() {
    const ITERATIONS: usize = 300;
    const BUDGET: Duration = Duration::from_secs(20);
    let hellos: Vec<Vec<u8>> = [SslProtocol::TlsV1_2, SslProtocol::AnyProtocol]
        .into_iter()
        .map(capture_client_hello)
        .collect();
    let (l, port) = listener();
    let mut rng = XorShift64::new(0x00c1_1e27);
    let mut outcomes: BTreeMap<String, usize> = BTreeMap::new();
    let started = Instant::now();
    let mut done = 0;
    while done < ITERATIONS && started.elapsed() < BUDGET {
        let mutated = mutate(&mut rng, &hellos[done % hellos.len()]);
        let what = format!("iteration {done} ({} bytes)", mutated.len());
        let mut raw = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let mut s = crate_server_on(accept_within(&l, STEP));
        s.start_server_encryption();
        let _ = raw.write_all(&mutated);
        let _ = raw.shutdown(Shutdown::Write);
        finish_handshake(&mut s, &what);
        *outcomes.entry(outcome(&s, &what)).or_default() += 1;
        s.abort();
        done += 1;
    }
    eprintln!(
        "fuzz_mutated_client_hellos: {done} runs in {:?}: {outcomes:#?}",
        started.elapsed()
    );
    assert!(done >= 60, "only {done} iterations in {BUDGET:?}");
    assert!(outcomes.len() >= 3, "{outcomes:?}");
}

// ---------------------------------------------------------------------------------------------
// Qt's close semantics with a real peer.

/// S42 (Qt's `disconnectFromHostWhenConnecting`): a line written right after
/// `connect_to_host_encrypted`, then `disconnect_from_host` while still connecting: the state
/// does not change at once; the handshake completes, the line is delivered, then the connection
/// closes gracefully. The device stays open, and a later `write` still returns its length.
#[test]
fn disconnect_while_connecting() {
    let pems = PemFiles::new();
    let (mut py, port) = chain_python_server(&pems, &["--action", "sink"]);
    let mut s = trusting_client();
    let rec = Recorder::attach(&mut s);
    s.connect_to_host_encrypted("127.0.0.1", port);
    let connecting = s.state();
    assert!(
        matches!(
            connecting,
            SocketState::HostLookupState | SocketState::ConnectingState
        ),
        "{connecting:?}"
    );
    assert_eq!(s.write(b"XXXX LOGOUT\r\n"), 13);
    s.ignore_ssl_errors();
    s.disconnect_from_host();
    assert_eq!(s.state(), connecting, "unchanged at once");
    assert!(
        s.state() == SocketState::UnconnectedState || s.wait_for_disconnected(STEP_MS),
        "{}",
        s.error_string()
    );
    assert_eq!(s.state(), SocketState::UnconnectedState);
    assert!(s.is_open());
    assert_eq!(s.bytes_to_write(), 0);
    assert_eq!(
        py.expect_value("RECEIVED", STEP),
        len_and_sha(b"XXXX LOGOUT\r\n")
    );
    assert_eq!(py.expect_value("PEER_END", STEP), "close_notify");
    let signals = rec.signals();
    let encrypted = signals.iter().position(|e| e == "encrypted").unwrap();
    let closing = signals
        .iter()
        .position(|e| e == "stateChanged ClosingState")
        .unwrap();
    assert!(encrypted < closing, "{signals:?}");
    assert_eq!(signals.last().map(String::as_str), Some("disconnected"));
    assert!(
        !signals.iter().any(|e| e.starts_with("errorOccurred")),
        "{signals:?}"
    );
    assert_eq!(s.write(b"late"), 4, "Qt: the device is still open");
}

/// S44 (Qt's `readFromClosedSocket`): data has arrived, `close()` flushes what is queued without
/// blocking, clears both buffers and closes at once; the peer gets close_notify.
#[test]
fn close_after_data_received() {
    let pems = PemFiles::new();
    let (mut py, port) = source(&pems, 1000, "wait");
    let mut s = encrypted_client(port);
    assert!(drive_until(&mut s, STEP, |s| s.bytes_available() == 1000));
    s.write(b"bye");
    assert_eq!(s.bytes_to_write(), 3);
    s.close();
    assert_eq!(s.bytes_available(), 0);
    assert_eq!(s.bytes_to_write(), 0);
    assert_eq!(s.state(), SocketState::UnconnectedState);
    assert!(!s.is_open());
    assert_eq!(s.read(&mut [0u8; 4]), -1);
    assert_eq!(s.write(b"x"), -1, "closed device");
    assert_eq!(py.expect_value("PEER_END", STEP), "close_notify");
    let sent = py.expect_value("SENT", STEP);
    assert!(sent.starts_with("1000 "), "{sent}");
}

/// A graceful close must not lose data that is still in the kernel's send queue when the peer
/// sends something after the close (here: a line; in practice TLS 1.3 session tickets sent by a
/// server once it reads the client's Finished, which leaves with the client's first data).
///
/// The peer does not read until the client has closed, so most of the 2 MiB the client wrote
/// (all of it accepted by its kernel: `bytes_to_write()` and `encrypted_bytes_to_write()` are 0,
/// `disconnected` was emitted) is still queued in the client's kernel. Then the peer writes.
/// The closed socket lingers (src/socket/linger.rs), so the late line is read and discarded
/// instead of being answered with a reset that would drop the queued data.
#[test]
fn graceful_close_keeps_queued_data_when_peer_writes_late() {
    const SIZE: usize = 2 * 1024 * 1024;
    let p = pki();
    // TLS 1.2: no session tickets, so the peer's line is the only late data.
    let acc = acceptor(&p.leaf, &[&p.intermediate], |b| {
        b.set_max_proto_version(Some(openssl::ssl::SslVersion::TLS1_2))
            .unwrap();
    });
    let (closed_tx, closed_rx) = std::sync::mpsc::channel::<()>();
    let peer = Peer::spawn(move |tcp, log| {
        let Some(mut s) = common::peer::tls_accept(&acc, tcp, log) else {
            return;
        };
        if closed_rx.recv_timeout(common::peer::PEER_TIMEOUT).is_err() {
            log.push("the client did not close");
            return;
        }
        let _ = s.write_all(b"late\n");
        let mut total = 0usize;
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            match s.ssl_read(&mut buf) {
                Ok(n) => total += n,
                Err(e) if e.code() == openssl::ssl::ErrorCode::ZERO_RETURN => {
                    log.push("close_notify");
                    break;
                }
                Err(e) => {
                    log.push(format!("error: {e}"));
                    break;
                }
            }
        }
        log.push(format!("received {total}"));
    });
    let mut s = trusting_client();
    s.set_socket_option(SocketOption::SendBufferSizeSocketOption, 4 * 1024 * 1024);
    s.connect_to_host_encrypted("127.0.0.1", peer.port);
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    let data = random_bytes(12, SIZE);
    assert_eq!(s.write(&data), SIZE as i64);
    while s.bytes_to_write() > 0 || s.encrypted_bytes_to_write() > 0 {
        assert!(s.wait_for_bytes_written(STEP_MS), "{}", s.error_string());
    }
    s.disconnect_from_host();
    assert!(wait_unconnected(&mut s, STEP));
    closed_tx.send(()).unwrap();
    let log = peer.join();
    assert!(
        log.events.contains(&format!("received {SIZE}")),
        "{:?}",
        log.events
    );
    assert!(
        log.events.contains(&"close_notify".to_string()),
        "{:?}",
        log.events
    );
}

/// Sanity of the fuzzer's PRNG and digest helpers (they define what the tests compare).
#[test]
fn helpers_are_deterministic() {
    assert_eq!(random_bytes(42, 100), random_bytes(42, 100));
    assert_ne!(random_bytes(42, 100), random_bytes(43, 100));
    let mut d = Digest::default();
    d.update(b"ab");
    d.update(b"c");
    assert_eq!(
        d.finish(),
        "3 ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
}
