//! The `qssl` binary run as a user runs it: bad input of every kind (clear message, exit status
//! 2), unreachable peers (exit status 1), `demo` end to end, `connect`, `serve` and `probe`
//! against each other and against `openssl s_server`/`s_client`, STARTTLS, and `--json` output
//! that parses. Everything on 127.0.0.1; every process is bounded in time.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::external::{PROC_TIMEOUT, Proc};
use common::interop::{PemFiles, s_server_serving};
use common::peer::{Peer, acceptor, read_line, read_plain_line, tls_accept};
use common::pki::pki;
use openssl::ssl::{
    ShutdownResult, ShutdownState, SslConnector, SslMethod, SslStream, SslVerifyMode,
};
use serde_json::Value;

const QSSL: &str = env!("CARGO_BIN_EXE_qssl");
/// Bound for one qssl run.
const RUN_TIMEOUT: Duration = Duration::from_secs(30);

/// A finished qssl run.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    fn expect(&self, code: i32) -> &Run {
        assert_eq!(
            self.code, code,
            "exit status; stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

/// Runs qssl with `args` to completion (at most RUN_TIMEOUT).
fn qssl(args: &[&str]) -> Run {
    let mut child = Command::new(QSSL)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start qssl");
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + RUN_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("qssl {args:?} still running after {RUN_TIMEOUT:?}");
        }
        // Polling the exit status against a deadline.
        std::thread::sleep(Duration::from_millis(10));
    };
    Run {
        code: status.code().unwrap_or(-1),
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    }
}

/// A port on 127.0.0.1 where nothing listens (bound, then released).
fn closed_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr").port()
}

/// `qssl serve ARGS --port 0 --json`, waiting for its `listening` line; returns it and the port.
fn serve(args: &[&str]) -> (Proc, u16) {
    let mut cmd = Command::new(QSSL);
    cmd.args(["serve", "--port", "0", "--json"]).args(args);
    let mut proc = Proc::spawn("qssl serve", cmd);
    let line = proc.expect_line("`listening`", PROC_TIMEOUT, |l| {
        l.contains("\"event\":\"listening\"")
    });
    let v: Value = serde_json::from_str(&line).expect("listening line is JSON");
    (proc, v["port"].as_u64().expect("port") as u16)
}

/// Waits for `qssl serve` to exit successfully, then parses the JSON events it printed.
fn serve_events(proc: &mut Proc) -> Vec<Value> {
    assert!(
        proc.wait_exit(PROC_TIMEOUT).success(),
        "{}",
        proc.transcript()
    );
    proc.seen()
        .iter()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// A TLS client of `qssl serve` on `port` that does not check the certificate; reads time out
/// after `PROC_TIMEOUT`, writes that make no progress after `write_timeout`.
fn unverified_client(port: u16, write_timeout: Duration) -> SslStream<TcpStream> {
    let mut connector = SslConnector::builder(SslMethod::tls()).expect("connector");
    connector.set_verify(SslVerifyMode::NONE);
    let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    tcp.set_read_timeout(Some(PROC_TIMEOUT))
        .expect("read timeout");
    tcp.set_write_timeout(Some(write_timeout))
        .expect("write timeout");
    connector
        .build()
        .connect("localhost", tcp)
        .expect("handshake")
}

fn kinds(errors: &Value) -> Vec<String> {
    errors
        .as_array()
        .expect("array")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_owned())
        .collect()
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8 path")
}

// ----- bad input -------------------------------------------------------------------------------

#[test]
fn version_names_the_crate_and_both_openssl_versions() {
    let run = qssl(&["--version"]);
    run.expect(0);
    assert!(
        run.stdout
            .contains(&format!("qsslsocket {}", env!("CARGO_PKG_VERSION")))
    );
    assert!(run.stdout.contains("OpenSSL (build):"), "{}", run.stdout);
    assert!(run.stdout.contains("OpenSSL (run time):"), "{}", run.stdout);
    let v = qssl(&["--version", "--json"]).expect(0).json();
    assert!(
        v["openssl_runtime"]["version"]
            .as_str()
            .unwrap()
            .starts_with("OpenSSL")
    );
    assert!(
        v["openssl_build"]["version"]
            .as_str()
            .unwrap()
            .starts_with("OpenSSL")
    );
    let protocols = v["protocols"].as_array().unwrap();
    assert_eq!(protocols.len(), 5);
    assert!(
        protocols
            .iter()
            .any(|p| p["protocol"] == "TlsV1_3" && p["supported"] == true)
    );
}

