//! How connections end (Qt §1.7, §1.8): `disconnect_from_host` (flush, close_notify, FIN),
//! `close`, `abort`, the peer closing, and the internal teardown they share.
//!
//! Deliberate differences from Qt: data that arrived before the peer closed stays readable
//! (QTBUG-23607), and `close()` delivers close_notify, which Qt reports but does not send.

use crate::{SocketError, SocketState, SslMode};

use super::SslSocket;

impl SslSocket {
    /// Closes gracefully (Qt: `disconnectFromHost`): queued data is sent first, then
    /// close_notify (after a completed handshake), then TCP is closed.
    ///
    /// While the host is looked up or TCP connects, the close is only noted: with
    /// `connect_to_host_encrypted` the handshake completes, `encrypted` fires, queued data is
    /// sent, and then the connection closes.
    ///
    /// # Signals
    /// `state_changed(ClosingState)` once the connection starts closing (twice for a TLS
    /// connection, as in Qt, whose plain socket reports its own transition; a repeated call
    /// reports nothing), later `encrypted_bytes_written` for the close_notify,
    /// `state_changed(UnconnectedState)`, `read_channel_finished` and `disconnected`.
    #[doc(alias = "disconnectFromHost")]
    pub fn disconnect_from_host(&mut self) {
        if self.begin_close() {
            // The rest happens as the socket is driven: flush, then `finish_close`.
            self.drive();
        }
    }

    /// `disconnect_from_host` without driving, for the pump itself (a pass in progress goes on
    /// to flush and finish the close; a nested drive would disturb it). Returns whether the
    /// close is under way and needs driving.
    pub(super) fn begin_close(&mut self) -> bool {
        match self.state {
            SocketState::UnconnectedState => return false,
            SocketState::HostLookupState | SocketState::ConnectingState => {
                self.pending_close = true;
                return false;
            }
            _ => {}
        }
        if self.tcp.is_none() {
            return false;
        }
        let generation = self.generation;
        // Qt: `if (d->state != ClosingState)`, so a second call (or the one after a pending
        // close) reports nothing.
        if self.state != SocketState::ClosingState {
            self.set_state(SocketState::ClosingState);
            if self.generation != generation {
                return false;
            }
        }
        if !self.write_buf.is_empty() && self.mode != SslMode::UnencryptedMode {
            // Sent once the handshake allows; then this runs again.
            self.pending_close = true;
            return false;
        }
        if let Some(engine) = self.engine.as_mut() {
            // Qt 5.15/6 send close_notify only after a complete handshake without fatal errors;
            // unlike Qt, the crate also answers a close_notify the peer sent first.
            engine.shutdown();
            // Qt's plain socket now closes and reports its own ClosingState, the first time.
            if !std::mem::replace(&mut self.tcp_closing, true) {
                self.set_state(SocketState::ClosingState);
                if self.generation != generation {
                    return false;
                }
            }
        }
        true
    }

    /// Closes the device (Qt: `close`): pending data is flushed without blocking, close_notify is
    /// sent after a complete handshake, the connection closes, and the read and write buffers are
    /// cleared.
    pub fn close(&mut self) {
        if !self.open && self.state == SocketState::UnconnectedState {
            return;
        }
        let generation = self.generation;
        self.emit_about_to_close();
        if self.generation != generation {
            return;
        }
        self.best_effort_flush(true);
        self.open = false;
        let was_connected = self.state != SocketState::UnconnectedState;
        self.linger_tcp();
        self.teardown();
        self.read_buf = Default::default();
        self.write_buf = Default::default();
        if was_connected {
            self.announce_unconnected();
        }
    }

    /// Closes at once (Qt: `abort`): pending data is discarded, no close_notify is sent.
    /// Safe to call from any slot.
    pub fn abort(&mut self) {
        let was_open = self.open;
        let was_connected = self.state != SocketState::UnconnectedState;
        self.open = false;
        self.teardown();
        self.read_buf = Default::default();
        self.write_buf = Default::default();
        let generation = self.generation;
        if was_connected {
            self.announce_unconnected();
            if self.generation != generation {
                return;
            }
        }
        if was_open {
            self.emit_about_to_close();
        }
    }

    /// After a fatal TLS error: send OpenSSL's alert if the socket takes it, then abort (Qt 6).
    pub(super) fn abort_after_error(&mut self) {
        self.best_effort_flush(false);
        self.abort();
    }

