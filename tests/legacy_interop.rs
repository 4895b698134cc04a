//! The per-protocol-version matrix on loopback, both directions: the crate as client and as
//! server, pinned to TLS 1.0, 1.1, 1.2 and 1.3, against `openssl s_server`/`s_client`
//! (`@SECLEVEL=0` for 1.0/1.1), Python's `ssl` module (tests/peers/legacy_ssl_peer.py) and
//! tlslite-ng (tests/peers/tlslite_peer.py, pure Python). Each handshake is checked for the
//! version, and one line goes there and back.
//!
//! Then SSL 3.0 against a real SSLv3 peer (a tlslite-ng SSLv3-only server and client): on an
//! OpenSSL without SSLv3 (Debian 12), `SslV3` fails before any connection with a message that
//! names the protocol, the missing build option and how to get it; `AnyProtocol` gets Qt's exact
//! error from reference trace i5; the crate as server refuses an SSLv3 client.
//!
//! Needs the `openssl` tool and Python with tlslite-ng (`bash ci/python-env.sh`, then
//! `QSSL_TEST_PYTHON=~/.cache/qsslsocket-venv/bin/python`; ci/test.sh sets it). Without them the
//! tests fail and say how to install them.

mod common;

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use common::external::{PROC_TIMEOUT, Proc, peer_script, python};
use common::interop::{
    PemFiles, STEP, STEP_MS, accept_within, crate_server_on, listener, read_line_within, s_client,
    s_server, trusting_client,
};
use qsslsocket::{SocketError, SocketState, SslMode, SslProtocol, SslSocket};

/// The protocol versions of the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum V {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

impl V {
    fn protocol(self) -> SslProtocol {
        match self {
            V::Tls10 => SslProtocol::TlsV1_0,
            V::Tls11 => SslProtocol::TlsV1_1,
            V::Tls12 => SslProtocol::TlsV1_2,
            V::Tls13 => SslProtocol::TlsV1_3,
        }
    }

    /// `openssl s_server`/`s_client` options: the version, and security level 0 where OpenSSL 3
    /// needs it (vendor-notes/debian-12.md).
    fn openssl_args(self) -> Vec<&'static str> {
        match self {
            V::Tls10 => vec!["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"],
            V::Tls11 => vec!["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
            V::Tls12 => vec!["-tls1_2"],
            V::Tls13 => vec!["-tls1_3"],
        }
    }

    /// What `openssl s_client -brief` and Python's `SSLSocket.version()` call it.
    fn openssl_name(self) -> &'static str {
        match self {
            V::Tls10 => "TLSv1",
            V::Tls11 => "TLSv1.1",
            V::Tls12 => "TLSv1.2",
            V::Tls13 => "TLSv1.3",
        }
    }

    fn python(self) -> &'static str {
        match self {
            V::Tls10 => "1.0",
            V::Tls11 => "1.1",
            V::Tls12 => "1.2",
            V::Tls13 => "1.3",
        }
    }

    /// tlslite-ng's record version.
    fn tlslite(self) -> &'static str {
        match self {
            V::Tls10 => "3.1",
            V::Tls11 => "3.2",
            V::Tls12 => "3.3",
            V::Tls13 => "3.4",
        }
    }
}