#[test]
fn wrong_arguments_are_refused_with_usage_and_status_2() {
    for args in [
        &[][..],
        &["frobnicate"],
        &["connect"],
        &["connect", "127.0.0.1"],
        &["connect", "127.0.0.1:0"],
        &["connect", "::1:443"],
        &["connect", "127.0.0.1:443", "--protocol", "tls9"],
        &["connect", "127.0.0.1:443", "--verify", "sometimes"],
        &["connect", "127.0.0.1:443", "--ignore", "SelfSigned"],
        &["connect", "127.0.0.1:443", "--starttls", "gopher"],
        &["connect", "127.0.0.1:443", "--key", "k.pem"],
        &["serve", "--listen", "not-an-address"],
        &["ciphers", "--default", "AES128-SHA"],
        &["probe"],
        // Timeouts: probe and connect need at least 1 ms (a 0 ms probe used to report the
        // peer unreachable), none may overflow Qt's int msecs, serve's may not be negative.
        &["probe", "127.0.0.1:443", "--timeout", "0"],
        &["probe", "127.0.0.1:443", "--timeout", "2147483648"],
        &["connect", "127.0.0.1:443", "--timeout", "0"],
        &["connect", "127.0.0.1:443", "--wait-reply", "-1"],
        &["serve", "--handshake-timeout", "-1"],
    ] {
        let run = qssl(args);
        assert_eq!(run.code, 2, "qssl {args:?}: {}{}", run.stdout, run.stderr);
        assert!(
            !run.stderr.trim().is_empty(),
            "qssl {args:?} says nothing on stderr"
        );
        assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    }
    let run = qssl(&["connect", "127.0.0.1:443", "--ignore", "SelfSigned"]);
    assert!(
        run.stderr.contains("SelfSignedCertificate"),
        "lists the valid names: {}",
        run.stderr
    );
    let run = qssl(&["connect", "127.0.0.1:443", "--protocol", "tls9"]);
    assert!(run.stderr.contains("tls1.2"), "{}", run.stderr);
    let run = qssl(&["probe", "127.0.0.1:443", "--timeout", "0"]);
    assert!(run.stderr.contains("--timeout"), "{}", run.stderr);
    assert!(!run.stderr.contains("cannot reach"), "{}", run.stderr);
}

#[test]
fn unreachable_peer_fails_with_status_1_and_the_socket_error() {
    let port = closed_port().to_string();
    let target = format!("127.0.0.1:{port}");
    let run = qssl(&["connect", &target]);
    run.expect(1);
    assert!(
        run.stderr.contains("ConnectionRefusedError"),
        "{}",
        run.stderr
    );
    let v = qssl(&["connect", &target, "--json"]).expect(1).json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["exit_status"], 1);
    assert_eq!(v["error"]["socket_error"], "ConnectionRefusedError");
    assert!(
        v["failure"]
            .as_str()
            .unwrap()
            .contains("Connection refused")
    );
    let run = qssl(&["probe", &target]);
    run.expect(1);
    assert!(run.stderr.contains("cannot reach"), "{}", run.stderr);
}

#[test]
fn missing_files_and_bad_keys_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.pem");
    let target = format!("127.0.0.1:{}", closed_port());
    for args in [
        vec!["connect", &target, "--ca", path(&missing)],
        vec![
            "connect",
            &target,
            "--cert",
            path(&missing),
            "--key",
            path(&missing),
        ],
        vec!["serve", "--cert", path(&missing), "--key", path(&missing)],
    ] {
        let run = qssl(&args);
        run.expect(2);
        assert!(run.stderr.contains("missing.pem"), "{}", run.stderr);
        assert!(run.stderr.contains("No such file"), "{}", run.stderr);
    }
    // A file that holds no certificate, an empty CA directory.
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate").unwrap();
    let run = qssl(&["connect", &target, "--ca", path(&junk)]);
    run.expect(2);
    assert!(
        run.stderr.contains("holds no certificate"),
        "{}",
        run.stderr
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let run = qssl(&["connect", &target, "--ca", path(&empty)]);
    run.expect(2);
    assert!(
        run.stderr.contains("holds no PEM certificate"),
        "{}",
        run.stderr
    );
}

