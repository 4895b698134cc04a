//! EventLoop: timers, the cross-thread handle, adding and removing sockets (also from slots),
//! re-arming after the application reads, servers and clients in one loop. The idle loop with
//! 10,000 connections is in `event_loop_idle.rs`.

mod common;

use std::io::{Read, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

use common::peer::{Peer, acceptor, echo_lines, tls_accept};
use common::pki::pki;
use common::server::{client, echo_server, thread_cpu};
use qsslsocket::*;

#[test]
fn single_shot_timers_run_by_deadline_then_in_start_order() {
    let mut event_loop = EventLoop::new();
    let order = Arc::new(Mutex::new(Vec::new()));
    let start = Instant::now();
    for (msecs, name) in [
        (60, "c"),
        (20, "a1"),
        (40, "b"),
        (20, "a2"),
        (0, "zero"),
        (-5, "neg"),
    ] {
        let order = order.clone();
        event_loop.single_shot(msecs, move |_| {
            order.lock().unwrap().push((name, start.elapsed()));
        });
    }
    assert!(event_loop.run_until(|_| order.lock().unwrap().len() == 6, 5000));
    let order = order.lock().unwrap().clone();
    let names: Vec<&str> = order.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ["zero", "neg", "a1", "a2", "b", "c"]);
    for (name, at) in &order {
        let due = match *name {
            "a1" | "a2" => 20,
            "b" => 40,
            "c" => 60,
            _ => 0,
        };
        assert!(
            *at >= Duration::from_millis(due),
            "{name} ran early: {at:?}"
        );
    }
}

#[test]
fn a_timer_started_by_a_timer_runs_in_a_later_round() {
    let mut event_loop = EventLoop::new();
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = runs.clone();
    event_loop.single_shot(0, move |lp| {
        counter.fetch_add(1, Ordering::SeqCst);
        let counter = counter.clone();
        lp.single_shot(0, move |_| {
            counter.fetch_add(1, Ordering::SeqCst);
        });
    });
    event_loop.process_events(0);
    assert_eq!(runs.load(Ordering::SeqCst), 1, "not in the same round");
    event_loop.process_events(0);
    assert_eq!(runs.load(Ordering::SeqCst), 2);
    // Nothing left: a bounded wait times out and services nothing.
    let start = Instant::now();
    assert_eq!(event_loop.process_events(30), 0);
    assert!(start.elapsed() >= Duration::from_millis(29));
    assert!(!event_loop.run_until(|_| false, 20));
}

#[test]
fn handle_wakes_and_stops_the_loop_from_another_thread() {
    let mut event_loop = EventLoop::new();
    let handle = event_loop.handle();
    let waker = std::thread::spawn({
        let handle = handle.clone();
        move || {
            std::thread::sleep(Duration::from_millis(50));
            handle.wake();
        }
    });
    let start = Instant::now();
    event_loop.process_events(10_000);
    let woke = start.elapsed();
    waker.join().unwrap();
    assert!(
        woke < Duration::from_secs(5),
        "wake() ends the wait: {woke:?}"
    );

    let stopper = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        handle.stop();
    });
    let start = Instant::now();
    event_loop.run();
    let stopped = start.elapsed();
    stopper.join().unwrap();
    assert!(
        stopped < Duration::from_secs(5),
        "stop() ends run(): {stopped:?}"
    );
    eprintln!("woken after {woke:?}, stopped after {stopped:?}");

    // A stop request ends run_until with false; it is consumed.
    event_loop.handle().stop();
    assert!(!event_loop.run_until(|_| false, 10_000));
    assert!(event_loop.run_until(|_| true, 0));
}

