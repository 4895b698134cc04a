//! EventLoop at rest: 10,000 connections (plus 20 encrypted ones) held by a loop that then
//! idles for three seconds. Its own test binary, so that its 10,000 descriptors do not share
//! the process with other tests.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::server::{LOCALHOST, client, echo_server_with, process_cpu, thread_cpu};
use qsslsocket::*;

/// The soft limit on open descriptors (`/proc/self/limits`).
fn descriptor_limit() -> u64 {
    let limits = std::fs::read_to_string("/proc/self/limits").expect("limits");
    limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Holds the client ends of the idle connections in a separate process (the descriptor limit
/// is per process).
#[test]
#[ignore = "helper: runs in a child process started by an_idle_loop_with_10000_connections_uses_no_cpu"]
fn idle_connections_child() {
    let port: u16 = std::env::var("QSSL_IDLE_PORT").unwrap().parse().unwrap();
    let count: usize = std::env::var("QSSL_IDLE_COUNT").unwrap().parse().unwrap();
    let connections: Vec<TcpStream> = (0..count)
        .map(|_| {
            let tcp = TcpStream::connect((LOCALHOST, port)).expect("connect");
            // Reset on close instead of leaving 10,000 ports in TIME_WAIT for a minute.
            socket2::SockRef::from(&tcp)
                .set_linger(Some(Duration::ZERO))
                .expect("linger");
            tcp
        })
        .collect();
    println!("CONNECTED {}", connections.len());
    // Hold them until the parent closes our stdin.
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
}

#[test]
fn an_idle_loop_with_10000_connections_uses_no_cpu() {
    const IDLE: usize = 10_000;
    const ENCRYPTED: usize = 20;
    // This process holds the server ends (10,000 + 2 x 20 + a few); the child the client ends.
    // No limit is raised: the test needs `ulimit -n` >= 10,200 (Debian 12 here: 20,000).
    let limit = descriptor_limit();
    assert!(
        limit >= IDLE as u64 + 200,
        "this test needs a soft descriptor limit of at least {} (ulimit -n); it is {limit}",
        IDLE + 200
    );
    let mut event_loop = EventLoop::new();
    let server = echo_server_with(|server| {
        server.set_max_pending_connections(2 * IDLE as i32);
        server.set_listen_backlog_size(4096);
        server.set_handshake_timeout(-1); // the idle ones never send a ClientHello
    });
    let port = server.server_port();
    let server_id = event_loop.add_server(server);

    // 20 encrypted connections inside the loop (both ends), then 10,000 plain TCP clients from
    // a child process that connect and never send anything.
    let clients: Vec<SocketId> = (0..ENCRYPTED)
        .map(|_| event_loop.add_socket(client("127.0.0.1", port)))
        .collect();
    assert!(event_loop.run_until(
        |lp| {
            clients
                .iter()
                .all(|id| lp.socket(*id).unwrap().is_encrypted())
        },
        20_000
    ));
    let (start, accept_cpu) = (Instant::now(), thread_cpu());
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "idle_connections_child",
            "--ignored",
            "--nocapture",
        ])
        .env("QSSL_IDLE_PORT", port.to_string())
        .env("QSSL_IDLE_COUNT", IDLE.to_string())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("child");
    let all = ENCRYPTED + IDLE;
    let accepted = event_loop.run_until(|lp| lp.sockets_of(server_id).len() == all, 120_000);
    let (accept_time, accept_cpu) = (start.elapsed(), thread_cpu() - accept_cpu);
    let in_loop = event_loop.sockets_of(server_id).len();
    let server = event_loop.server_mut(server_id).unwrap();
    assert!(
        accepted,
        "accepted {in_loop}: {server:?} {}",
        server.error_string()
    );
    // The child's stdout also carries the test harness's lines.
    let child_out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut child_lines = std::io::BufRead::lines(child_out).map_while(Result::ok);
    let connected = child_lines.find(|l| l.starts_with("CONNECTED"));
    assert_eq!(connected.as_deref(), Some("CONNECTED 10000"));
    // Let the last events settle, then measure a few seconds of idling.
    while event_loop.process_events(100) > 0 {}
    let fds = open_fds();
    let rounds = Arc::new(AtomicUsize::new(0));
    let (cpu0, proc0, t0) = (thread_cpu(), process_cpu(), Instant::now());
    let counter = rounds.clone();
    let timed_out = !event_loop.run_until(
        move |_| {
            counter.fetch_add(1, Ordering::Relaxed);
            false
        },
        3000,
    );
    let (cpu, proc_cpu, wall) = (thread_cpu() - cpu0, process_cpu() - proc0, t0.elapsed());
    eprintln!(
        "{all} connections accepted in {accept_time:?} ({accept_cpu:?} loop thread CPU); \
         idle {wall:?}: loop thread CPU {cpu:?}, \
         process CPU {proc_cpu:?}, {} rounds, {fds} descriptors open in this process",
        rounds.load(Ordering::Relaxed)
    );
    assert!(timed_out);
    assert!(
        cpu < Duration::from_millis(30),
        "an idle loop must not spin: {cpu:?}"
    );
    assert!(
        rounds.load(Ordering::Relaxed) <= 3,
        "one blocking wait, no polling"
    );
    assert!(fds >= all + ENCRYPTED, "{fds}");
    // Idle connections still work: one of the encrypted clients is echoed at once.
    event_loop
        .socket_mut(clients[0])
        .unwrap()
        .write(b"still here\n");
    assert!(event_loop.run_until(
        |lp| lp.socket(clients[0]).unwrap().bytes_available() == 11,
        10_000
    ));
    drop(child.stdin.take());
    child_lines.for_each(drop);
    assert!(child.wait().unwrap().success());
    // The child's connections close: the loop drops their sockets.
    let t0 = Instant::now();
    assert!(event_loop.run_until(|lp| lp.sockets_of(server_id).len() == ENCRYPTED, 60_000));
    eprintln!("{IDLE} closed connections dropped in {:?}", t0.elapsed());
}
