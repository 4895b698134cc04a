//! A driver shaped like the Qt reference harness (qtref's `run_qt_client`): it attaches a
//! recorder, reads lines as they arrive and hands them to a hook, and drives the socket until it
//! is finished (disconnected, or unconnected after an error), bounded in time.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use qsslsocket::{SocketState, SslSocket};

use super::recorder::Recorder;

/// The default bound for a scenario.
pub const SCENARIO_TIMEOUT: Duration = Duration::from_secs(10);

type LineHook = Box<dyn FnMut(&mut SslSocket, &[u8]) + Send>;

/// The lines received so far, shared with the read slot.
#[derive(Clone, Default)]
pub struct Lines {
    pub received: Arc<Mutex<Vec<u8>>>,
}

impl Lines {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }
}

/// Connects a recorder and a line reader to `socket`. Every complete line goes to `on_line`.
pub fn attach(
    socket: &mut SslSocket,
    mut on_line: impl FnMut(&mut SslSocket, &[u8]) + Send + 'static,
) -> (Recorder, Lines) {
    let recorder = Recorder::attach(socket);
    let lines = Lines::default();
    let received = lines.received.clone();
    let mut partial = Vec::new();
    let mut hook: LineHook = Box::new(move |s, l| on_line(s, l));
    socket.on_ready_read(move |s| {
        let data = s.read_all();
        received.lock().unwrap().extend_from_slice(&data);
        partial.extend_from_slice(&data);
        while let Some(i) = partial.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = partial.drain(..=i).collect();
            hook(s, &line);
        }
    });
    (recorder, lines)
}

/// Drives `socket` until the recorder saw `disconnected`, or the socket is unconnected after an
/// error or a state change, or `timeout` passes. Returns whether it finished.
pub fn drive_until_finished(
    socket: &mut SslSocket,
    recorder: &Recorder,
    timeout: Duration,
) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        let events = recorder.signals();
        let finished = events.iter().any(|e| e == "disconnected")
            || (socket.state() == SocketState::UnconnectedState
                && events
                    .iter()
                    .any(|e| e.starts_with("errorOccurred") || e.starts_with("stateChanged")));
        if finished {
            return true;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return false;
        }
        if socket.state() == SocketState::UnconnectedState {
            return false;
        }
        socket.wait_for_disconnected(left.as_millis() as i32);
    }
}