#[test]
fn handle_adds_sockets_and_posts_work_from_other_threads() {
    let mut event_loop = EventLoop::new();
    let server = event_loop.add_server(echo_server());
    let port = event_loop
        .server_mut(server)
        .map(|s| s.server_port())
        .unwrap();
    let handle = event_loop.handle();
    let (tx, rx) = mpsc::channel();
    let adder = std::thread::spawn(move || {
        let mut socket = client("127.0.0.1", port);
        socket.on_encrypted(|s| {
            s.write(b"from another thread\n");
        });
        let id = handle.add_socket(socket);
        handle.post(move |lp| {
            tx.send(lp.socket(id).is_some()).unwrap();
        });
        id
    });
    let id = adder.join().unwrap();
    assert!(event_loop.run_until(
        |lp| lp.socket(id).is_some_and(|s| s.bytes_available() == 20),
        10_000
    ));
    assert_eq!(
        rx.try_recv(),
        Ok(true),
        "posted work ran on the loop after the add"
    );
    assert_eq!(
        event_loop.socket_mut(id).unwrap().read_all(),
        b"from another thread\n"
    );
    assert_eq!(event_loop.sockets_of(server).len(), 1);
}

#[test]
fn a_socket_removed_from_inside_its_own_slot() {
    let mut event_loop = EventLoop::new();
    let server = event_loop.add_server(echo_server());
    let port = event_loop.server_mut(server).unwrap().server_port();
    let handle = event_loop.handle();

    // Removal through the handle: the loop drops the socket right after its slot ran.
    let mut first = client("127.0.0.1", port);
    first.on_encrypted(|s| {
        s.write(b"bye\n");
    });
    let first_id = Arc::new(Mutex::new(None));
    let (h, slot_id) = (handle.clone(), first_id.clone());
    first.on_ready_read(move |s| {
        assert!(s.bytes_available() > 0);
        assert_eq!(EventLoop::current_socket_id(), *slot_id.lock().unwrap());
        h.remove_socket(slot_id.lock().unwrap().unwrap());
    });
    let id = event_loop.add_socket(first);
    *first_id.lock().unwrap() = Some(id);
    assert!(event_loop.run_until(|lp| lp.socket(id).is_none(), 10_000));
    assert!(event_loop.socket_mut(id).is_none());

    // Removal through a posted closure that gets the socket back, still connected, and keeps
    // using it outside the loop with the blocking calls (against a peer on its own thread).
    let acc = acceptor(&pki().leaf, &[&pki().intermediate], |_| {});
    let peer = Peer::spawn(move |tcp, log| {
        if let Some(tls) = tls_accept(&acc, tcp, log) {
            echo_lines(tls, log);
        }
    });
    let (tx, rx) = mpsc::channel();
    let mut second = client("127.0.0.1", peer.port);
    second.on_encrypted(|s| {
        s.write(b"ping\n");
    });
    let second_id = Arc::new(Mutex::new(None));
    let slot_id = second_id.clone();
    let mut once = Some(tx);
    second.on_ready_read(move |_| {
        if let Some(tx) = once.take() {
            let id = slot_id.lock().unwrap().unwrap();
            handle.post(move |lp| tx.send(lp.remove_socket(id)).unwrap());
        }
    });
    let id = event_loop.add_socket(second);
    *second_id.lock().unwrap() = Some(id);
    assert!(event_loop.run_until(|lp| lp.socket(id).is_none(), 10_000));
    let mut socket = rx.try_recv().unwrap().expect("the removed socket");
    assert!(socket.is_encrypted());
    assert_eq!(socket.read_all(), b"echo:ping\n");
    socket.write(b"blocking again\n");
    let mut got = Vec::new();
    while got.len() < 20 && socket.wait_for_ready_read(10_000) {
        got.extend(socket.read_all());
    }
    assert_eq!(got, b"echo:blocking again\n");
    socket.disconnect_from_host();
    assert!(
        socket.state() == SocketState::UnconnectedState || socket.wait_for_disconnected(10_000)
    );
    assert!(
        peer.join()
            .events
            .contains(&"closed close_notify".to_owned())
    );
}

