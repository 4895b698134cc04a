//! Runs every program in examples/ (Qt's QSslSocket snippets in Rust, each against a local peer
//! it starts itself) and checks what it prints.
//!
//! The example binaries live in `target/<profile>/examples/`, next to this test's own
//! `target/<profile>/deps/`. `cargo test --all-targets` compiles examples only as test harnesses
//! (`examples/<name>-<hash>`, which do not run `main`), so the first test to need them runs
//! `cargo build --examples` for this profile and target directory (quick when they are up to
//! date; cargo does not hold its build lock while tests run).

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use common::external::Proc;

/// Bound for one example run.
const EXAMPLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound for building the examples (a cold build on a busy two-core machine).
const BUILD_TIMEOUT: Duration = Duration::from_secs(900);

/// target/<profile>/examples/, built and up to date.
fn examples_dir() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let exe = std::env::current_exe().expect("test executable path");
            let profile_dir = exe
                .parent()
                .and_then(|deps| deps.parent())
                .expect("target/<profile>/deps/<test>")
                .to_path_buf();
            let target_dir = profile_dir.parent().expect("target/<profile>");
            let profile = profile_dir
                .file_name()
                .and_then(|n| n.to_str())
                .expect("profile directory name");
            let mut cmd = Command::new(env!("CARGO"));
            cmd.args(["build", "--examples", "--quiet", "--manifest-path"])
                .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
                .env("CARGO_TARGET_DIR", target_dir);
            match profile {
                "debug" => {}
                "release" => {
                    cmd.arg("--release");
                }
                other => {
                    cmd.args(["--profile", other]);
                }
            }
            if std::env::var("CI").as_deref() == Ok("true") {
                cmd.arg("--locked");
            }
            let mut build = Proc::spawn("cargo build --examples", cmd);
            build.close_stdin();
            let status = build.wait_exit(BUILD_TIMEOUT);
            assert!(
                status.success(),
                "`cargo build --examples` failed ({status}):\n{}",
                build.transcript()
            );
            profile_dir.join("examples")
        })
        .clone()
}

fn example_binary(name: &str) -> PathBuf {
    let path = examples_dir().join(name);
    assert!(
        path.is_file(),
        "example binary {} not found after `cargo build --examples`",
        path.display()
    );
    path
}

/// Runs an example to completion and returns its output (stdout and stderr, one line each).
fn run(name: &str) -> Vec<String> {
    let mut proc = Proc::spawn(name, Command::new(example_binary(name)));
    proc.close_stdin();
    let status = proc.wait_exit(EXAMPLE_TIMEOUT);
    assert!(
        status.success(),
        "example {name} failed ({status}):\n{}",
        proc.transcript()
    );
    proc.seen()
}

fn assert_lines(name: &str, lines: &[String], expected: &[&str]) {
    for want in expected {
        assert!(
            lines.iter().any(|l| l.contains(want)),
            "{name}: no line with {want:?} in:\n{}",
            lines.join("\n")
        );
    }
}

#[test]
fn imap_write_before_encrypted() {
    let lines = run("imap_write_before_encrypted");
    assert_lines(
        "imap_write_before_encrypted",
        &lines,
        &[
            "queued 1 CAPABILITY before encrypted",
            "encrypted: TlsV1_",
            "S: * OK IMAP4rev1 example ready",
            "S: * CAPABILITY IMAP4rev1",
            "S: 1 OK CAPABILITY completed",
            "done",
        ],
    );
    // The command was queued before the handshake finished.
    let queued = lines.iter().position(|l| l.starts_with("queued")).unwrap();
    let encrypted = lines
        .iter()
        .position(|l| l.starts_with("encrypted"))
        .unwrap();
    assert!(queued < encrypted, "{lines:?}");
}

#[test]
fn server_incoming_connection() {
    let lines = run("server_incoming_connection");
    assert_lines(
        "server_incoming_connection",
        &lines,
        &[
            "server: incoming_connection(fd ",
            "server: encrypted (TlsV1_",
            "server: echoing \"hello, incoming_connection\\n\"",
            "client: got \"hello, incoming_connection\\n\"",
        ],
    );
}

#[test]
fn blocking_https_get() {
    let lines = run("blocking_https_get");
    assert_eq!(lines.first().map(String::as_str), Some("HTTP/1.0 200 OK"));
    assert_lines(
        "blocking_https_get",
        &lines,
        &["Content-Length: 63", "hello from a local QSslSocket server"],
    );
}

#[test]
fn ignore_expected_ssl_errors() {
    let lines = run("ignore_expected_ssl_errors");
    assert_eq!(
        lines,
        [
            "the expected server:",
            "  ssl_errors: SelfSignedCertificate (The certificate is self-signed, and untrusted)",
            "  encrypted; the error was ignored because it was expected",
            "another self-signed server:",
            "  ssl_errors: SelfSignedCertificate (The certificate is self-signed, and untrusted)",
            "  refused: The certificate is self-signed, and untrusted",
        ]
    );
}

#[test]
fn set_ciphers_string() {
    let lines = run("set_ciphers_string");
    assert_lines(
        "set_ciphers_string",
        &lines,
        &[
            "Resolved (3): DHE-RSA-AES256-SHA, DHE-DSS-AES256-SHA, AES256-SHA",
            "ciphers(): DHE-RSA-AES256-SHA, DHE-DSS-AES256-SHA, AES256-SHA",
            "negotiated: TlsV1_2 ",
        ],
    );
    let negotiated = lines.iter().find(|l| l.starts_with("negotiated:")).unwrap();
    assert!(
        ["DHE-RSA-AES256-SHA", "AES256-SHA"]
            .iter()
            .any(|c| negotiated.contains(&format!(" {c} "))),
        "{negotiated}"
    );
}
