//! Records every signal of an `SslSocket` in the vocabulary of the Qt reference traces
//! (tests/data/qt-reference-traces.jsonl), and extracts those traces for comparison.

use std::sync::{Arc, Mutex};

use qsslsocket::{SslError, SslSocket};

/// Signal names the crate does not model (Qt 6's alert signals) are left out of comparisons.
const UNMODELLED: &[&str] = &[
    "alertSent",
    "alertReceived",
    "handshakeInterruptedOnError",
    "preSharedKeyAuthenticationRequired",
];

/// The recorded signals, shared with the slots.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Arc<Mutex<Vec<String>>>,
}

fn kinds(errors: &[SslError]) -> String {
    let names: Vec<String> = errors.iter().map(|e| e.error().to_string()).collect();
    format!("[{}]", names.join(", "))
}

impl Recorder {
    /// Connects to every signal of `socket`.
    pub fn attach(socket: &mut SslSocket) -> Recorder {
        let r = Recorder::default();
        macro_rules! on {
            ($method:ident, |$($arg:ident),*| $fmt:expr) => {{
                let events = r.events.clone();
                socket.$method(move |_s, $($arg),*| events.lock().unwrap().push($fmt));
            }};
            ($method:ident, $name:expr) => {{
                let events = r.events.clone();
                socket.$method(move |_s| events.lock().unwrap().push($name.to_string()));
            }};
        }
        on!(on_state_changed, |state| format!("stateChanged {state}"));
        on!(on_host_found, "hostFound");
        on!(on_connected, "connected");
        on!(on_disconnected, "disconnected");
        on!(on_mode_changed, |mode| format!("modeChanged {mode}"));
        on!(on_encrypted, "encrypted");
        on!(on_ready_read, "readyRead");
        on!(on_bytes_written, |_n| "bytesWritten".to_string());
        on!(on_encrypted_bytes_written, |_n| "encryptedBytesWritten"
            .to_string());
        on!(on_error_occurred, |error| format!("errorOccurred {error}"));
        on!(on_read_channel_finished, "readChannelFinished");
        on!(on_about_to_close, "aboutToClose");
        on!(on_peer_verify_error, |error| format!(
            "peerVerifyError {}",
            error.error()
        ));
        on!(on_ssl_errors, |errors| format!(
            "sslErrors {}",
            kinds(errors)
        ));
        r
    }

    pub fn events(&self) -> Vec<String> {
        self.events.lock().unwrap().clone()
    }

    /// Adds a marker (what the test called), kept out of comparisons.
    pub fn mark(&self, what: &str) {
        self.events.lock().unwrap().push(format!(". {what}"));
    }

    /// The recorded signals without markers.
    pub fn signals(&self) -> Vec<String> {
        self.events()
            .into_iter()
            .filter(|e| !e.starts_with(". "))
            .collect()
    }
}

/// The signal sequence Qt emitted in `scenario`, up to the harness' own cleanup, in the
/// recorder's vocabulary (byte counts and alert signals left out).
pub fn qt_signals(scenario: &str) -> Vec<String> {
    let trace = qt_trace(scenario);
    let mut out = Vec::new();
    for item in trace["trace"].as_array().expect("trace array") {
        if let Some(mark) = item["mark"].as_str() {
            if mark.starts_with("harness cleanup") {
                break;
            }
            continue;
        }
        let Some(sig) = item["sig"].as_str() else {
            continue;
        };
        if UNMODELLED.contains(&sig) {
            continue;
        }
        out.push(match sig {
            "stateChanged" => format!("stateChanged {}", item["state"].as_str().unwrap_or("")),
            "modeChanged" => format!("modeChanged {}", item["mode"].as_str().unwrap_or("")),
            "errorOccurred" => format!("errorOccurred {}", item["error"].as_str().unwrap_or("")),
            "peerVerifyError" => {
                format!(
                    "peerVerifyError {}",
                    item["error"]
                        .as_str()
                        .or_else(|| item["errors"][0].as_str())
                        .unwrap_or("")
                )
            }
            "sslErrors" => {
                let names: Vec<&str> = item["errors"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|e| e.as_str().or_else(|| e["error"].as_str()))
                            .collect()
                    })
                    .unwrap_or_default();
                format!("sslErrors [{}]", names.join(", "))
            }
            other => other.to_string(),
        });
    }
    out
}

/// One scenario's full JSON record.
pub fn qt_trace(scenario: &str) -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/qt-reference-traces.jsonl"
    );
    let data = std::fs::read_to_string(path)
        .expect("tests/data/qt-reference-traces.jsonl must be present");
    data.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["scenario"] == scenario)
        .unwrap_or_else(|| panic!("no Qt reference trace for {scenario}"))
}