#[test]
fn reading_resumes_when_the_application_frees_read_buffer_space() {
    const TOTAL: usize = 512 * 1024;
    const LIMIT: i64 = 4096;
    // The peer (openssl crate) writes 512 KiB as fast as it can.
    let acc = acceptor(&pki().leaf, &[&pki().intermediate], |_| {});
    let data: Vec<u8> = (0..TOTAL).map(|i| (i * 13 % 251) as u8).collect();
    let expected = data.clone();
    let peer = Peer::spawn(move |tcp, log| {
        if let Some(mut tls) = tls_accept(&acc, tcp, log) {
            tls.write_all(&data).unwrap();
            let _ = tls.shutdown();
            let mut rest = Vec::new();
            let _ = tls.read_to_end(&mut rest);
        }
    });
    let mut event_loop = EventLoop::new();
    let mut socket = client("127.0.0.1", peer.port);
    socket.set_read_buffer_size(LIMIT);
    let id = event_loop.add_socket(socket);
    // The loop fills the read buffer to the limit and stops reading (the slot reads nothing).
    assert!(event_loop.run_until(
        |lp| lp.socket(id).unwrap().bytes_available() >= LIMIT,
        10_000
    ));
    for _ in 0..5 {
        event_loop.process_events(20);
    }
    let held = event_loop.socket(id).unwrap().bytes_available();
    assert!(held <= LIMIT + 16 * 1024, "stopped near the limit: {held}");
    // Reading between rounds (socket_mut) re-arms the socket: everything arrives, in order.
    let mut received = Vec::new();
    let done = event_loop.run_until(
        |lp| {
            received.extend(lp.socket_mut(id).unwrap().read_all());
            received.len() >= TOTAL
        },
        30_000,
    );
    assert!(done, "got {} of {TOTAL}", received.len());
    assert!(received == expected, "bytes differ");
    drop(event_loop);
    peer.join();
}

#[test]
fn writes_made_between_rounds_are_sent_in_the_next_round() {
    let mut event_loop = EventLoop::new();
    let server = event_loop.add_server(echo_server());
    let port = event_loop.server_mut(server).unwrap().server_port();
    let id = event_loop.add_socket(client("127.0.0.1", port));
    assert!(event_loop.run_until(|lp| lp.socket(id).unwrap().is_encrypted(), 10_000));
    for round in 0..20u8 {
        let message = [b'a' + round; 100];
        assert_eq!(event_loop.socket_mut(id).unwrap().write(&message), 100);
        let mut echoed = Vec::new();
        assert!(event_loop.run_until(
            |lp| {
                echoed.extend(lp.socket_mut(id).unwrap().read_all());
                echoed.len() == 100
            },
            10_000
        ));
        assert_eq!(echoed, message);
    }
}