/// A certificate and a key that do not match: `serve` says so before listening and exits with
/// status 2 (it used to listen and drop every client without a word, never reaching
/// --max-connections).
#[test]
fn serve_refuses_a_key_that_does_not_match_the_certificate() {
    let pems = PemFiles::new();
    let dir = tempfile::tempdir().unwrap();
    let other_key = dir.path().join("other.key");
    let key = openssl::rsa::Rsa::generate(2048).expect("RSA key");
    std::fs::write(&other_key, key.private_key_to_pem().unwrap()).unwrap();
    let run = qssl(&[
        "serve",
        "--port",
        "0",
        "--cert",
        path(&pems.server_chain),
        "--key",
        path(&other_key),
        "--max-connections",
        "1",
    ]);
    run.expect(2);
    assert!(
        run.stderr
            .contains("this configuration cannot make a TLS server: SslInvalidUserDataError"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("key values mismatch"), "{}", run.stderr);
    assert!(!run.stdout.contains("listening"), "{}", run.stdout);
}

#[test]
fn bad_passphrase_and_missing_passphrase_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let p = pki();
    let cert = dir.path().join("client.pem");
    std::fs::write(&cert, p.client.cert_pem()).unwrap();
    let key = dir.path().join("client.key");
    let encrypted = p
        .client
        .key
        .private_key_to_pem_pkcs8_passphrase(openssl::symm::Cipher::aes_256_cbc(), b"right")
        .unwrap();
    std::fs::write(&key, encrypted).unwrap();
    let target = format!("127.0.0.1:{}", closed_port());
    let base = [
        "connect",
        &target,
        "--cert",
        path(&cert),
        "--key",
        path(&key),
    ];
    let run = qssl(&[&base[..], &["--pass", "wrong"]].concat());
    run.expect(2);
    assert!(run.stderr.contains("passphrase"), "{}", run.stderr);
    assert!(run.stderr.contains("client.key"), "{}", run.stderr);
    let run = qssl(&base);
    run.expect(2);
    assert!(run.stderr.contains("--pass"), "{}", run.stderr);
    // The right passphrase gets as far as the (refused) connection.
    let run = qssl(&[&base[..], &["--pass", "right"]].concat());
    run.expect(1);
    assert!(run.stderr.contains("Connection refused"), "{}", run.stderr);
}

#[test]
fn unknown_cipher_names_are_refused_before_connecting() {
    let target = format!("127.0.0.1:{}", closed_port());
    let run = qssl(&["connect", &target, "--ciphers", "AES128-SHA:NO-SUCH-CIPHER"]);
    run.expect(2);
    assert!(run.stderr.contains("NO-SUCH-CIPHER"), "{}", run.stderr);
    assert!(run.stderr.contains("unknown"), "{}", run.stderr);
    let run = qssl(&["serve", "--ciphers", "BOGUS"]);
    run.expect(2);
    assert!(run.stderr.contains("BOGUS"), "{}", run.stderr);
    let run = qssl(&["probe", &target, "--ciphers", "@NOPE"]);
    run.expect(2);
    // `ciphers` explains the string and fails.
    let run = qssl(&["ciphers", "AES128-SHA:NO-SUCH-CIPHER"]);
    run.expect(1);
    assert!(
        run.stdout.contains("unknown to this OpenSSL"),
        "{}",
        run.stdout
    );
    let v = qssl(&["ciphers", "AES128-SHA:NO-SUCH-CIPHER", "--json"])
        .expect(1)
        .json();
    assert_eq!(v["tokens"][1]["provided"], false);
    assert_eq!(v["ciphers"][0]["name"], "AES128-SHA");
}

#[test]
fn sslv3_is_refused_before_any_connection_with_the_reason() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let target = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let run = qssl(&["connect", &target, "--protocol", "ssl3"]);
    if qsslsocket::SslSocket::is_protocol_supported(qsslsocket::SslProtocol::SslV3) {
        // An OpenSSL with SSLv3: the connection is attempted (and the listener never answers).
        assert!(listener.accept().is_ok() || run.code == 1);
        return;
    }
    run.expect(2);
    for needle in ["SSL 3.0", "OPENSSL_NO_SSL3", "enable-ssl3"] {
        assert!(run.stderr.contains(needle), "{needle}: {}", run.stderr);
    }
    assert!(
        listener.accept().is_err(),
        "qssl connected although SSLv3 cannot work"
    );
}

// ----- ciphers ---------------------------------------------------------------------------------

