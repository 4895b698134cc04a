//! How a stream ends, at every record boundary: a peer on the `openssl` crate sends N bytes
//! (0, 1, 16383, 16384, 16385 and 1 MiB: around one full TLS record) and ends with close_notify
//! and FIN, with a bare FIN, or with a record cut short and FIN. The crate reads it through
//! `io::Read` in chunks of 1, 7, 4096 and 65536 bytes, as client and as server.
//!
//! Every byte sent arrives, in order, before the end is reported; and the end says what it was:
//! `Ok(0)` and `peer_closed_cleanly() == Some(true)` after close_notify, `Err(UnexpectedEof)` and
//! `Some(false)` for a truncation (reliability goal "truncation / close", research/reliability.md
//! §9). On 127.0.0.1; every peer and read is bounded in time.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::thread::JoinHandle;

use common::bytes::random_bytes;
use common::interop::{STEP, STEP_MS, accept_within, crate_server_on, encrypted_client, listener};
use common::peer::{PEER_TIMEOUT, Peer, acceptor, tls_accept};
use common::pki::pki;
use openssl::ssl::{SslConnector, SslMethod, SslStream, SslVerifyMode};
use qsslsocket::*;

const SIZES: [usize; 6] = [0, 1, 16383, 16384, 16385, 1 << 20];
const CHUNKS: [usize; 4] = [1, 7, 4096, 65536];

/// How the peer ends its stream.
#[derive(Clone, Copy, Debug, PartialEq)]
enum End {
    /// close_notify, then FIN.
    CloseNotify,
    /// FIN without close_notify.
    Fin,
    /// The header of an application-data record and part of its body, then FIN.
    CutRecord,
}

/// The peer's side: send `data`, end as `end` says, then read until the crate closes (so that our
/// close never meets unread data and turns into an RST).
fn send_and_end(mut tls: SslStream<TcpStream>, data: &[u8], end: End) {
    tls.write_all(data).expect("peer write");
    tls.flush().expect("peer flush");
    match end {
        End::CloseNotify => {
            tls.shutdown().expect("peer close_notify");
        }
        End::Fin => {}
        End::CutRecord => {
            // Declares 64 bytes of application data and sends 10.
            let cut = [23, 3, 3, 0, 64, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
            tls.get_mut().write_all(&cut).expect("peer cut record");
        }
    }
    let tcp = tls.get_mut();
    tcp.shutdown(Shutdown::Write).expect("peer FIN");
    let mut sink = [0u8; 4096];
    while matches!(tcp.read(&mut sink), Ok(n) if n > 0) {}
}

/// Reads from the crate's socket in `chunk`-byte reads until `Ok(0)` or an error.
fn read_to_end(s: &mut SslSocket, chunk: usize) -> (Vec<u8>, std::io::Result<()>) {
    let mut got = Vec::new();
    let mut buf = vec![0u8; chunk];
    loop {
        match Read::read(s, &mut buf) {
            Ok(0) => return (got, Ok(())),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) => return (got, Err(e)),
        }
    }
}

fn check(s: &mut SslSocket, data: &[u8], end: End, chunk: usize, case: &str) {
    let (got, result) = read_to_end(s, chunk);
    assert!(
        got == data,
        "{case}: read {} bytes of {}, or other bytes ({result:?})",
        got.len(),
        data.len()
    );
    match end {
        End::CloseNotify => {
            assert!(result.is_ok(), "{case}: {result:?}");
            assert_eq!(s.peer_closed_cleanly(), Some(true), "{case}");
        }
        End::Fin | End::CutRecord => {
            let e = result.expect_err(case);
            assert_eq!(e.kind(), ErrorKind::UnexpectedEof, "{case}: {e}");
            assert_eq!(s.peer_closed_cleanly(), Some(false), "{case}");
        }
    }
}

/// The crate as client of a peer server that sends and ends.
fn as_client(end: End) {
    let p = pki();
    let server = acceptor(&p.leaf, &[&p.intermediate], |_| {});
    let data = random_bytes(7, *SIZES.iter().max().expect("sizes"));
    for size in SIZES {
        for chunk in CHUNKS {
            let case = format!("client, {size} bytes then {end:?}, read in {chunk}s");
            let sent = data[..size].to_vec();
            let server = server.clone();
            let peer = Peer::spawn(move |tcp, log| {
                if let Some(tls) = tls_accept(&server, tcp, log) {
                    send_and_end(tls, &sent, end);
                }
            });
            let mut s = encrypted_client(peer.port);
            check(&mut s, &data[..size], end, chunk, &case);
            drop(s);
            let log = peer.join();
            assert!(
                log.events.iter().any(|e| e.starts_with("handshake_ok")),
                "{case}: {log:?}"
            );
        }
    }
}

/// A peer client on its own thread (I/O bounded by `PEER_TIMEOUT`).
fn peer_client(port: u16, data: Vec<u8>, end: End) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let tcp = TcpStream::connect(("127.0.0.1", port)).expect("peer connect");
        tcp.set_read_timeout(Some(PEER_TIMEOUT)).expect("timeout");
        tcp.set_write_timeout(Some(PEER_TIMEOUT)).expect("timeout");
        let mut b = SslConnector::builder(SslMethod::tls()).expect("connector");
        b.set_verify(SslVerifyMode::NONE);
        let tls = b.build().connect("localhost", tcp).expect("peer handshake");
        send_and_end(tls, &data, end);
    })
}

/// The crate as server of a peer client that sends and ends.
fn as_server(end: End) {
    let data = random_bytes(11, *SIZES.iter().max().expect("sizes"));
    let (l, port) = listener();
    for size in SIZES {
        for chunk in CHUNKS {
            let case = format!("server, {size} bytes then {end:?}, read in {chunk}s");
            let peer = peer_client(port, data[..size].to_vec(), end);
            let mut s = crate_server_on(accept_within(&l, STEP));
            s.start_server_encryption();
            assert!(
                s.wait_for_encrypted(STEP_MS),
                "{case}: {}",
                s.error_string()
            );
            check(&mut s, &data[..size], end, chunk, &case);
            drop(s);
            peer.join().expect("peer client");
        }
    }
}

#[test]
fn client_reads_everything_before_close_notify() {
    as_client(End::CloseNotify);
}

#[test]
fn client_reads_everything_before_a_fin_and_reports_the_truncation() {
    as_client(End::Fin);
}

#[test]
fn client_reads_everything_before_a_cut_record_and_reports_the_truncation() {
    as_client(End::CutRecord);
}

#[test]
fn server_reads_everything_before_close_notify() {
    as_server(End::CloseNotify);
}

#[test]
fn server_reads_everything_before_a_fin_and_reports_the_truncation() {
    as_server(End::Fin);
}

#[test]
fn server_reads_everything_before_a_cut_record_and_reports_the_truncation() {
    as_server(End::CutRecord);
}
