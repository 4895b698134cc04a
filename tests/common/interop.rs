//! Real peers for the interop tests: the standard test PKI written as PEM files for external
//! programs, `openssl s_server`/`s_client` and the Python peer (tests/peers/tls_peer.py)
//! started on 127.0.0.1, and small bounded helpers for crate sockets talking to them.

use std::net::{TcpListener, TcpStream};
use std::os::fd::IntoRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use qsslsocket::{OpenMode, SocketState, SslSocket};

use super::external::{PROC_TIMEOUT, Proc, openssl_binary, peer_script, python};
use super::pki::{Identity, pki};

/// How long a test waits for one step of a conversation with a real peer.
pub const STEP: Duration = Duration::from_secs(15);

/// `STEP` as Qt's `msecs`.
pub const STEP_MS: i32 = 15_000;

/// The standard PKI as PEM files in a temporary directory (removed on drop).
pub struct PemFiles {
    _dir: tempfile::TempDir,
    /// The test root CA (trust anchor).
    pub root: PathBuf,
    /// localhost leaf followed by the intermediate (a server's chain).
    pub server_chain: PathBuf,
    pub server_key: PathBuf,
    /// The server leaf alone.
    pub server_leaf: PathBuf,
    /// The intermediate alone.
    pub intermediate: PathBuf,
    /// The client leaf followed by the intermediate.
    pub client_chain: PathBuf,
    /// The client leaf alone.
    pub client_leaf: PathBuf,
    pub client_key: PathBuf,
}

impl PemFiles {
    pub fn new() -> PemFiles {
        let p = pki();
        let dir = tempfile::tempdir().expect("tempdir");
        let path = |name: &str| dir.path().join(name);
        let write = |name: &str, parts: &[&[u8]]| {
            let file = path(name);
            std::fs::write(&file, parts.concat()).expect("write PEM");
            file
        };
        let leaf = p.leaf.cert_pem();
        let inter = p.intermediate.cert_pem();
        let client = p.client.cert_pem();
        PemFiles {
            root: write("root.pem", &[&p.root.cert_pem()]),
            server_chain: write("server-chain.pem", &[&leaf, &inter]),
            server_key: write("server.key", &[&p.leaf.key_pem()]),
            server_leaf: write("server.pem", &[&leaf]),
            intermediate: write("intermediate.pem", &[&inter]),
            client_chain: write("client-chain.pem", &[&client, &inter]),
            client_leaf: write("client.pem", &[&client]),
            client_key: write("client.key", &[&p.client.key_pem()]),
            _dir: dir,
        }
    }

    pub fn dir(&self) -> &Path {
        self._dir.path()
    }
}

impl Default for PemFiles {
    fn default() -> Self {
        PemFiles::new()
    }
}

/// Lower-case hex SHA-256 of a certificate's DER (what the Python peer prints as PEERCERT).
pub fn cert_sha256(identity: &Identity) -> String {
    super::bytes::sha256_hex(&identity.cert_der())
}

/// Starts `tests/peers/tls_peer.py server ARGS` and waits for its port.
pub fn python_server(args: &[&str]) -> (Proc, u16) {
    let mut proc = python_peer("server", args);
    let port = proc.expect_value("LISTEN", PROC_TIMEOUT);
    let port = port.trim().parse().expect("LISTEN <port>");
    (proc, port)
}

/// `tls_peer.py server` with the standard server chain and key, and `extra` arguments.
pub fn chain_python_server(pems: &PemFiles, extra: &[&str]) -> (Proc, u16) {
    let mut args = vec![
        "--cert",
        pems.server_chain.to_str().expect("UTF-8 path"),
        "--key",
        pems.server_key.to_str().expect("UTF-8 path"),
    ];
    args.extend_from_slice(extra);
    python_server(&args)
}

/// Starts `tests/peers/tls_peer.py ROLE ARGS` (ROLE "client" needs `--port`).
pub fn python_peer(role: &str, args: &[&str]) -> Proc {
    let mut cmd = Command::new(python());
    cmd.arg("-u")
        .arg(peer_script("tls_peer.py"))
        .arg(role)
        .args(args);
    Proc::spawn(&format!("tls_peer.py {role}"), cmd)
}

/// `openssl s_server` on 127.0.0.1 (port chosen by the kernel) with the standard server chain,
/// one connection (`-naccept 1`) and `extra` options (e.g. `-rev`, `-tls1_2`). Returns it and
/// its port, parsed from its `ACCEPT 127.0.0.1:PORT` line.
pub fn s_server(pems: &PemFiles, extra: &[&str]) -> (Proc, u16) {
    let mut args = vec!["-naccept", "1"];
    args.extend_from_slice(extra);
    s_server_serving(pems, &args)
}

/// [`s_server`] without the one-connection limit: it serves until it is dropped.
pub fn s_server_serving(pems: &PemFiles, extra: &[&str]) -> (Proc, u16) {
    let mut cmd = Command::new(openssl_binary());
    cmd.args(["s_server", "-accept", "127.0.0.1:0"])
        .arg("-cert")
        .arg(&pems.server_leaf)
        .arg("-cert_chain")
        .arg(&pems.intermediate)
        .arg("-key")
        .arg(&pems.server_key)
        .args(extra)
        .current_dir(pems.dir());
    let mut proc = Proc::spawn("openssl s_server", cmd);
    let accept = proc.expect_value("ACCEPT", PROC_TIMEOUT);
    let port = accept
        .rsplit(':')
        .next()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("cannot parse s_server's `ACCEPT {accept}`"));
    (proc, port)
}