#[test]
fn ciphers_lists_qsslcipher_rows() {
    let run = qssl(&["ciphers"]);
    run.expect(0);
    assert!(
        run.stdout.contains("TLS_AES_128_GCM_SHA256"),
        "{}",
        run.stdout
    );
    let v = qssl(&["ciphers", "--json"]).expect(0).json();
    let list = v["ciphers"].as_array().unwrap();
    assert_eq!(list.len(), qsslsocket::SslSocket::supported_ciphers().len());
    let first = &list[0];
    for field in [
        "name",
        "protocol_string",
        "key_exchange_method",
        "authentication_method",
        "encryption_method",
        "used_bits",
        "supported_bits",
    ] {
        assert!(!first[field].is_null(), "{field} in {first}");
    }
    let v = qssl(&["ciphers", "--default", "--json"]).expect(0).json();
    assert_eq!(
        v["ciphers"].as_array().unwrap().len(),
        qsslsocket::SslSocket::default_ciphers().len()
    );
}

#[test]
fn the_legacy_qt_cipher_string_gets_a_true_answer() {
    let string = "DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:AES256-SHA";
    let run = qssl(&["ciphers", string]);
    run.expect(0);
    assert!(
        run.stdout.contains("The ordered list OpenSSL would use"),
        "{}",
        run.stdout
    );
    let v = qssl(&["ciphers", string, "--json"]).expect(0).json();
    assert_eq!(v["fully_provided"], true);
    let names: Vec<&str> = v["ciphers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["DHE-RSA-AES256-SHA", "DHE-DSS-AES256-SHA", "AES256-SHA"]
    );
    // The same answer as the library's own report.
    let report = qsslsocket::SslCipher::report(string);
    assert!(report.is_fully_provided());
    let tokens = v["tokens"].as_array().unwrap();
    assert_eq!(tokens.len(), 3);
    assert!(tokens.iter().all(|t| t["provided"] == true));
    assert!(
        tokens[1]["notes"].to_string().contains("DSA"),
        "{}",
        tokens[1]
    );
}

// ----- demo ------------------------------------------------------------------------------------

#[test]
fn demo_shows_the_self_signed_error_then_ignores_exactly_it_and_echoes() {
    let run = qssl(&["demo"]);
    run.expect(0);
    let out = &run.stdout;
    for needle in [
        "client  ssl_errors(SelfSignedCertificate)",
        "error_occurred(SslHandshakeFailedError: The certificate is self-signed, and untrusted)",
        "depth 0  SelfSignedCertificate",
        "(ignored by ignore_ssl_errors_list entry 0)",
        "client  encrypted(",
        "server  encrypted(",
        "Echo: sent \"hello from the qssl demo\\\\n\", received \"hello from the qssl demo\\\\n\"",
        "Bytes (client, byte_totals()): plaintext 25 written / 25 read; ciphertext",
    ] {
        assert!(out.contains(needle), "missing {needle:?} in:\n{out}");
    }
    // Signals print in the order they fire: the error comes before the second connection.
    let failed = out.find("client  error_occurred").unwrap();
    let encrypted = out.find("client  encrypted(").unwrap();
    assert!(failed < encrypted);

    let v = qssl(&["demo", "--json"]).expect(0).json();
    assert_eq!(v["ok"], true);
    assert!(
        v["elapsed_ms"].as_f64().unwrap() < 2000.0,
        "demo took {}",
        v["elapsed_ms"]
    );
    let attempts = v["attempts"].as_array().unwrap();
    assert_eq!(kinds(&attempts[0]["ssl_errors"]), ["SelfSignedCertificate"]);
    assert_eq!(attempts[0]["encrypted"], false);
    assert_eq!(
        attempts[0]["error"]["socket_error"],
        "SslHandshakeFailedError"
    );
    assert_eq!(attempts[1]["encrypted"], true);
    assert_eq!(
        kinds(&attempts[1]["ignore_ssl_errors_list"]),
        ["SelfSignedCertificate"]
    );
    assert_eq!(
        attempts[1]["verification_entries"][0]["ignored_by"],
        "ignore_ssl_errors_list entry 0"
    );
    let session = &v["session"];
    assert!(
        session["session"]["protocol"]
            .as_str()
            .unwrap()
            .starts_with("TlsV1_")
    );
    assert!(
        !session["session"]["cipher"]["name"]
            .as_str()
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        session["peer_certificate_chain"].as_array().unwrap().len(),
        1
    );
    assert_eq!(v["echo"]["sent"], v["echo"]["received"]);
    let client = &v["byte_totals"]["client"];
    assert_eq!(client["plaintext_written"], 25);
    assert_eq!(client["plaintext_read"], 25);
    assert!(client["ciphertext_written"].as_u64().unwrap() > 25);
    assert_eq!(
        v["byte_totals"]["server"]["ciphertext_read"],
        client["ciphertext_written"]
    );
    let events = v["events"].as_array().unwrap();
    assert!(
        events
            .iter()
            .any(|e| e["side"] == "server" && e["signal"] == "new_connection")
    );
}