    /// Qt's plain-socket `disconnectFromHost` after failed verification: FIN, no TLS alert.
    pub(super) fn close_tcp_gracefully(&mut self) {
        let generation = self.generation;
        self.set_state(SocketState::ClosingState);
        if self.generation != generation {
            return;
        }
        self.best_effort_flush(false);
        self.linger_tcp();
        self.teardown();
        self.announce_unconnected();
    }

    /// Our side is done (queued data and close_notify were sent): FIN, then the descriptor
    /// lingers (see `linger.rs`) so that late data from the peer cannot reset what we sent.
    pub(super) fn finish_close(&mut self) {
        self.linger_tcp();
        self.teardown();
        self.announce_unconnected();
    }

    /// Sends FIN and, unless the peer has already ended its side (then nothing more can arrive
    /// and provoke a reset), hands the socket to the lingering thread.
    fn linger_tcp(&mut self) {
        if let Some(tcp) = self.tcp.take() {
            tcp.shutdown_write();
            if !self.tcp_eof {
                super::linger::linger(tcp);
            }
        }
    }

    /// The peer closed (FIN or RST) or the connection broke. Everything that arrived before is
    /// already decrypted into the read buffer and stays readable.
    pub(super) fn connection_lost(&mut self, error: SocketError, text: &str) {
        let (error, text) = match self.tcp_reset.take() {
            Some(e) => super::tcp::transfer_error(&e),
            None => (error, text),
        };
        if self.engine.as_ref().is_some_and(|e| e.is_handshake_done())
            && self.peer_closed_cleanly.is_none()
        {
            self.peer_closed_cleanly = Some(false);
        }
        let generation = self.generation;
        self.set_error_and_emit(error, text);
        if self.generation != generation {
            return;
        }
        self.set_state(SocketState::ClosingState);
        if self.generation != generation {
            return;
        }
        self.teardown();
        self.announce_unconnected();
    }

    /// Emits Qt's end-of-connection sequence.
    fn announce_unconnected(&mut self) {
        let generation = self.generation;
        self.encrypted = false;
        self.set_state(SocketState::UnconnectedState);
        if self.generation != generation {
            return;
        }
        self.emit_read_channel_finished();
        if self.generation != generation {
            return;
        }
        self.emit_disconnected();
        if self.generation == generation {
            // Qt clears them after `disconnected`, so its slots still see them.
            self.local_address = None;
            self.peer_address = None;
            self.peer_name.clear();
        }
    }

    /// Writes what the kernel takes right now, without blocking or emitting signals; with
    /// `encrypt_queued`, queued plaintext and close_notify go too.
    fn best_effort_flush(&mut self, encrypt_queued: bool) {
        if self.tcp.is_none() {
            return;
        }
        // Write errors end the connection anyway; what could not be sent is dropped.
        let _ = self.write_to_tcp(false);
        if self.engine.is_none() {
            return;
        }
        if encrypt_queued && self.encrypted {
            let _ = self.encrypt_write_buf();
            if let Some(engine) = self.engine.as_mut() {
                engine.shutdown();
            }
        }
        let _ = self.write_to_tcp(true);
    }

    /// Drops the TCP socket and the engine (keeping its session resumable) and per-connection
    /// transport state. Invalidates any pump pass in progress.
    pub(super) fn teardown(&mut self) {
        self.generation = self.generation.wrapping_add(1);
        if let Some(mut engine) = self.engine.take() {
            engine.keep_session_resumable();
        }
        self.tcp = None;
        self.lookup = None;
        self.addresses.clear();
        self.plain_out = Default::default();
        self.tcp_eof = false;
        self.tcp_reset = None;
        self.paused = false;
        self.resume_requested = false;
        self.pending_close = false;
        self.tcp_closing = false;
        self.unreported_sent = 0;
    }
}

impl Drop for SslSocket {
    /// A socket dropped while closing still gets its queued ciphertext (and close_notify) out if
    /// the kernel takes it without blocking; no signals are emitted.
    fn drop(&mut self) {
        if self.state == SocketState::ClosingState {
            self.best_effort_flush(false);
            self.linger_tcp();
        }
        if let Some(engine) = self.engine.as_mut() {
            engine.keep_session_resumable();
        }
    }
}
