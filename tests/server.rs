//! SslServer: listening, the blocking flow, the pending limit, the incoming-connection hook,
//! server-level signals, and accept errors.

mod common;

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv6Addr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::pki::pki;
use common::server::*;
use openssl::ssl::{SslConnector, SslMethod};
use qsslsocket::*;

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
        assert!(socket.set_socket_descriptor(fd, SocketState::ConnectedState, OpenMode::ReadWrite));
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

/// In an event loop, a connection the server cannot set up never joins the loop: it shows only
/// in the server's `on_error_occurred`, where `EventLoop::current_socket_id()` is `None` (what
/// `qssl serve` relies on to report and count it).
#[test]
fn in_a_loop_a_connection_that_cannot_be_set_up_shows_only_in_error_occurred() {
    let mut config = server_config();
    config.set_private_key(SslKey::default());
    let mut server = SslServer::new();
    server.set_ssl_configuration(config);
    let errors = Arc::new(Mutex::new(Vec::new()));
    let sink = errors.clone();
    server.on_error_occurred(move |s, e| {
        sink.lock()
            .unwrap()
            .push((e, EventLoop::current_socket_id(), s.error_string()));
    });
    let new_connections = Arc::new(AtomicUsize::new(0));
    let count = new_connections.clone();
    server.on_new_connection(move |_| {
        count.fetch_add(1, Ordering::Relaxed);
    });
    assert!(server.listen(LOCALHOST, 0));
    let port = server.port_for_test();
    let mut event_loop = EventLoop::new();
    let server_id = event_loop.add_server(server);
    let tcp = TcpStream::connect((LOCALHOST, port)).unwrap();
    // The round that ran the slot does not then sleep until the time limit: a dropped
    // connection is work the caller may be waiting for.
    let seen = errors.clone();
    let start = Instant::now();
    assert!(
        event_loop.run_until(move |_| !seen.lock().unwrap().is_empty(), 20_000),
        "no error reported"
    );
    assert!(
        start.elapsed() < Duration::from_secs(10),
        "run_until saw the error only after {:?}",
        start.elapsed()
    );
    let errors = errors.lock().unwrap().clone();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, SocketError::SslInvalidUserDataError);
    assert_eq!(errors[0].1, None, "not a socket of the loop");
    assert_eq!(new_connections.load(Ordering::Relaxed), 0);
    assert!(event_loop.sockets_of(server_id).is_empty());
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

#[test]
fn server_slots_run_for_sockets_driven_on_other_threads() {
    const CLIENTS: usize = 4;
    let mut server = SslServer::new();
    server.set_ssl_configuration(server_config());
    let encrypted = Arc::new(Mutex::new(Vec::new()));
    let sink = encrypted.clone();
    server.on_encrypted(move |s| {
        sink.lock().unwrap().push(std::thread::current().id());
        s.write(b"welcome\n");
    });
    assert!(server.listen(LOCALHOST, 0));
    let port = server.port_for_test();
    let clients: Vec<_> = (0..CLIENTS)
        .map(|_| {
            std::thread::spawn(move || {
                let mut tls = tls_connect(port);
                let mut line = [0u8; 8];
                tls.read_exact(&mut line).unwrap();
                line
            })
        })
        .collect();
    // Each accepted socket is handed to a worker thread that drives its handshake.
    let mut workers = Vec::new();
    while workers.len() < CLIENTS {
        assert!(server.wait_for_new_connection(10_000));
        while let Some(mut socket) = server.next_pending_connection() {
            workers.push(std::thread::spawn(move || {
                let ok = socket.wait_for_encrypted(10_000);
                socket.wait_for_bytes_written(10_000);
                (ok, std::thread::current().id())
            }));
        }
    }
    let worker_threads: Vec<_> = workers
        .into_iter()
        .map(|w| {
            let (ok, id) = w.join().unwrap();
            assert!(ok);
            id
        })
        .collect();
    for c in clients {
        assert_eq!(&c.join().unwrap(), b"welcome\n");
    }
    let mut seen = encrypted.lock().unwrap().clone();
    let mut expected = worker_threads;
    seen.sort_by_key(|t| format!("{t:?}"));
    expected.sort_by_key(|t| format!("{t:?}"));
    assert_eq!(
        seen, expected,
        "each server slot ran on the thread driving its socket"
    );
}

/// `pause_accepting` (QTcpServer::pauseAccepting) in an event loop: a client that connects
/// meanwhile waits in the kernel's backlog, unannounced; after `resume_accepting` it is accepted,
/// `new_connection` and, right after it, Qt 6.4's `started_encryption_handshake` run for it, and
/// its handshake completes. (Qt's blocking `waitForNewConnection` accepts even while paused:
/// pausing only turns the loop's notifier off; the crate's does the same.)
#[test]
fn pause_accepting_holds_connections_until_resumed() {
    let mut server = SslServer::new();
    server.set_ssl_configuration(server_config());
    let events = Arc::new(Mutex::new(Vec::<String>::new()));
    let e = events.clone();
    server.on_new_connection(move |s| {
        e.lock()
            .unwrap()
            .push(format!("new_connection {:?}", s.mode()));
    });
    let e = events.clone();
    server.on_started_encryption_handshake(move |s| {
        e.lock()
            .unwrap()
            .push(format!("started_encryption_handshake {:?}", s.mode()));
    });
    let e = events.clone();
    server.on_encrypted(move |_| e.lock().unwrap().push("encrypted".into()));
    assert!(server.listen(LOCALHOST, 0));
    let port = server.port_for_test();
    let mut lp = EventLoop::new();
    let id = lp.add_server(server);
    lp.server_mut(id).expect("server").pause_accepting();
    let client = std::thread::spawn(move || {
        let mut tls = tls_connect(port);
        tls.write_all(b"x").unwrap();
        let _ = tls.shutdown();
    });
    // Nothing may happen while paused: a bounded run that must time out.
    assert!(!lp.run_until(|_| !events.lock().unwrap().is_empty(), 300));
    lp.server_mut(id).expect("server").resume_accepting();
    assert!(lp.run_until(|_| events.lock().unwrap().len() == 3, 10_000));
    assert_eq!(
        *events.lock().unwrap(),
        [
            "new_connection SslServerMode",
            "started_encryption_handshake SslServerMode",
            "encrypted"
        ]
    );
    client.join().expect("client");
}