// ----- connect, serve and probe against each other ---------------------------------------------

#[test]
fn connect_and_serve_talk_and_report_the_handshake() {
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("server.pem");
    let (mut server, port) = serve(&["--max-connections", "5", "--write-cert", path(&cert)]);
    let target = format!("127.0.0.1:{port}");

    // Not trusted: Qt's error, with depth and subject.
    let run = qssl(&["connect", &target]);
    run.expect(1);
    assert!(
        run.stdout.contains("depth 0  SelfSignedCertificate"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("[CN=localhost,O=qssl]"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("handshake failed"), "{}", run.stderr);
    assert!(
        run.stderr.contains("qssl: connecting"),
        "progress line: {}",
        run.stderr
    );
    // The same in JSON: the peer is still named, although the socket (as Qt's) forgets it once
    // the failed connection is closed.
    let v = qssl(&["connect", &target, "--json"]).expect(1).json();
    assert_eq!(v["encrypted"], false);
    assert_eq!(v["peer"], target);

    // Trusted through --ca, with a request; --json has no progress line.
    let run = qssl(&[
        "connect",
        &target,
        "--ca",
        path(&cert),
        "--send",
        "ping\\n",
        "--json",
    ]);
    let v = run.expect(0).json();
    assert!(!run.stderr.contains("qssl: connecting"), "{}", run.stderr);
    assert_eq!(v["ok"], true);
    assert_eq!(v["encrypted"], true);
    assert_eq!(v["verification"]["trusted"], true);
    assert_eq!(
        v["verification"]["trust_anchor_source"],
        format!("File({cert:?})")
    );
    assert_eq!(v["received"], "ping\\n");
    assert_eq!(v["byte_totals"]["plaintext_written"], 5);

    // Trusted through a --ca directory: the anchor's file is named.
    let v = qssl(&["connect", &target, "--ca", path(dir.path()), "--json"])
        .expect(0)
        .json();
    assert_eq!(v["verification"]["trusted"], true);
    assert_eq!(
        v["verification"]["trust_anchor_source"],
        format!("File({cert:?})")
    );

    // Ignoring exactly that kind.
    let v = qssl(&[
        "connect",
        &target,
        "--ignore",
        "SelfSignedCertificate",
        "--json",
    ])
    .expect(0)
    .json();
    assert_eq!(kinds(&v["ssl_errors"]), ["SelfSignedCertificate"]);
    assert_eq!(
        v["verification"]["entries"][0]["ignored_by"],
        "ignore_ssl_errors_list entry 0"
    );
    assert_eq!(v["verification"]["entries"][0]["depth"], 0);

    let events = serve_events(&mut server);
    let closed: Vec<&Value> = events.iter().filter(|e| e["event"] == "closed").collect();
    assert_eq!(closed.len(), 5, "{events:?}");
    assert_eq!(closed[0]["handshake_ok"], false);
    assert_eq!(closed[1]["handshake_ok"], false);
    assert_eq!(closed[2]["handshake_ok"], true);
    assert_eq!(closed[2]["byte_totals"]["plaintext_read"], 5);
    let encrypted = events.iter().filter(|e| e["event"] == "encrypted").count();
    assert_eq!(encrypted, 3);
}

#[test]
fn serve_replies_with_fixed_text_and_checks_client_certificates() {
    let pems = PemFiles::new();
    let (mut server, port) = serve(&[
        "--cert",
        path(&pems.server_chain),
        "--key",
        path(&pems.server_key),
        "--ca",
        path(&pems.root),
        "--verify-client",
        "--reply",
        "HTTP/1.0 200 OK\\r\\n\\r\\nhello\\n",
        "--max-connections",
        "2",
    ]);
    let target = format!("127.0.0.1:{port}");
    let trusted = [
        "connect",
        &target,
        "--ca",
        path(&pems.root),
        "--peer-name",
        "localhost",
    ];
    let with_cert = [
        &trusted[..],
        &[
            "--cert",
            path(&pems.client_chain),
            "--key",
            path(&pems.client_key),
        ],
        &["--send", "GET / HTTP/1.0\\r\\n\\r\\n", "--json"],
    ]
    .concat();
    let v = qssl(&with_cert).expect(0).json();
    assert_eq!(v["verification"]["trusted"], true);
    assert_eq!(v["peer_certificate_chain"].as_array().unwrap().len(), 2);
    assert_eq!(v["received"], "HTTP/1.0 200 OK\\r\\n\\r\\nhello\\n");
    assert_eq!(v["peer_closed_cleanly"], true);
    // Without a client certificate the server refuses the handshake.
    let run = qssl(&[&trusted[..], &["--send", "x"]].concat());
    assert_ne!(run.code, 2, "{}", run.stderr);
    let events = serve_events(&mut server);
    let encrypted: Vec<&Value> = events
        .iter()
        .filter(|e| e["event"] == "encrypted")
        .collect();
    assert_eq!(
        encrypted[0]["client_certificate"],
        "CN=Test Client,O=qsslsocket tests"
    );
    let closed: Vec<&Value> = events.iter().filter(|e| e["event"] == "closed").collect();
    assert_eq!(closed[1]["handshake_ok"], false, "{events:?}");
}

#[test]
fn probe_reports_versions_ciphers_and_what_this_build_cannot_speak() {
    let (mut server, port) = serve(&["--protocol", "tls1.2+"]);
    let target = format!("127.0.0.1:{port}");
    let v = qssl(&[
        "probe",
        &target,
        "--ciphers",
        "ECDHE-ECDSA-AES128-GCM-SHA256:AES128-SHA:TLS_AES_128_GCM_SHA256:ADH-AES256-SHA",
        "--json",
    ])
    .expect(0)
    .json();
    let protocols = v["protocols"].as_array().unwrap();
    let row = |name: &str| {
        protocols
            .iter()
            .find(|p| p["protocol"] == name)
            .unwrap_or_else(|| panic!("no {name} row in {protocols:?}"))
    };
    assert_eq!(row("TlsV1_2")["peer_accepts"], true);
    assert_eq!(row("TlsV1_3")["peer_accepts"], true);
    assert_eq!(row("TlsV1_0")["peer_accepts"], false);
    assert_eq!(row("TlsV1_0")["build_supported"], true);
    let ssl3 = row("SslV3");
    if !qsslsocket::SslSocket::is_protocol_supported(qsslsocket::SslProtocol::SslV3) {
        assert_eq!(ssl3["build_supported"], false);
        assert!(
            ssl3["build_reason"]
                .as_str()
                .unwrap()
                .contains("enable-ssl3")
        );
        assert_eq!(ssl3["method"], "client_hello");
    }
    assert_eq!(ssl3["peer_accepts"], false);
    let ciphers = v["ciphers"].as_array().unwrap();
    let cipher = |name: &str| ciphers.iter().find(|c| c["name"] == name).unwrap();
    // The minted certificate is ECDSA: RSA-authenticated suites are refused.
    assert_eq!(cipher("ECDHE-ECDSA-AES128-GCM-SHA256")["accepted"], true);
    assert_eq!(cipher("AES128-SHA")["accepted"], false);
    assert_eq!(cipher("TLS_AES_128_GCM_SHA256")["accepted"], true);
    // A suite this build cannot offer is listed with the reason, not tried.
    let adh = cipher("ADH-AES256-SHA");
    assert_eq!(adh["build_supported"], false);
    assert!(adh["accepted"].is_null());
    assert!(
        adh["build_reason"]
            .as_str()
            .unwrap()
            .contains("security level"),
        "{adh}"
    );
    drop(server.seen());
}

// ----- against openssl s_server / s_client ----------------------------------------------------

#[test]
fn connect_against_openssl_s_server() {
    let pems = PemFiles::new();
    let (mut s_server, port) = common::interop::s_server(&pems, &["-rev"]);
    let target = format!("127.0.0.1:{port}");
    let v = qssl(&[
        "connect",
        &target,
        "--ca",
        path(&pems.root),
        "--peer-name",
        "localhost",
        "--protocol",
        "tls1.2",
        "--send",
        "hello\\n",
        "--json",
    ])
    .expect(0)
    .json();
    assert_eq!(v["session"]["protocol"], "TlsV1_2");
    assert_eq!(v["verification"]["trusted"], true);
    assert_eq!(v["ssl_errors"].as_array().unwrap().len(), 0);
    let chain = v["peer_certificate_chain"].as_array().unwrap();
    assert_eq!(chain[0]["common_name"], "localhost");
    assert_eq!(chain[1]["common_name"], "qsslsocket Test Intermediate CA");
    assert!(v["received"].as_str().unwrap().contains("olleh"), "{v}");
    drop(s_server.seen());
}

#[test]
fn serve_against_openssl_s_client() {
    let pems = PemFiles::new();
    let (mut server, port) = serve(&[
        "--cert",
        path(&pems.server_chain),
        "--key",
        path(&pems.server_key),
        "--max-connections",
        "1",
    ]);
    let mut client = common::interop::s_client(&pems, port, &[]);
    client.expect_line("Verification: OK", PROC_TIMEOUT, |l| {
        l.contains("Verification: OK")
    });
    client.send(b"ping\n");
    client.expect_line("the echo", PROC_TIMEOUT, |l| l == "ping");
    client.close_stdin();
    client.wait_exit(PROC_TIMEOUT);
    let events = serve_events(&mut server);
    let encrypted = events
        .iter()
        .find(|e| e["event"] == "encrypted")
        .expect("encrypted");
    assert_eq!(encrypted["protocol"], "TlsV1_3");
}

/// A client that sends 2 MiB without reading (more than the echo's 1 MiB backlog), then its
/// close_notify, then reads: the echo sends back every byte, then answers with its own
/// close_notify and closes, as RFC 8446 §6.1 asks. Before, `serve` left the connection open and
/// such a client (tlsfuzzer's scripts, `SSL_shutdown` until done) waited for nothing.
#[test]
fn serve_echoes_everything_then_answers_the_clients_close_notify() {
    const SIZE: usize = 2 * 1024 * 1024;
    let (mut server, port) = serve(&["--max-connections", "1"]);
    let mut tls = unverified_client(port, PROC_TIMEOUT);
    let data: Vec<u8> = (0..SIZE).map(|i| (i % 251) as u8).collect();
    for chunk in data.chunks(64 * 1024) {
        tls.write_all(chunk)
            .expect("write (the loopback buffers hold the echo)");
    }
    assert_eq!(
        tls.shutdown().expect("send close_notify"),
        ShutdownResult::Sent
    );
    let mut echoed = Vec::with_capacity(SIZE);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match tls.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => echoed.extend_from_slice(&buf[..n]),
            Err(e) => panic!(
                "after {} echoed bytes: {e} (no close_notify from the server)",
                echoed.len()
            ),
        }
    }
    assert!(
        echoed == data,
        "echoed {} of {SIZE} bytes, or other bytes",
        echoed.len()
    );
    assert!(
        tls.get_shutdown().contains(ShutdownState::RECEIVED),
        "the stream ended without the server's close_notify"
    );
    // Then FIN.
    assert_eq!(tls.get_mut().read(&mut buf).expect("TCP end"), 0);
    let events = serve_events(&mut server);
    let closed = events
        .iter()
        .find(|e| e["event"] == "closed")
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(closed["peer_closed_cleanly"], true, "{closed}");
    assert_eq!(
        closed["byte_totals"]["plaintext_written"], SIZE as u64,
        "{closed}"
    );
}

