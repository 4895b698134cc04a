//! Memory per idle established connection end.
//!
//! Two processes: the measured one holds N ends of one role (server or client) of one
//! implementation; the peer process holds the other ends (always the raw `openssl` crate with
//! OpenSSL's defaults, so every measured end talks to the same peer). Each connection does a full
//! TLS 1.3 handshake and 1 byte each way, then stays idle. The measured process stops at two
//! checkpoints (after one warm-up connection was made and dropped, and after N connections) and
//! the parent reads, from outside:
//! - `heap`: glibc's bytes in use, `malloc_stats()` "Total (incl. mmap)" / "in use bytes", i.e.
//!   `mallinfo2()` uordblks + hblkhd as perf-limits.md measures. Calling into glibc needs
//!   `unsafe`, which this repository allows only under `src/ffi/`, so gdb calls it in the stopped
//!   process (`gdb -p PID -batch -ex 'call (void)malloc_stats()'`); without gdb it is left out;
//! - `rss`: `/proc/PID/statm` resident pages; `anon`: `smaps_rollup` `Anonymous:`.
//!
//! Per connection = (value at N - value at the first checkpoint) / N. Kernel socket buffers are
//! not included.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, TcpListener};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};

use serde_json::{Value, json};

use crate::Tls;
use crate::pki::load;
use crate::sys::{anon_bytes, rss_bytes};
use crate::{krate, raw};

/// Prints a line for the parent and waits for its reply line.
fn checkpoint(name: &str) {
    println!("{name}");
    std::io::stdout().flush().expect("stdout");
    let mut line = String::new();
    std::io::stdin().read_line(&mut line).expect("stdin");
}

fn port_line(port: u16) {
    println!("PORT {port}");
    std::io::stdout().flush().expect("stdout");
}

/// Which end of the 1-byte exchange a measured connection is.
#[derive(Clone, Copy)]
enum Side {
    /// Reads the byte, then echoes it.
    Server,
    /// Writes the byte, then reads the echo.
    Client,
}

/// Opens `n + 1` connections with `open`, each exchanging 1 byte each way; the first is dropped
/// before `CHECKPOINT 0` (the warm-up), the other `n` are returned, idle.
fn hold<S: Read + Write>(n: usize, side: Side, mut open: impl FnMut() -> S) -> Vec<S> {
    let mut held = Vec::with_capacity(n);
    for i in 0..=n {
        let mut s = open();
        let mut b = [7u8; 1];
        match side {
            Side::Server => {
                s.read_exact(&mut b).expect("read");
                s.write_all(&b).expect("write");
            }
            Side::Client => {
                s.write_all(&b).expect("write");
                s.read_exact(&mut b).expect("read");
            }
        }
        if i == 0 {
            drop(s);
            checkpoint("CHECKPOINT 0");
        } else {
            held.push(s);
        }
    }
    held
}

/// The measured process: `implementation` is `raw`, `raw-release` or `crate`.
pub(crate) fn measured(
    dir: &Path,
    tls: Tls,
    implementation: &str,
    role: &str,
    n: usize,
    port: u16,
) {
    let pki = load(dir, tls.kind);
    let release = implementation == "raw-release";
    let mut held_raw = Vec::new();
    let mut held_crate = Vec::new();
    match (implementation, role) {
        ("crate", "server") => {
            let server = krate::listen(krate::server_config(&pki, tls));
            port_line(server.port());
            held_crate = hold(n, Side::Server, || {
                let mut s = krate::next(&server);
                assert!(krate::encrypted(&mut s), "handshake: {}", s.error_string());
                s
            });
        }
        ("crate", _) => {
            let config = krate::client_config(&pki, tls, false);
            held_crate = hold(n, Side::Client, || krate::connect(&config, port));
        }
        (_, "server") => {
            let ctx = raw::server_ctx(&pki, tls, release);
            let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
            port_line(listener.local_addr().expect("addr").port());
            held_raw = hold(n, Side::Server, || raw::accept(&ctx, &listener));
        }
        _ => {
            let ctx = raw::client_ctx(&pki, tls, release);
            held_raw = hold(n, Side::Client, || raw::connect(&ctx, port, None));
        }
    }
    checkpoint("CHECKPOINT 1");
    drop(held_raw);
    drop(held_crate);
}

