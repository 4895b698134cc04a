//! The baseline, perf-limits.md's "rust-stream": the `openssl` crate's blocking
//! `SslStream<TcpStream>`, client and server on two threads of one process, contexts built once.
//!
//! Resumed handshakes offer the previous connection's session with `SslRef::set_session`, the
//! one `unsafe` call outside `src/ffi/` (`ci/layering.sh` allows it in this file only): the
//! baseline is written on the `openssl` crate alone, and that is how the crate offers a session.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use openssl::ssl::{
    Ssl, SslContext, SslContextBuilder, SslMethod, SslMode, SslSession, SslSessionRef, SslStream,
    SslVerifyMode, SslVersion,
};
use serde_json::{Value, json};

use crate::Tls;
use crate::pki::{Loaded, load};
use crate::sys::{process_threads_cpu_ns, thread_cpu_ns};

fn versions(b: &mut SslContextBuilder, tls: Tls) {
    let v = if tls.v13 {
        SslVersion::TLS1_3
    } else {
        SslVersion::TLS1_2
    };
    b.set_min_proto_version(Some(v)).expect("min version");
    b.set_max_proto_version(Some(v)).expect("max version");
    b.set_ciphersuites("TLS_AES_128_GCM_SHA256")
        .expect("TLS 1.3 suite");
    b.set_cipher_list(tls.tls12_cipher())
        .expect("TLS 1.2 cipher");
}

/// A server context with the leaf and key; `release` adds `SSL_MODE_RELEASE_BUFFERS`.
pub(crate) fn server_ctx(pki: &Loaded, tls: Tls, release: bool) -> SslContext {
    let mut b = SslContextBuilder::new(SslMethod::tls_server()).expect("context");
    versions(&mut b, tls);
    b.set_certificate(&pki.leaf).expect("certificate");
    b.set_private_key(&pki.key).expect("key");
    if release {
        b.set_mode(SslMode::RELEASE_BUFFERS);
    }
    b.build()
}

/// A client context that trusts only the benchmark root and verifies the peer.
pub(crate) fn client_ctx(pki: &Loaded, tls: Tls, release: bool) -> SslContext {
    let mut b = SslContextBuilder::new(SslMethod::tls_client()).expect("context");
    versions(&mut b, tls);
    b.cert_store_mut().add_cert(pki.ca.clone()).expect("root");
    b.set_verify(SslVerifyMode::PEER);
    if release {
        b.set_mode(SslMode::RELEASE_BUFFERS);
    }
    b.build()
}

/// TCP connect plus a verifying client handshake (chain and host name `localhost`), offering
/// `session` for resumption if given.
pub(crate) fn connect(
    ctx: &SslContext,
    port: u16,
    session: Option<&SslSessionRef>,
) -> SslStream<TcpStream> {
    let tcp = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).expect("connect");
    tcp.set_nodelay(true).expect("nodelay");
    let mut ssl = Ssl::new(ctx).expect("ssl");
    ssl.set_hostname("localhost").expect("SNI");
    ssl.param_mut().set_host("localhost").expect("host check");
    if let Some(session) = session {
        #[allow(unsafe_code)]
        // SAFETY: `set_session` requires a session from a context with the same SSL method;
        // every session offered here came from a connection made with `ctx` itself.
        unsafe { ssl.set_session(session) }.expect("offer the session");
    }
    ssl.connect(tcp).expect("client handshake")
}

pub(crate) fn accept(ctx: &SslContext, listener: &TcpListener) -> SslStream<TcpStream> {
    let (tcp, _) = listener.accept().expect("accept");
    tcp.set_nodelay(true).expect("nodelay");
    Ssl::new(ctx)
        .expect("ssl")
        .accept(tcp)
        .expect("server handshake")
}

fn listen() -> (TcpListener, u16) {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = l.local_addr().expect("addr").port();
    (l, port)
}