/// A client that sends and never reads: the echo stops reading once about 1 MiB waits to go
/// back, the socket's read buffer fills, and TCP's flow control holds the client back; the
/// server never holds much more than that (before, it read and queued all the client sent).
#[test]
fn serve_echo_holds_back_a_client_that_never_reads() {
    const MIB: u64 = 1024 * 1024;
    /// More than any loopback socket buffers can absorb.
    const CAP: u64 = 96 * MIB;
    let (mut server, port) = serve(&["--max-connections", "1"]);
    // A write that makes no progress for this long: the server has stopped reading.
    let mut tls = unverified_client(port, Duration::from_secs(2));
    let chunk = vec![b'x'; 64 * 1024];
    let mut sent = 0u64;
    let held_back = loop {
        if sent >= CAP {
            break false;
        }
        match tls.write(&chunk) {
            Ok(n) => sent += n as u64,
            Err(_) => break true,
        }
    };
    // Gone with unread data: the server sees a reset and reports the connection closed.
    drop(tls);
    let events = serve_events(&mut server);
    let closed = events
        .iter()
        .find(|e| e["event"] == "closed")
        .unwrap_or_else(|| panic!("{events:?}"));
    let totals = &closed["byte_totals"];
    let read = totals["plaintext_read"].as_u64().expect("plaintext_read");
    let written = totals["ciphertext_written"]
        .as_u64()
        .expect("ciphertext_written");
    eprintln!("client sent {sent} bytes; server read {read}, sent back {written}");
    assert!(
        read.saturating_sub(written) < 4 * MIB,
        "the server read {read} bytes and sent back only {written}: it queued the rest"
    );
    assert!(
        held_back,
        "the client wrote {sent} bytes without being held back"
    );
}