/// Python with tlslite-ng, or a panic that says how CI installs it.
fn tlslite_python() -> PathBuf {
    static CHECKED: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    CHECKED
        .get_or_init(|| {
            let py = python();
            let probe = Command::new(&py)
                .args(["-c", "import tlslite; print(tlslite.__version__)"])
                .output();
            match probe {
                Ok(o) if o.status.success() => Ok(py),
                Ok(o) => Err(format!(
                    "{} cannot import tlslite: {}",
                    py.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => Err(format!("{} does not run: {e}", py.display())),
            }
        })
        .clone()
        .unwrap_or_else(|why| {
            panic!(
                "this test needs tlslite-ng 0.8.2 (ci/python-requirements.txt), but {why}. Run \
                 `bash ci/python-env.sh`, then `export \
                 QSSL_TEST_PYTHON=~/.cache/qsslsocket-venv/bin/python` (ci/test.sh and .ci/run \
                 do both)"
            )
        })
}

/// Starts a Python peer script.
fn py_peer(script: &str, args: &[&str]) -> Proc {
    let interpreter = if script.starts_with("tlslite") {
        tlslite_python()
    } else {
        python()
    };
    let mut cmd = Command::new(interpreter);
    cmd.arg("-u").arg(peer_script(script)).args(args);
    Proc::spawn(script, cmd)
}

fn port_of(proc: &mut Proc) -> u16 {
    proc.expect_value("LISTEN", PROC_TIMEOUT)
        .trim()
        .parse()
        .expect("LISTEN <port>")
}

fn s(p: &std::path::Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

/// The crate as client, pinned to `v`, trusting the test root and checking `localhost`: the
/// handshake, then `line` out and its echo (transformed by `expect`) back.
fn crate_client(port: u16, v: V, line: &[u8], expect: &[u8]) -> SslSocket {
    let mut socket = trusting_client();
    socket.set_protocol(v.protocol());
    socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
    assert!(
        socket.wait_for_encrypted(STEP_MS),
        "{v:?} handshake failed: {:?} {}",
        socket.error(),
        socket.error_string()
    );
    assert_eq!(socket.session_protocol(), v.protocol());
    assert!(socket.ssl_handshake_errors().is_empty());
    socket.write(line);
    let echo = read_line_within(&mut socket, STEP).expect("an answer line");
    assert_eq!(echo, expect, "{}", String::from_utf8_lossy(&echo));
    socket
}

/// The crate as server on the next connection to `listener`, pinned to `v`: the handshake,
/// then one line echoed.
fn crate_server(listener: &TcpListener, v: V) -> (SslSocket, Vec<u8>) {
    crate_server_with(listener, v, |_| {})
}

/// `crate_server`, with `configure` run on the socket before the handshake.
fn crate_server_with(
    listener: &TcpListener,
    v: V,
    configure: impl FnOnce(&mut SslSocket),
) -> (SslSocket, Vec<u8>) {
    let stream = accept_within(listener, STEP);
    let mut socket = crate_server_on(stream);
    socket.set_protocol(v.protocol());
    configure(&mut socket);
    socket.start_server_encryption();
    assert!(
        socket.wait_for_encrypted(STEP_MS),
        "{v:?} handshake failed: {:?} {}",
        socket.error(),
        socket.error_string()
    );
    assert_eq!(socket.session_protocol(), v.protocol());
    let line = read_line_within(&mut socket, STEP).expect("a line from the client");
    socket.write(&line);
    assert!(socket.flush() || socket.bytes_to_write() == 0);
    (socket, line)
}

fn client_vs_openssl_s_server(v: V) {
    let pems = PemFiles::new();
    let mut args = vec!["-rev"];
    args.extend(v.openssl_args());
    let (mut server, port) = s_server(&pems, &args);
    crate_client(port, v, b"abc legacy\n", b"ycagel cba\n");
    drop(server.seen());
}

fn server_vs_openssl_s_client(v: V) {
    let pems = PemFiles::new();
    let (listener, port) = listener();
    let mut client = s_client(&pems, port, &v.openssl_args());
    let mut socket = crate_server_on(accept_within(&listener, STEP));
    socket.set_protocol(v.protocol());
    socket.start_server_encryption();
    assert!(
        socket.wait_for_encrypted(STEP_MS),
        "{}",
        socket.error_string()
    );
    // The server's last flight leaves on the next drive (as in Qt).
    socket.flush();
    assert_eq!(socket.session_protocol(), v.protocol());
    let version = format!("Protocol version: {}", v.openssl_name());
    client.expect_line(&version, PROC_TIMEOUT, |l| l == version);
    client.send(b"from s_client\n");
    let line = read_line_within(&mut socket, STEP).expect("s_client's line");
    assert_eq!(line, b"from s_client\n");
    socket.write(b"from the crate\n");
    socket.flush();
    client.expect_line("the crate's line", PROC_TIMEOUT, |l| l == "from the crate");
}

fn client_vs_python_ssl_server(v: V) {
    let pems = PemFiles::new();
    let mut server = py_peer(
        "legacy_ssl_peer.py",
        &[
            "server",
            "--version",
            v.python(),
            "--cert",
            s(&pems.server_chain),
            "--key",
            s(&pems.server_key),
        ],
    );
    let port = port_of(&mut server);
    crate_client(port, v, b"hi python\n", b"hi python\n");
    let handshake = server.expect_value("HANDSHAKE", PROC_TIMEOUT);
    assert!(handshake.starts_with(v.openssl_name()), "{handshake}");
}

fn server_vs_python_ssl_client(v: V) {
    let pems = PemFiles::new();
    let (listener, port) = listener();
    let port = port.to_string();
    let mut client = py_peer(
        "legacy_ssl_peer.py",
        &[
            "client",
            "--version",
            v.python(),
            "--port",
            &port,
            "--ca",
            s(&pems.root),
        ],
    );
    let (_socket, line) = crate_server(&listener, v);
    assert_eq!(line, b"hello python\n");
    assert_eq!(
        client.expect_value("LINE", PROC_TIMEOUT),
        "b'hello python\\n'"
    );
    let handshake = client.expect_value("HANDSHAKE", PROC_TIMEOUT);
    assert!(handshake.starts_with(v.openssl_name()), "{handshake}");
}

fn client_vs_tlslite_server(v: V) {
    let pems = PemFiles::new();
    let mut server = py_peer(
        "tlslite_peer.py",
        &[
            "server",
            "--cert",
            s(&pems.server_chain),
            "--key",
            s(&pems.server_key),
            "--min",
            v.tlslite(),
            "--max",
            v.tlslite(),
        ],
    );
    let port = port_of(&mut server);
    crate_client(port, v, b"hi tlslite\n", b"hi tlslite\n");
    let handshake = server.expect_value("HANDSHAKE", PROC_TIMEOUT);
    assert!(handshake.starts_with(v.tlslite()), "{handshake}");
}

fn server_vs_tlslite_client(v: V) {
    let (listener, port) = listener();
    let port = port.to_string();
    let mut client = py_peer(
        "tlslite_peer.py",
        &[
            "client",
            "--port",
            &port,
            "--min",
            v.tlslite(),
            "--max",
            v.tlslite(),
        ],
    );
    // A server asks for a client certificate by default (AutoVerifyPeer is QueryPeer there). In
    // TLS 1.3, tlslite-ng 0.8.2 answers such a request without a certificate with no
    // Certificate message at all, which OpenSSL rejects ("unexpected message"; `openssl
    // s_server -verify 1` does the same), so the TLS 1.3 row does not ask.
    let (_socket, line) = crate_server_with(&listener, v, |s| {
        if v == V::Tls13 {
            s.set_peer_verify_mode(qsslsocket::PeerVerifyMode::VerifyNone);
        }
    });
    assert_eq!(line, b"hello tlslite\n");
    assert_eq!(
        client.expect_value("LINE", PROC_TIMEOUT),
        "b'hello tlslite\\n'"
    );
    let handshake = client.expect_value("HANDSHAKE", PROC_TIMEOUT);
    assert!(handshake.starts_with(v.tlslite()), "{handshake}");
}

macro_rules! matrix {
    ($($version:ident: $v:expr),* $(,)?) => {$(
        mod $version {
            use super::*;
            #[test]
            fn client_vs_openssl_s_server() { super::client_vs_openssl_s_server($v) }
            #[test]
            fn server_vs_openssl_s_client() { super::server_vs_openssl_s_client($v) }
            #[test]
            fn client_vs_python_ssl_server() { super::client_vs_python_ssl_server($v) }
            #[test]
            fn server_vs_python_ssl_client() { super::server_vs_python_ssl_client($v) }
            #[test]
            fn client_vs_tlslite_server() { super::client_vs_tlslite_server($v) }
            #[test]
            fn server_vs_tlslite_client() { super::server_vs_tlslite_client($v) }
        }
    )*};
}

matrix! {
    tls1_0: V::Tls10,
    tls1_1: V::Tls11,
    tls1_2: V::Tls12,
    tls1_3: V::Tls13,
}

// ----- ranges --------------------------------------------------------------------------------

#[test]
fn or_later_forms_negotiate_down_to_an_old_only_peer() {
    for (protocol, v) in [
        (SslProtocol::TlsV1_0OrLater, V::Tls10),
        (SslProtocol::TlsV1_1OrLater, V::Tls11),
    ] {
        let pems = PemFiles::new();
        let mut args = vec!["-rev"];
        args.extend(v.openssl_args());
        let (_server, port) = s_server(&pems, &args);
        let mut socket = trusting_client();
        socket.set_protocol(protocol);
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
        assert!(
            socket.wait_for_encrypted(STEP_MS),
            "{protocol:?}: {}",
            socket.error_string()
        );
        assert_eq!(socket.session_protocol(), v.protocol());
    }
}

#[test]
fn secure_protocols_never_lower_the_level_for_an_old_peer() {
    for v in [V::Tls10, V::Tls11] {
        let pems = PemFiles::new();
        let (_server, port) = s_server(&pems, &v.openssl_args());
        let mut socket = trusting_client();
        assert_eq!(socket.protocol(), SslProtocol::SecureProtocols);
        socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
        assert!(!socket.wait_for_encrypted(STEP_MS));
        assert_eq!(
            socket.error(),
            SocketError::SslHandshakeFailedError,
            "{}",
            socket.error_string()
        );
    }
}

#[test]
fn the_capability_query_matches_this_build() {
    for v in [V::Tls10, V::Tls11, V::Tls12, V::Tls13] {
        // The matrix above handshakes each of these; the probe must agree.
        assert!(SslSocket::is_protocol_supported(v.protocol()), "{v:?}");
    }
    let ssl3 = SslSocket::is_protocol_supported(SslProtocol::SslV3);
    let started = Instant::now();
    for _ in 0..100 {
        assert_eq!(SslSocket::is_protocol_supported(SslProtocol::SslV3), ssl3);
    }
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "the answer is cached"
    );
    assert!(!SslSocket::is_protocol_supported(SslProtocol::SslV2));
}

// ----- SSL 3.0 against a real SSLv3 peer -------------------------------------------------------

/// Qt's errorString in reference trace i5 (client AnyProtocol vs the SSLv3-only tlslite server).
fn qt_i5_error() -> String {
    common::recorder::qt_trace("i5_anyprotocol_vs_sslv3_server")["final"]["errorString"]
        .as_str()
        .expect("trace i5 with final.errorString")
        .to_owned()
}

fn sslv3_server(pems: &PemFiles, connections: &str) -> (Proc, u16) {
    let mut server = py_peer(
        "tlslite_peer.py",
        &[
            "server",
            "--cert",
            s(&pems.server_chain),
            "--key",
            s(&pems.server_key),
            "--min",
            "3.0",
            "--max",
            "3.0",
            "--connections",
            connections,
        ],
    );
    let port = port_of(&mut server);
    (server, port)
}

#[test]
fn sslv3_client_fails_before_connecting_and_anyprotocol_gets_qts_error() {
    let pems = PemFiles::new();
    let (mut server, port) = sslv3_server(&pems, "1");

    let mut socket = trusting_client();
    socket.set_protocol(SslProtocol::SslV3);
    socket.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
    if SslSocket::is_protocol_supported(SslProtocol::SslV3) {
        // An OpenSSL with SSLv3 talks to the SSLv3 peer.
        assert!(
            socket.wait_for_encrypted(STEP_MS),
            "{}",
            socket.error_string()
        );
        assert_eq!(socket.session_protocol(), SslProtocol::SslV3);
        return;
    }
    // Refused inside the call, before any connection attempt.
    assert_eq!(socket.state(), SocketState::UnconnectedState);
    assert_eq!(socket.error(), SocketError::SslInvalidUserDataError);
    let text = socket.error_string();
    for needle in [
        "SSL 3.0",
        "OPENSSL_NO_SSL3",
        "enable-ssl3",
        openssl::version::version(),
    ] {
        assert!(text.contains(needle), "{needle:?} missing from {text:?}");
    }
    assert!(!socket.wait_for_encrypted(100));

    // The same peer with AnyProtocol: the one connection it serves is this one.
    let mut any = trusting_client();
    any.set_protocol(SslProtocol::AnyProtocol);
    any.connect_to_host_encrypted_with_peer_name("127.0.0.1", port, "localhost");
    assert!(!any.wait_for_encrypted(STEP_MS));
    assert_eq!(any.error(), SocketError::SslHandshakeFailedError);
    assert_eq!(any.error_string(), qt_i5_error());
    server.expect_line("DONE", PROC_TIMEOUT, |l| l == "DONE");
    let accepted = server.seen().iter().filter(|l| *l == "ACCEPTED").count();
    assert_eq!(accepted, 1, "{}", server.transcript());
}

#[test]
fn crate_server_refuses_an_sslv3_client() {
    for protocol in [
        SslProtocol::SecureProtocols,
        SslProtocol::AnyProtocol,
        SslProtocol::TlsV1_0OrLater,
    ] {
        let (listener, port) = listener();
        let port = port.to_string();
        let mut client = py_peer(
            "tlslite_peer.py",
            &["client", "--port", &port, "--min", "3.0", "--max", "3.0"],
        );
        let stream = accept_within(&listener, STEP);
        let mut socket = crate_server_on(stream);
        socket.set_protocol(protocol);
        socket.start_server_encryption();
        assert!(
            !socket.wait_for_encrypted(STEP_MS),
            "{protocol:?} accepted SSLv3"
        );
        assert_eq!(
            socket.error(),
            SocketError::SslHandshakeFailedError,
            "{}",
            socket.error_string()
        );
        let text = socket.error_string();
        assert!(
            text.contains("unsupported protocol") || text.contains("version too low"),
            "{protocol:?}: {text}"
        );
        let error = client.expect_value("ERROR", PROC_TIMEOUT);
        assert!(
            error.contains("protocol_version") || error.contains("handshake_failure"),
            "{protocol:?}: {error}"
        );
    }
}

#[test]
fn crate_server_with_sslv3_fails_at_once_with_the_reason() {
    if SslSocket::is_protocol_supported(SslProtocol::SslV3) {
        // Covered by the handshake tests on a build with SSLv3.
        assert!(SslSocket::is_protocol_supported(SslProtocol::TlsV1_2));
        return;
    }
    let (listener, port) = listener();
    let port = port.to_string();
    let mut client = py_peer(
        "tlslite_peer.py",
        &["client", "--port", &port, "--min", "3.0", "--max", "3.0"],
    );
    let stream = accept_within(&listener, STEP);
    let mut socket = crate_server_on(stream);
    socket.set_protocol(SslProtocol::SslV3);
    socket.start_server_encryption();
    assert_eq!(socket.error(), SocketError::SslInvalidUserDataError);
    assert!(
        socket.error_string().contains("enable-ssl3"),
        "{}",
        socket.error_string()
    );
    assert_ne!(
        socket.mode(),
        SslMode::SslServerMode,
        "no handshake started"
    );
    socket.abort();
    client.expect_value("ERROR", PROC_TIMEOUT);
}

#[test]
fn qssl_probe_sees_the_sslv3_peer_that_this_build_cannot_speak() {
    let pems = PemFiles::new();
    let (_server, port) = sslv3_server(&pems, "5");
    let target = format!("127.0.0.1:{port}");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qssl"));
    cmd.args([
        "probe",
        &target,
        "--no-ciphers",
        "--json",
        "--timeout",
        "5000",
    ]);
    let mut probe = Proc::spawn("qssl probe", cmd);
    let status = probe.wait_exit(PROC_TIMEOUT * 2);
    assert!(status.success(), "{}", probe.transcript());
    // Success prints nothing on stderr: every line is the JSON document's.
    let v: serde_json::Value = serde_json::from_str(&probe.seen().join("\n")).expect("JSON");
    let rows = v["protocols"].as_array().unwrap();
    let ssl3 = &rows[0];
    assert_eq!(ssl3["protocol"], "SslV3");
    assert_eq!(ssl3["peer_accepts"], true, "{ssl3}");
    if !SslSocket::is_protocol_supported(SslProtocol::SslV3) {
        assert_eq!(ssl3["build_supported"], false);
        assert_eq!(ssl3["method"], "client_hello");
        assert!(
            ssl3["build_reason"]
                .as_str()
                .unwrap()
                .contains("OPENSSL_NO_SSL3")
        );
    }
    for row in &rows[1..] {
        assert_eq!(row["peer_accepts"], false, "{row}");
    }
}
