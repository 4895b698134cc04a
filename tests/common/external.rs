//! External peers run as child processes: the `openssl` command-line tool and the Python scripts
//! under tests/peers/. A child is killed (and reaped) when its [`Proc`] is dropped, its stdout and
//! stderr are read line by line on threads, and every wait on it has a deadline, so a test can
//! neither hang on a peer nor leave one behind.
//!
//! A missing tool is a test failure with instructions, never a silent skip.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The bound for a peer to start up or answer.
pub const PROC_TIMEOUT: Duration = Duration::from_secs(20);

/// The `openssl` command-line tool: /usr/bin/openssl, else the first `openssl` on PATH. Panics
/// with installation instructions when there is none.
pub fn openssl_binary() -> PathBuf {
    static FOUND: OnceLock<Option<PathBuf>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let preferred = PathBuf::from("/usr/bin/openssl");
            if preferred.is_file() {
                return Some(preferred);
            }
            std::env::var_os("PATH").and_then(|path| {
                std::env::split_paths(&path)
                    .map(|dir| dir.join("openssl"))
                    .find(|p| p.is_file())
            })
        })
        .clone()
        .unwrap_or_else(|| {
            panic!(
                "this test needs the `openssl` command-line tool (s_server/s_client), and neither \
                 /usr/bin/openssl nor an `openssl` on PATH exists. Install it: on Debian/Ubuntu \
                 `apt-get install openssl` (`bash ci/system-deps.sh` does this; CI runs it)"
            )
        })
}

/// The Python interpreter for the peers under tests/peers/: `$QSSL_TEST_PYTHON` (the venv that
/// `ci/python-env.sh` makes and `ci/test.sh` exports), else `python3` on PATH (the peers use only
/// the standard library). Panics with instructions when neither works.
pub fn python() -> PathBuf {
    static FOUND: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    FOUND
        .get_or_init(|| {
            let (candidate, origin) = match std::env::var_os("QSSL_TEST_PYTHON") {
                Some(p) if !p.is_empty() => (PathBuf::from(p), "QSSL_TEST_PYTHON"),
                _ => (PathBuf::from("python3"), "python3 on PATH (QSSL_TEST_PYTHON is unset)"),
            };
            let probe = Command::new(&candidate)
                .args(["-c", "import ssl, sys; assert sys.version_info >= (3, 8); print(ssl.OPENSSL_VERSION)"])
                .stdin(Stdio::null())
                .output();
            match probe {
                Ok(o) if o.status.success() => Ok(candidate),
                Ok(o) => Err(format!(
                    "{} from {origin} cannot import ssl or is older than 3.8: {}",
                    candidate.display(),
                    String::from_utf8_lossy(&o.stderr).trim()
                )),
                Err(e) => Err(format!("{} from {origin} does not run: {e}", candidate.display())),
            }
        })
        .clone()
        .unwrap_or_else(|why| {
            panic!(
                "this test needs Python 3 with its ssl module for the peers in tests/peers/, but \
                 {why}. Install python3 (Debian: `apt-get install python3 python3-venv`), then run \
                 `bash ci/python-env.sh` and `export QSSL_TEST_PYTHON=~/.cache/qsslsocket-venv/bin/python` \
                 (ci/test.sh and .ci/run set it)"
            )
        })
}

/// A peer script's path (tests/peers/NAME).
pub fn peer_script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/peers")
        .join(name)
}

/// Which stream a line came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// A running child process, killed on drop.
pub struct Proc {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<(Stream, String)>,
    /// Every line read so far, in arrival order (for assertions and failure messages).
    seen: Vec<(Stream, String)>,
}

impl Proc {
    /// Starts `command` with piped stdin, stdout and stderr.
    pub fn spawn(name: &str, mut command: Command) -> Proc {
        command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({command:?}): {e}"));
        let (tx, lines) = mpsc::channel();
        let stdout = child.stdout.take().expect("piped stdout");
        let stderr = child.stderr.take().expect("piped stderr");
        forward_lines(stdout, Stream::Stdout, tx.clone());
        forward_lines(stderr, Stream::Stderr, tx);
        let stdin = child.stdin.take();
        Proc {
            name: name.to_owned(),
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits for a line (on either stream) for which `pred` holds and returns it; earlier lines
    /// stay in `seen()`. Panics with everything the process printed if `timeout` passes or the
    /// process ends first.
    pub fn expect_line(
        &mut self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&str) -> bool,
    ) -> String {
        match self.wait_line(timeout, pred) {
            Some(line) => line,
            None => {
                let transcript = self.transcript();
                panic!(
                    "{}: no line {what} within {timeout:?}; it printed:\n{transcript}",
                    self.name
                )
            }
        }
    }

    /// Like `expect_line`, but `None` on timeout or end of output.
    pub fn wait_line(&mut self, timeout: Duration, pred: impl Fn(&str) -> bool) -> Option<String> {
        if let Some((_, l)) = self.seen.iter().find(|(_, l)| pred(l)) {
            return Some(l.clone());
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok((stream, line)) => {
                    let hit = pred(&line);
                    self.seen.push((stream, line.clone()));
                    if hit {
                        return Some(line);
                    }
                }
                Err(RecvTimeoutError::Timeout) | Err(RecvTimeoutError::Disconnected) => {
                    return None;
                }
            }
        }
    }