/// The peer process: `count` connections of the other role with the raw `openssl` crate's
/// defaults, all kept open until the parent says so.
pub(crate) fn peer(dir: &Path, tls: Tls, role: &str, count: usize, port: u16) {
    let pki = load(dir, tls.kind);
    let mut held = Vec::with_capacity(count);
    if role == "server" {
        let ctx = raw::server_ctx(&pki, tls, false);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
        port_line(listener.local_addr().expect("addr").port());
        for _ in 0..count {
            let mut s = raw::accept(&ctx, &listener);
            let mut b = [0u8; 1];
            s.read_exact(&mut b).expect("peer read");
            s.write_all(&b).expect("peer write");
            held.push(s);
        }
    } else {
        let ctx = raw::client_ctx(&pki, tls, false);
        for _ in 0..count {
            let mut s = raw::connect(&ctx, port, None);
            s.write_all(&[7]).expect("peer write");
            let mut b = [0u8; 1];
            s.read_exact(&mut b).expect("peer read");
            held.push(s);
        }
    }
    let mut line = String::new();
    let _ = std::io::stdin().read_line(&mut line);
}

/// glibc's heap in use of `pid` (bytes), through gdb; `None` without gdb.
fn heap_in_use(pid: u32, stderr_file: &Path) -> Option<u64> {
    let before = std::fs::read_to_string(stderr_file)
        .unwrap_or_default()
        .len();
    let status = Command::new("gdb")
        .args(["-nx", "-batch", "-p", &pid.to_string()])
        .args(["-ex", "call (void)malloc_stats()"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    if !status.success() {
        return None;
    }
    let text = std::fs::read_to_string(stderr_file).ok()?;
    let text = &text[before.min(text.len())..];
    let total = text.rsplit_once("Total (incl. mmap):")?.1;
    total
        .lines()
        .find(|l| l.trim_start().starts_with("in use bytes"))?
        .split('=')
        .nth(1)?
        .trim()
        .parse()
        .ok()
}

struct Proc {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Proc {
    fn spawn(mut cmd: Command, stderr: Stdio) -> Proc {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("spawn memory child");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        Proc {
            child,
            stdin,
            stdout,
        }
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.stdout.read_line(&mut line).expect("child stdout");
        assert!(!line.is_empty(), "memory child ended early");
        line.trim().to_owned()
    }

    fn port(&mut self) -> u16 {
        let line = self.line();
        line.strip_prefix("PORT ")
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("expected PORT, got {line:?}"))
    }

    fn go(&mut self) {
        self.stdin.write_all(b"go\n").expect("child stdin");
        self.stdin.flush().expect("child stdin");
    }

    fn finish(mut self) {
        let _ = self.stdin.write_all(b"go\n");
        drop(self.stdin);
        let mut rest = String::new();
        let _ = self.stdout.read_to_string(&mut rest);
        let _ = self.child.wait();
    }
}

/// One measurement, from the parent: `command(spec)` builds the command line of a child.
pub(crate) fn run(
    command: &dyn Fn(Value) -> Command,
    base: &Value,
    implementation: &str,
    role: &str,
    n: usize,
    scratch: &Path,
) -> Value {
    let stderr_file = scratch.join(format!("mem-{implementation}-{role}.stderr"));
    let stderr = || Stdio::from(std::fs::File::create(&stderr_file).expect("stderr file"));
    let mut spec = base.clone();
    spec["n"] = json!(n);
    spec["impl"] = json!(implementation);
    spec["role"] = json!(role);
    let peer_role = if role == "server" { "client" } else { "server" };
    let mut peer_spec = base.clone();
    peer_spec["w"] = json!("mempeer");
    peer_spec["role"] = json!(peer_role);
    peer_spec["count"] = json!(n + 1);
    let (mut measured, peer) = if role == "server" {
        spec["port"] = json!(0);
        let mut m = Proc::spawn(command(spec), stderr());
        let port = m.port();
        peer_spec["port"] = json!(port);
        let p = Proc::spawn(command(peer_spec), Stdio::inherit());
        (m, p)
    } else {
        peer_spec["port"] = json!(0);
        let mut p = Proc::spawn(command(peer_spec), Stdio::inherit());
        let port = p.port();
        spec["port"] = json!(port);
        (Proc::spawn(command(spec), stderr()), p)
    };
    let pid = measured.child.id();
    let mut points = Vec::new();
    for expected in ["CHECKPOINT 0", "CHECKPOINT 1"] {
        let line = measured.line();
        assert_eq!(line, expected, "memory child protocol");
        points.push((
            rss_bytes(pid),
            anon_bytes(pid),
            heap_in_use(pid, &stderr_file),
        ));
        measured.go();
    }
    measured.finish();
    peer.finish();
    let per = |a: u64, b: u64| (b as f64 - a as f64) / n as f64;
    let heap = match (points[0].2, points[1].2) {
        (Some(a), Some(b)) => json!(per(a, b)),
        _ => Value::Null,
    };
    json!({
        "n": n,
        "heap_per_conn": heap,
        "rss_per_conn": per(points[0].0, points[1].0),
        "anon_per_conn": per(points[0].1, points[1].1),
        "raw_points": points.iter().map(|p| json!([p.0, p.1, p.2])).collect::<Vec<_>>(),
    })
}
