//! The blocking helpers (`waitFor*`, Qt §1.9): each drives the socket with `poll(2)` on its one
//! descriptor until its condition holds, the connection ends, or the timeout passes. Slots run
//! while waiting. `msecs = -1` waits forever.

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::{SocketError, SocketState, SslMode};

use super::SslSocket;
use super::lookup::Lookup;

/// What the socket waits for on which descriptor (also used by `EventLoop`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Interest {
    pub(crate) fd: RawFd,
    pub(crate) read: bool,
    pub(crate) write: bool,
}

/// Qt's `waitForConnected` default per-attempt budget when waiting forever.
const CONNECT_TIMEOUT_TEXT: &str = "Socket operation timed out";
const TIMEOUT_TEXT: &str = "Network operation timed out";

/// How a wait ended.
enum Outcome {
    Done(bool),
    TimedOut,
}

impl SslSocket {
    /// Waits until TCP is connected (for `connect_to_host_encrypted`: once `connected` was
    /// emitted; the handshake goes on). Returns true at once if already connected.
    ///
    /// # Errors
    /// On timeout: `SocketTimeoutError` ("Socket operation timed out"), and the attempt is
    /// abandoned (state `UnconnectedState`), as in Qt.
    #[doc(alias = "waitForConnected")]
    pub fn wait_for_connected(&mut self, msecs: i32) -> bool {
        match self.state {
            SocketState::ConnectedState | SocketState::ClosingState => return true,
            SocketState::UnconnectedState => return false,
            _ => {}
        }
        let seen = self.connected_count;
        match self.wait_until(msecs, move |s| match s.state {
            _ if s.connected_count != seen => Some(true),
            SocketState::ConnectedState | SocketState::ClosingState => Some(true),
            SocketState::UnconnectedState => Some(false),
            _ => None,
        }) {
            Outcome::Done(ok) => ok,
            Outcome::TimedOut => {
                self.teardown();
                self.set_error(SocketError::SocketTimeoutError, CONNECT_TIMEOUT_TEXT);
                let generation = self.generation;
                self.set_state(SocketState::UnconnectedState);
                if self.generation == generation {
                    self.emit_error_occurred(SocketError::SocketTimeoutError);
                }
                false
            }
        }
    }

    /// Waits until the handshake completes (`encrypted` was emitted). Returns false at once if
    /// the socket is already encrypted (Qt's rule), not connecting, or in plain mode; false when
    /// the handshake fails.
    ///
    /// # Errors
    /// On timeout: `SocketTimeoutError` ("Network operation timed out"); the connection stays up.
    #[doc(alias = "waitForEncrypted")]
    pub fn wait_for_encrypted(&mut self, msecs: i32) -> bool {
        if self.encrypted || self.state == SocketState::UnconnectedState {
            return false;
        }
        if self.mode == SslMode::UnencryptedMode && !self.auto_start {
            return false;
        }
        let seen = self.encrypted_count;
        self.wait_or_time_out(msecs, move |s| {
            if s.encrypted || s.encrypted_count != seen {
                Some(true)
            } else if s.state == SocketState::UnconnectedState || s.paused {
                Some(false)
            } else {
                None
            }
        })
    }

    /// Waits until new data was announced with `ready_read` during this call (after waiting
    /// for the handshake in TLS mode). False when the connection ends first.
    ///
    /// # Errors
    /// On timeout: `SocketTimeoutError`; the connection stays up.
    #[doc(alias = "waitForReadyRead")]
    pub fn wait_for_ready_read(&mut self, msecs: i32) -> bool {
        if self.state == SocketState::UnconnectedState {
            return false;
        }
        let seen = self.ready_read_count;
        self.wait_or_time_out(msecs, move |s| {
            if s.ready_read_count != seen {
                Some(true)
            } else if s.state == SocketState::UnconnectedState || s.paused {
                Some(false)
            } else {
                None
            }
        })
    }