    /// The value after `KEY ` of the first stdout line starting with `KEY `, waiting for it.
    pub fn expect_value(&mut self, key: &str, timeout: Duration) -> String {
        let prefix = format!("{key} ");
        let line = self.expect_line(&format!("starting with {prefix:?}"), timeout, |l| {
            l.starts_with(&prefix)
        });
        line[prefix.len()..].to_owned()
    }

    /// Collects what has arrived so far without waiting.
    pub fn drain(&mut self) {
        while let Ok(item) = self.lines.try_recv() {
            self.seen.push(item);
        }
    }

    /// Every line so far.
    pub fn seen(&mut self) -> Vec<String> {
        self.drain();
        self.seen.iter().map(|(_, l)| l.clone()).collect()
    }

    /// The lines printed on stdout so far.
    pub fn stdout_lines(&mut self) -> Vec<String> {
        self.drain();
        self.seen
            .iter()
            .filter(|(s, _)| *s == Stream::Stdout)
            .map(|(_, l)| l.clone())
            .collect()
    }

    /// Everything printed so far, one line each, with the stream marked.
    pub fn transcript(&mut self) -> String {
        self.drain();
        self.seen
            .iter()
            .map(|(s, l)| {
                format!(
                    "  [{}] {l}",
                    if *s == Stream::Stdout { "out" } else { "err" }
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Writes to the child's stdin.
    pub fn send(&mut self, data: &[u8]) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        stdin.write_all(data).expect("write to child stdin");
        stdin.flush().expect("flush child stdin");
    }

    /// Closes the child's stdin (end of input).
    pub fn close_stdin(&mut self) {
        self.stdin = None;
    }

    /// Waits (bounded) for the child to exit and for its output to end.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    // Let the reader threads deliver the rest of the output.
                    while let Ok(item) = self
                        .lines
                        .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                    {
                        self.seen.push(item);
                    }
                    return status;
                }
                Ok(None) => {}
                Err(e) => panic!("{}: wait failed: {e}", self.name),
            }
            if Instant::now() >= deadline {
                let transcript = self.transcript();
                panic!(
                    "{}: still running after {timeout:?}; it printed:\n{transcript}",
                    self.name
                );
            }
            // Polling the exit status with a deadline; the output keeps arriving meanwhile.
            if let Ok(item) = self.lines.recv_timeout(Duration::from_millis(10)) {
                self.seen.push(item);
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stdin = None;
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn forward_lines(
    pipe: impl Read + Send + 'static,
    stream: Stream,
    tx: mpsc::Sender<(Stream, String)>,
) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
                        line.pop();
                    }
                    let text = String::from_utf8_lossy(&line).into_owned();
                    if tx.send((stream, text)).is_err() {
                        return;
                    }
                }
            }
        }
    });
}

/// Asks the real Qt: runs `tests/peers/<script>` (a PyQt6 program) with `args` and `input` on
/// its stdin, and returns its stdout as JSON values, one per line. Bounded by `PROC_TIMEOUT`;
/// a failure panics with the script's output and how to install PyQt6.
pub fn ask_qt(script: &str, args: &[String], input: &[u8]) -> Vec<serde_json::Value> {
    let mut command = Command::new(python());
    command
        .arg(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/peers")
                .join(script),
        )
        .args(args);
    let mut proc = Proc::spawn(script, command);
    proc.send(input);
    proc.close_stdin();
    let status = proc.wait_exit(PROC_TIMEOUT);
    assert!(
        status.success(),
        "{script} (needs PyQt6: bash ci/python-env.sh) ended with {status}:\n{}",
        proc.transcript()
    );
    proc.stdout_lines()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{script}: {e}: {l}")))
        .collect()
}

/// Compares, field by field, what the crate answered (`ours`, a JSON object) with what Qt
/// answered for each named case, and fails listing every difference.
pub fn assert_same_fields(
    cases: impl IntoIterator<Item = (String, serde_json::Value, serde_json::Value)>,
) {
    let mut differences = Vec::new();
    for (what, ours, qt) in cases {
        for (field, value) in ours.as_object().expect("an object") {
            if &qt[field] != value {
                differences.push(format!(
                    "{what}: {field}:\n  Qt:    {}\n  crate: {value}",
                    qt[field]
                ));
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}
