//! SslServer under load and abuse: 1,000 concurrent clients echoed by a server in an
//! EventLoop, stalled handshakes dropped at the timeout (slowloris), and clients that send
//! garbage, an HTTP request, a truncated ClientHello or vanish mid-handshake.

mod common;

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::server::*;
use qsslsocket::*;

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

    let (start, cpu) = (Instant::now(), process_cpu());
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
    let (mut peak_fds, mut sampled) = (0, Instant::now());
    let finished = clients.run_until(
        |_| {
            if sampled.elapsed() > Duration::from_millis(100) {
                sampled = Instant::now();
                peak_fds =
                    peak_fds.max(std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count()));
            }
            done.load(Ordering::Relaxed) + failures.lock().unwrap().len() >= CLIENTS
        },
        120_000,
    );
    let elapsed = start.elapsed();
    eprintln!(
        "{CLIENTS} clients x (handshake + 64 KiB echo): {elapsed:?}, process CPU {:?} (both \
         loops and the clients), peak {peak_fds} descriptors, {} at the end",
        process_cpu() - cpu,
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