    /// Waits until queued data was written (`bytes_written` in plain mode,
    /// `encrypted_bytes_written` in TLS mode, after the handshake). False at once if nothing is
    /// queued.
    ///
    /// # Errors
    /// On timeout: `SocketTimeoutError`; the connection stays up.
    #[doc(alias = "waitForBytesWritten")]
    pub fn wait_for_bytes_written(&mut self, msecs: i32) -> bool {
        if self.state == SocketState::UnconnectedState {
            return false;
        }
        if self.queued_output() == 0 {
            return false;
        }
        let seen = self.written_count;
        self.wait_or_time_out(msecs, move |s| {
            if s.written_count != seen {
                Some(true)
            } else if s.state == SocketState::UnconnectedState || s.paused {
                Some(false)
            } else {
                None
            }
        })
    }

    /// Waits until the connection has closed. False at once if it is not connected.
    ///
    /// # Errors
    /// On timeout: `SocketTimeoutError`; the connection stays up.
    #[doc(alias = "waitForDisconnected")]
    pub fn wait_for_disconnected(&mut self, msecs: i32) -> bool {
        if self.state == SocketState::UnconnectedState {
            return false;
        }
        self.wait_or_time_out(msecs, |s| {
            (s.state == SocketState::UnconnectedState).then_some(true)
        })
    }

    /// What the socket needs from its descriptor right now, if anything.
    pub(crate) fn interest(&self) -> Option<Interest> {
        match self.state {
            SocketState::HostLookupState => self.lookup.as_ref().map(|l| Interest {
                fd: Lookup::fd(l),
                read: true,
                write: false,
            }),
            SocketState::ConnectingState => self.tcp.as_ref().map(|t| Interest {
                fd: t.fd(),
                read: false,
                write: true,
            }),
            SocketState::ConnectedState | SocketState::ClosingState => {
                let tcp = self.tcp.as_ref()?;
                let active = !self.paused;
                Some(Interest {
                    fd: tcp.fd(),
                    read: active && !self.tcp_eof && self.may_receive(),
                    write: active && (!self.outgoing_empty() || self.unreported_sent > 0),
                })
            }
            _ => None,
        }
    }

    fn wait_or_time_out(
        &mut self,
        msecs: i32,
        done: impl FnMut(&mut SslSocket) -> Option<bool>,
    ) -> bool {
        match self.wait_until(msecs, done) {
            Outcome::Done(ok) => ok,
            Outcome::TimedOut => {
                self.set_error_and_emit(SocketError::SocketTimeoutError, TIMEOUT_TEXT);
                false
            }
        }
    }

    fn wait_until(
        &mut self,
        msecs: i32,
        done: impl FnMut(&mut SslSocket) -> Option<bool>,
    ) -> Outcome {
        self.as_blocking_call(|s| s.blocking_wait_until(msecs, done))
    }

    fn blocking_wait_until(
        &mut self,
        msecs: i32,
        mut done: impl FnMut(&mut SslSocket) -> Option<bool>,
    ) -> Outcome {
        let deadline = (msecs >= 0).then(|| Instant::now() + Duration::from_millis(msecs as u64));
        loop {
            let was_connecting = self.state == SocketState::ConnectingState;
            self.drive();
            if let Some(result) = done(self) {
                return Outcome::Done(result);
            }
            if was_connecting && self.state == SocketState::ConnectedState {
                // The drive that connects stops there (see `drive`); the ClientHello it
                // prepared can go at once, without asking poll(2) whether the socket is writable.
                continue;
            }
            if self.interest().is_none_or(|i| !i.read && !i.write) {
                // Nothing can change without the application (e.g. a full read buffer): only
                // the clock is left.
                if let Some(deadline) = deadline {
                    std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
                    return Outcome::TimedOut;
                }
                return Outcome::Done(false);
            }
            match self.wait_for_activity(deadline) {
                Ok(true) => {}
                Ok(false) => {
                    self.drive();
                    return match done(self) {
                        Some(result) => Outcome::Done(result),
                        None => Outcome::TimedOut,
                    };
                }
                Err(_) => return Outcome::Done(false),
            }
        }
    }
}