#[test]
fn probe_sees_an_openssl_server_that_speaks_only_tls_1_0() {
    let pems = PemFiles::new();
    // Serving several connections: the probe makes one per protocol.
    let (_s_server, port) = s_server_serving(&pems, &["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]);
    let target = format!("127.0.0.1:{port}");
    let v = qssl(&["probe", &target, "--no-ciphers", "--json"])
        .expect(0)
        .json();
    let accepts: Vec<(String, Value)> = v["protocols"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["protocol"].as_str().unwrap().to_owned(),
                p["peer_accepts"].clone(),
            )
        })
        .collect();
    assert_eq!(
        accepts,
        [
            ("SslV3".to_owned(), Value::Bool(false)),
            ("TlsV1_0".to_owned(), Value::Bool(true)),
            ("TlsV1_1".to_owned(), Value::Bool(false)),
            ("TlsV1_2".to_owned(), Value::Bool(false)),
            ("TlsV1_3".to_owned(), Value::Bool(false)),
        ]
    );
    // And connect speaks TLS 1.0 when asked to (the security level drops for it).
    let v = qssl(&[
        "connect",
        &target,
        "--protocol",
        "tls1.0",
        "--ca",
        path(&pems.root),
        "--peer-name",
        "localhost",
        "--json",
    ])
    .expect(0)
    .json();
    assert_eq!(v["session"]["protocol"], "TlsV1_0");
}