#[test]
fn servers_and_clients_in_one_loop_and_ended_sockets_are_dropped() {
    const CLIENTS: usize = 50;
    let mut event_loop = EventLoop::new();
    let mut server = echo_server();
    let accepted_ids = Arc::new(Mutex::new(Vec::new()));
    let ids = accepted_ids.clone();
    server.on_new_connection(move |_| ids.lock().unwrap().push(EventLoop::current_socket_id()));
    let port = server.server_port();
    let server_id = event_loop.add_server(server);
    let mut clients = Vec::new();
    for i in 0..CLIENTS {
        let mut socket = client("127.0.0.1", port);
        let message = format!("client {i}\n");
        let m = message.clone();
        socket.on_encrypted(move |s| {
            s.write(m.as_bytes());
        });
        clients.push((event_loop.add_socket(socket), message));
    }
    assert!(event_loop.run_until(
        |lp| {
            clients
                .iter()
                .all(|(id, m)| lp.socket(*id).unwrap().bytes_available() == m.len() as i64)
        },
        20_000
    ));
    for (id, message) in &clients {
        assert_eq!(
            event_loop.socket_mut(*id).unwrap().read_all(),
            message.as_bytes()
        );
    }
    let server_side = event_loop.sockets_of(server_id);
    assert_eq!(server_side.len(), CLIENTS);
    let accepted: Vec<SocketId> = accepted_ids
        .lock()
        .unwrap()
        .iter()
        .map(|i| i.unwrap())
        .collect();
    assert_eq!(
        accepted, server_side,
        "on_new_connection saw the loop's ids, in accept order"
    );
    assert_eq!(event_loop.socket_count(), 2 * CLIENTS);
    // Clients close; the server side ends and the loop drops it; the clients stay (unconnected)
    // until removed.
    for (id, _) in &clients {
        event_loop.socket_mut(*id).unwrap().disconnect_from_host();
    }
    assert!(event_loop.run_until(|lp| lp.sockets_of(server_id).is_empty(), 10_000));
    assert!(event_loop.run_until(
        |lp| {
            clients
                .iter()
                .all(|(id, _)| lp.socket(*id).unwrap().state() == SocketState::UnconnectedState)
        },
        10_000
    ));
    assert_eq!(event_loop.socket_count(), CLIENTS);
    for (id, _) in &clients {
        assert!(event_loop.remove_socket(*id).is_some());
    }
    assert_eq!(event_loop.socket_count(), 0);
    // auto-remove can be switched on for one's own sockets.
    let id = event_loop.add_socket(client("127.0.0.1", port));
    assert!(event_loop.set_auto_remove(id, true));
    assert!(event_loop.run_until(
        |lp| lp.socket(id).is_some_and(SslSocket::is_encrypted),
        10_000
    ));
    event_loop.socket_mut(id).unwrap().abort();
    event_loop.process_events(0);
    assert!(event_loop.socket(id).is_none());
    assert!(!event_loop.set_auto_remove(id, true));
}

#[test]
fn a_client_resolving_a_host_name_in_the_loop() {
    // "localhost" goes through the lookup thread: the socket's descriptor changes from the
    // lookup's wake-up pipe to the TCP socket while the loop watches it.
    let mut event_loop = EventLoop::new();
    let server = event_loop.add_server(echo_server());
    let port = event_loop.server_mut(server).unwrap().server_port();
    let states = Arc::new(Mutex::new(Vec::new()));
    let log = states.clone();
    let mut socket = SslSocket::new();
    socket.set_ca_certificates(vec![pki().root.certificate()]);
    socket.on_state_changed(move |_, state| log.lock().unwrap().push(state));
    socket.on_encrypted(|s| {
        s.write(b"resolved\n");
    });
    let id = event_loop.add_socket(socket);
    event_loop
        .socket_mut(id)
        .unwrap()
        .connect_to_host_encrypted("localhost", port);
    let arrived = event_loop.run_until(|lp| lp.socket(id).unwrap().bytes_available() == 9, 10_000);
    let socket = event_loop.socket(id).unwrap();
    assert!(arrived, "{:?} {}", socket.state(), socket.error_string());
    assert_eq!(
        states.lock().unwrap()[..3],
        [
            SocketState::HostLookupState,
            SocketState::ConnectingState,
            SocketState::ConnectedState
        ]
    );
}

#[test]
fn process_events_counts_the_sockets_it_drove() {
    let mut event_loop = EventLoop::new();
    assert_eq!(event_loop.process_events(0), 0);
    let a = event_loop.add_socket(SslSocket::new());
    let b = event_loop.add_socket(SslSocket::new());
    assert_eq!(
        event_loop.process_events(0),
        2,
        "new sockets are examined once"
    );
    assert_eq!(
        event_loop.process_events(0),
        0,
        "unconnected sockets need nothing"
    );
    event_loop.socket_mut(a);
    event_loop.socket_mut(a);
    assert_eq!(event_loop.process_events(0), 1);
    assert!(event_loop.remove_socket(b).is_some());
    assert!(event_loop.remove_socket(b).is_none());
    assert!(event_loop.socket_mut(b).is_none());
    assert_eq!(event_loop.socket_ids(), [a]);
}