/// `openssl s_client` connecting to 127.0.0.1:`port`, trusting the test root, checking the host
/// name `localhost`, with `-brief` (the summary goes to stderr) and `extra` options.
pub fn s_client(pems: &PemFiles, port: u16, extra: &[&str]) -> Proc {
    let mut cmd = Command::new(openssl_binary());
    cmd.args(["s_client", "-brief", "-verify_return_error"])
        .arg("-connect")
        .arg(format!("127.0.0.1:{port}"))
        .args(["-servername", "localhost", "-verify_hostname", "localhost"])
        .arg("-CAfile")
        .arg(&pems.root)
        .args(extra)
        .current_dir(pems.dir());
    Proc::spawn("openssl s_client", cmd)
}

/// A listener on 127.0.0.1 with a kernel-chosen port.
pub fn listener() -> (TcpListener, u16) {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let port = l.local_addr().expect("local addr").port();
    (l, port)
}

/// Accepts one connection within `timeout` (panics otherwise). The stream is blocking.
pub fn accept_within(listener: &TcpListener, timeout: Duration) -> TcpStream {
    listener
        .set_nonblocking(true)
        .expect("nonblocking listener");
    let deadline = Instant::now() + timeout;
    loop {
        match listener.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).expect("blocking stream");
                return s;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(
                    Instant::now() < deadline,
                    "no connection within {timeout:?}"
                );
                // Polling the listener with a deadline.
                std::thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// A crate client that trusts the test root.
pub fn trusting_client() -> SslSocket {
    let mut s = SslSocket::new();
    s.set_ca_certificates(vec![pki().root.certificate()]);
    s
}

/// A crate client that trusts the test root, connected to 127.0.0.1:`port` and encrypted
/// (within `STEP_MS`).
pub fn encrypted_client(port: u16) -> SslSocket {
    let mut s = trusting_client();
    s.connect_to_host_encrypted("127.0.0.1", port);
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    s
}

/// A crate server socket on an accepted connection: the standard server chain and key, in plain
/// mode (call `start_server_encryption()`).
pub fn crate_server_on(stream: TcpStream) -> SslSocket {
    let p = pki();
    let mut s = SslSocket::new();
    s.set_local_certificate_chain(vec![p.leaf.certificate(), p.intermediate.certificate()]);
    s.set_private_key(p.leaf.ssl_key());
    assert!(
        s.set_socket_descriptor(
            stream.into_raw_fd(),
            SocketState::ConnectedState,
            OpenMode::ReadWrite
        ),
        "set_socket_descriptor: {}",
        s.error_string()
    );
    s
}

/// Drives `socket` until `done` holds, at most `timeout`; returns whether it held. Each round
/// is one non-blocking drive (`flush()`, which runs the whole pump and the slots) and then a wait
/// for the descriptor to become ready (at most 50 ms), so `done` may depend on anything, not
/// only on `ready_read`. Unlike a timed-out `wait_for_*`, this leaves `error()` alone.
pub fn drive_until(
    socket: &mut SslSocket,
    timeout: Duration,
    mut done: impl FnMut(&mut SslSocket) -> bool,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        socket.flush();
        if done(socket) {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || socket.state() == SocketState::UnconnectedState {
            return done(socket);
        }
        wait_ready(socket, left.min(Duration::from_millis(50)));
    }
}

/// Waits until the socket's descriptor is readable (or writable, while it has output or is
/// connecting), at most `timeout`.
pub fn wait_ready(socket: &SslSocket, timeout: Duration) {
    let fd = socket.socket_descriptor();
    if fd < 0 {
        return;
    }
    let writable = socket.encrypted_bytes_to_write() > 0
        || socket.bytes_to_write() > 0
        || socket.state() == SocketState::ConnectingState;
    let interest = if writable {
        mio::Interest::READABLE | mio::Interest::WRITABLE
    } else {
        mio::Interest::READABLE
    };
    let Ok(mut poll) = mio::Poll::new() else {
        return;
    };
    let mut events = mio::Events::with_capacity(2);
    let mut source = mio::unix::SourceFd(&fd);
    if poll
        .registry()
        .register(&mut source, mio::Token(0), interest)
        .is_ok()
    {
        let _ = poll.poll(&mut events, Some(timeout));
        let _ = poll.registry().deregister(&mut source);
    }
}

/// Reads one line (including `\n`) with Qt's API, driving the socket, within `timeout`.
pub fn read_line_within(socket: &mut SslSocket, timeout: Duration) -> Option<Vec<u8>> {
    drive_until(socket, timeout, |s| s.can_read_line()).then(|| socket.read_line())
}

/// Waits (bounded) until the socket is unconnected. Returns whether it is.
pub fn wait_unconnected(socket: &mut SslSocket, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while socket.state() != SocketState::UnconnectedState {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        socket.wait_for_disconnected(left.as_millis().max(1) as i32);
    }
    true
}