// ----- STARTTLS ----------------------------------------------------------------------------------

#[test]
fn starttls_smtp_upgrades_after_the_plain_exchange() {
    let p = pki();
    let acc = acceptor(&p.leaf, &[&p.intermediate], |_| {});
    let peer = Peer::spawn(move |mut tcp, log| {
        tcp.write_all(b"220-smtp.test ESMTP\r\n220 ready\r\n")
            .unwrap();
        let ehlo = read_plain_line(&mut tcp).unwrap_or_default();
        log.push(String::from_utf8_lossy(&ehlo).trim().to_owned());
        tcp.write_all(b"250-smtp.test\r\n250 STARTTLS\r\n").unwrap();
        let starttls = read_plain_line(&mut tcp).unwrap_or_default();
        log.push(String::from_utf8_lossy(&starttls).trim().to_owned());
        tcp.write_all(b"220 go ahead\r\n").unwrap();
        if let Some(mut tls) = tls_accept(&acc, tcp, log) {
            if let Some(line) = read_line(&mut tls) {
                let _ = tls.write_all(&[b"250 ", &line[..]].concat());
            }
            let _ = tls.shutdown();
        }
    });
    let pems = PemFiles::new();
    let target = format!("127.0.0.1:{}", peer.port);
    let v = qssl(&[
        "connect",
        &target,
        "--starttls",
        "smtp",
        "--ca",
        path(&pems.root),
        "--peer-name",
        "localhost",
        "--send",
        "NOOP\\r\\n",
        "--json",
    ])
    .expect(0)
    .json();
    assert_eq!(v["encrypted"], true);
    assert_eq!(v["starttls"], "smtp");
    assert_eq!(v["received"], "250 NOOP\\r\\n");
    let log = peer.join();
    assert_eq!(log.events[1..3], ["EHLO qssl.invalid", "STARTTLS"]);
    assert!(
        log.events[3].starts_with("handshake_ok"),
        "{:?}",
        log.events
    );
}

#[test]
fn starttls_refusal_is_reported() {
    let peer = Peer::spawn(|mut tcp, _| {
        tcp.write_all(b"+OK POP3 ready\r\n").unwrap();
        let _ = read_plain_line(&mut tcp);
        tcp.write_all(b"-ERR not today\r\n").unwrap();
        let _ = read_plain_line(&mut tcp);
    });
    let target = format!("127.0.0.1:{}", peer.port);
    let run = qssl(&["connect", &target, "--starttls", "pop3"]);
    run.expect(1);
    assert!(run.stderr.contains("-ERR not today"), "{}", run.stderr);
    peer.join();
}