#[test]
fn a_slot_adds_a_socket_through_the_handle() {
    let mut event_loop = EventLoop::new();
    let server = event_loop.add_server(echo_server());
    let port = event_loop.server_mut(server).unwrap().server_port();
    let handle = event_loop.handle();
    let added = Arc::new(Mutex::new(None));
    let slot_added = added.clone();
    let mut first = client("127.0.0.1", port);
    first.on_encrypted(move |_| {
        // A second connection, started from inside the first one's slot.
        let mut second = client("127.0.0.1", port);
        second.on_encrypted(|s| {
            s.write(b"second\n");
        });
        *slot_added.lock().unwrap() = Some(handle.add_socket(second));
    });
    let first = event_loop.add_socket(first);
    assert!(event_loop.run_until(|_| added.lock().unwrap().is_some(), 10_000));
    let second = added.lock().unwrap().unwrap();
    assert_ne!(first, second);
    assert!(event_loop.run_until(
        |lp| lp.socket(second).is_some_and(|s| s.bytes_available() == 7),
        10_000
    ));
    assert_eq!(event_loop.sockets_of(server).len(), 2);
}

#[test]
fn a_server_taken_out_of_the_loop_keeps_working_blocking() {
    let mut event_loop = EventLoop::new();
    let server_id = event_loop.add_server(echo_server());
    let port = event_loop.server_mut(server_id).unwrap().server_port();
    let id = event_loop.add_socket(client("127.0.0.1", port));
    assert!(event_loop.run_until(|lp| lp.socket(id).unwrap().is_encrypted(), 10_000));
    let accepted = event_loop.sockets_of(server_id);
    assert_eq!(accepted.len(), 1);
    let mut server = event_loop.remove_server(server_id).expect("the server");
    assert!(event_loop.server_mut(server_id).is_none());
    // Its accepted socket stays in the loop and keeps echoing.
    event_loop.socket_mut(id).unwrap().write(b"still served\n");
    assert!(event_loop.run_until(|lp| lp.socket(id).unwrap().bytes_available() == 13, 10_000));
    // The server itself now accepts with the blocking calls.
    let peer = std::thread::spawn(move || {
        let mut socket = client("127.0.0.1", port);
        socket.on_encrypted(|s| {
            s.write(b"hello\n");
        });
        // Driving the socket until the echo arrives also sends the handshake's last flight.
        while socket.bytes_available() < 6 && socket.wait_for_ready_read(10_000) {}
        socket.read_all()
    });
    assert!(server.wait_for_new_connection(10_000));
    let mut socket = server.next_pending_connection().unwrap();
    assert!(
        socket.wait_for_encrypted(10_000),
        "{}",
        socket.error_string()
    );
    // The echo server's slot (connected in on_new_connection) answers as the data arrives.
    while socket.byte_totals().plaintext_written < 6 && socket.wait_for_ready_read(10_000) {}
    assert_eq!(socket.byte_totals().plaintext_written, 6);
    socket.flush();
    assert_eq!(peer.join().unwrap(), b"hello\n");
}

#[test]
fn a_condition_that_touches_a_socket_does_not_keep_the_loop_awake() {
    let mut event_loop = EventLoop::new();
    let server = event_loop.add_server(echo_server());
    let port = event_loop.server_mut(server).unwrap().server_port();
    let id = event_loop.add_socket(client("127.0.0.1", port));
    assert!(event_loop.run_until(|lp| lp.socket(id).unwrap().is_encrypted(), 10_000));
    while event_loop.process_events(50) > 0 {}
    let mut rounds = 0;
    let cpu = thread_cpu();
    // socket_mut marks the socket for re-examination; a drive that finds nothing to do does
    // not count as activity, so the loop still sleeps between checks.
    assert!(!event_loop.run_until(
        |lp| {
            rounds += 1;
            lp.socket_mut(id).unwrap().read_all();
            false
        },
        500
    ));
    let cpu = thread_cpu() - cpu;
    eprintln!("{rounds} rounds, {cpu:?} CPU in 500 ms");
    assert!(rounds <= 5, "{rounds} rounds");
    assert!(cpu < Duration::from_millis(50), "{cpu:?}");
}