/// 1 GiB (or `bytes`) client to server in `chunk`-sized writes; the clock stops at the server's
/// 1-byte acknowledgement.
pub(crate) fn bulk(dir: &std::path::Path, tls: Tls, bytes: u64, chunk: usize) -> Value {
    let pki = load(dir, tls.kind);
    let sctx = server_ctx(&pki, tls, false);
    let cctx = client_ctx(&pki, tls, false);
    let (listener, port) = listen();
    let server = std::thread::spawn(move || {
        let mut s = accept(&sctx, &listener);
        let c0 = thread_cpu_ns();
        let mut buf = vec![0u8; 64 * 1024];
        let mut got = 0u64;
        while got < bytes {
            let n = s.read(&mut buf).expect("server read");
            assert!(n > 0, "early end of stream");
            got += n as u64;
        }
        s.write_all(&[1]).expect("ack");
        let cpu = thread_cpu_ns() - c0;
        let _ = s.read(&mut buf); // the client's close_notify
        cpu
    });
    let mut s = connect(&cctx, port, None);
    let data = vec![0x5au8; chunk];
    let c0 = thread_cpu_ns();
    let t0 = Instant::now();
    let mut sent = 0u64;
    while sent < bytes {
        let n = chunk.min((bytes - sent) as usize);
        s.write_all(&data[..n]).expect("client write");
        sent += n as u64;
    }
    let mut ack = [0u8; 1];
    s.read_exact(&mut ack).expect("ack");
    let secs = t0.elapsed().as_secs_f64();
    let client_cpu = thread_cpu_ns() - c0;
    let cipher = s.ssl().current_cipher().map(|c| c.name()).unwrap_or("?");
    let cipher = cipher.to_owned();
    let _ = s.shutdown();
    drop(s);
    let server_cpu = server.join().expect("server thread");
    json!({"secs": secs, "cpu_s": (client_cpu + server_cpu) as f64 / 1e9, "cipher": cipher})
}

/// Sequential connections for `seconds`: TCP connect, handshake, 1 byte each way, close_notify
/// from the client, close. With `resume`, each connection offers the session of the one before
/// (taken after the 1-byte read, so TLS 1.3 tickets have arrived).
pub(crate) fn handshakes(dir: &std::path::Path, tls: Tls, seconds: f64, resume: bool) -> Value {
    let pki = load(dir, tls.kind);
    let sctx = server_ctx(&pki, tls, false);
    let cctx = client_ctx(&pki, tls, false);
    let (listener, port) = listen();
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let server = std::thread::spawn(move || {
        let mut failures = 0u64;
        loop {
            let (tcp, _) = listener.accept().expect("accept");
            if stop2.load(Ordering::SeqCst) {
                break;
            }
            tcp.set_nodelay(true).expect("nodelay");
            let ssl = Ssl::new(&sctx).expect("ssl");
            match ssl.accept(tcp) {
                Ok(mut s) => {
                    let mut b = [0u8; 1];
                    if s.read_exact(&mut b).is_err()
                        || s.write_all(&b).is_err()
                        || !matches!(s.read(&mut b), Ok(0))
                    {
                        failures += 1;
                    }
                }
                Err(_) => failures += 1,
            }
        }
        failures
    });
    // The whole process, as for the crate (see `krate::handshakes`).
    let c0 = process_threads_cpu_ns();
    let t0 = Instant::now();
    let deadline = t0 + Duration::from_secs_f64(seconds);
    let mut count = 0u64;
    let mut reused = 0u64;
    let mut session: Option<SslSession> = None;
    while Instant::now() < deadline {
        let mut s = connect(&cctx, port, session.as_deref());
        s.write_all(&[7]).expect("write");
        let mut b = [0u8; 1];
        s.read_exact(&mut b).expect("read");
        reused += u64::from(s.ssl().session_reused());
        if resume {
            session = s.ssl().session().map(ToOwned::to_owned);
        }
        s.shutdown().expect("close_notify");
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

/// `warm` untimed then `iters` timed 1-byte round trips; returns the round-trip times in µs.
pub(crate) fn ping_pong(dir: &std::path::Path, tls: Tls, warm: usize, iters: usize) -> Value {
    let pki = load(dir, tls.kind);
    let sctx = server_ctx(&pki, tls, false);
    let cctx = client_ctx(&pki, tls, false);
    let (listener, port) = listen();
    let total = warm + iters;
    let server = std::thread::spawn(move || {
        let mut s = accept(&sctx, &listener);
        let mut b = [0u8; 1];
        for _ in 0..total {
            s.read_exact(&mut b).expect("server read");
            s.write_all(&b).expect("server write");
        }
        let _ = s.read(&mut b);
    });
    let mut s = connect(&cctx, port, None);
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
    let _ = s.shutdown();
    drop(s);
    server.join().expect("server thread");
    json!({"rtt_us": rtts})
}
