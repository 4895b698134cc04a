//! One drive of the socket: Qt's `transmit()` with the plain `QTcpSocket` folded in. Moves
//! plaintext into the engine, ciphertext to and from TCP, advances the handshake, decrypts, and
//! notices the end of the connection — emitting the signals Qt emits at each point.

use crate::engine::{Failure, ReadOutcome};
use crate::{SocketError, SocketState, SslMode};

use super::SslSocket;
use super::tcp::{self, ReadResult};

/// How much is read from TCP per system call: a bulk transfer then needs few recv(2) calls
/// (OpenSSL alone makes two per 16 KiB record). Idle buffers go back to the pool.
pub(super) const READ_CHUNK: usize = 256 * 1024;
/// How much plaintext is decrypted per `SSL_read` call.
const DECRYPT_CHUNK: usize = 16 * 1024;
/// The largest TLS record on the wire, header included, with OpenSSL's allowances (rounded up):
/// with a read buffer limit, this much ciphertext may always be buffered, so that decryption and
/// the handshake can make progress however small the limit.
const MAX_RECORD: usize = 18 * 1024;

/// What one `receive` call did.
struct Received {
    /// Bytes arrived, or the end of the stream.
    moved: bool,
    /// The kernel had nothing more (until new data arrives).
    drained: bool,
    /// Plain mode: data for the read buffer, to be announced with `readyRead`.
    plain_data: bool,
}

impl SslSocket {
    /// Does all the work that can be done without blocking, emitting signals on the way.
    /// Returns whether anything happened.
    pub(crate) fn drive(&mut self) -> bool {
        let generation = self.generation;
        let before = (self.state, self.totals);
        self.send_deferred = false;
        if self.handshake_expired() {
            self.handshake_timed_out();
            return true;
        }
        self.run_queued_resume();
        if self.generation != generation {
            return true;
        }
        if self.state == SocketState::HostLookupState {
            self.poll_lookup();
        }
        if self.generation == generation && self.state == SocketState::ConnectingState {
            self.poll_connect();
            // Like Qt, the drive that delivers `connected` ends there: the ClientHello waits
            // for the next one (so `wait_for_connected` returns before the handshake runs).
            if self.state != SocketState::ConnectingState {
                return true;
            }
        }
        if self.generation == generation
            && matches!(
                self.state,
                SocketState::ConnectedState | SocketState::ClosingState
            )
        {
            self.transmit();
        }
        (self.state, self.totals) != before || self.generation != generation
    }

    /// The instant by which the socket needs to be driven even without I/O (a server-side
    /// handshake timeout), for `wait_for_*` and `EventLoop`.
    pub(crate) fn next_deadline(&self) -> Option<std::time::Instant> {
        self.handshake_deadline.filter(|_| self.handshake_pending())
    }

    /// Sets (or clears) the time by which the handshake must complete (Qt 6.4 `QSslServer`'s
    /// handshake timeout).
    pub(crate) fn set_handshake_deadline(&mut self, deadline: Option<std::time::Instant>) {
        self.handshake_deadline = deadline;
    }

    fn handshake_pending(&self) -> bool {
        !self.encrypted && self.state != SocketState::UnconnectedState
    }

    fn handshake_expired(&self) -> bool {
        self.next_deadline()
            .is_some_and(|d| std::time::Instant::now() >= d)
    }

    /// QSslServer's handshake timer fired: report `SocketTimeoutError` and drop the connection.
    fn handshake_timed_out(&mut self) {
        self.handshake_deadline = None;
        let generation = self.generation;
        self.set_error_and_emit(
            SocketError::SocketTimeoutError,
            "Network operation timed out",
        );
        if self.generation == generation {
            self.abort();
        }
    }

    /// Qt's `transmit()`: repeat until nothing moves.
    fn transmit(&mut self) {
        let generation = self.generation;
        // Once recv(2) has found the kernel empty, later iterations of this pass do not ask
        // again: what arrives meanwhile wakes the next poll (a recv per iteration cost one
        // EAGAIN per connection step). A blocking call, which polls next, does not ask either
        // if an earlier pass found it empty.
        let mut tcp_drained = self.in_blocking_call && self.kernel_drained;
        for _ in 0..1024 {
            let mut plain_data = false;
            let mut moved = self.encrypt_queued();
            if self.generation != generation {
                return;
            }
            match self.send_pending() {
                Some(true) => moved = true,
                Some(false) => {}
                None => return,
            }
            if self.generation != generation {
                return;
            }
            if self.our_close_complete() {
                // Like Qt's plain socket: once our queued bytes (and close_notify) are out, the
                // connection closes without waiting for the peer.
                self.finish_close();
                return;
            }
            if !tcp_drained {
                let received = self.receive(usize::MAX);
                moved |= received.moved;
                tcp_drained = received.drained;
                plain_data = received.plain_data;
            }
            if self.engine.is_some() && !self.encrypted && !self.paused {
                moved |= self.step_handshake();
                if self.generation != generation || self.paused {
                    return;
                }
            }
            if self.encrypted || self.mode == SslMode::UnencryptedMode {
                moved |= self.decrypt(plain_data);
                if self.generation != generation {
                    return;
                }
            }
            if self.tcp_eof && self.nothing_left_to_decrypt() {
                self.connection_lost(
                    SocketError::RemoteHostClosedError,
                    "The remote host closed the connection",
                );
                return;
            }
            if !moved {
                break;
            }
        }
        self.release_idle_buffers();
    }

    /// Step 1: queued plaintext into the engine once encrypted. Emits `bytesWritten`.
    fn encrypt_queued(&mut self) -> bool {
        if !self.encrypted || self.write_buf.is_empty() {
            return false;
        }
        match self.encrypt_write_buf() {
            Ok(0) => false,
            Ok(n) => {
                let generation = self.generation;
                self.emit_bytes_written(n as i64);
                if self.generation == generation && self.pending_close && self.write_buf.is_empty()
                {
                    self.pending_close = false;
                    self.begin_close();
                }
                true
            }
            Err(f) => {
                self.set_error_and_emit(
                    SocketError::SslInternalError,
                    format!("Unable to write data: {}", f.reasons),
                );
                self.abort_after_error();
                false
            }
        }
    }

    /// Hands the queued plaintext to the engine (which takes all of it) and counts it. No
    /// signals.
    pub(super) fn encrypt_write_buf(&mut self) -> Result<usize, Failure> {
        let Some(engine) = self.engine.as_mut() else {
            return Ok(0);
        };
        let n = engine.write_plaintext(self.write_buf.as_slice())?;
        self.write_buf.consume(n);
        self.totals.plaintext_written += n as u64;
        Ok(n)
    }

    /// Step 2: raw plaintext (plain mode) and then ciphertext to TCP. Emits `bytesWritten`
    /// (plain mode) / `encryptedBytesWritten`. `None` if the connection died.
    fn send_pending(&mut self) -> Option<bool> {
        // Paused after ssl_errors (Qt pauses the socket's notifiers): nothing goes out.
        if self.paused {
            return Some(false);
        }
        let mut moved = false;
        for from_engine in [false, true] {
            let sent = match self.write_to_tcp(from_engine) {
                Ok(n) => n,
                Err(e) => {
                    let (kind, text) = tcp::transfer_error(&e);
                    self.connection_lost(kind, text);
                    return None;
                }
            };
            let unreported = if from_engine { self.unreported_sent } else { 0 };
            // Qt reports the handshake's last flight (sent at once, see `finish_encrypted`) with
            // the next write that sends data, or on the next event-loop turn: not in the drive
            // that completed the handshake on its own.
            if sent == 0 && (unreported == 0 || self.send_deferred) {
                continue;
            }
            if from_engine {
                self.unreported_sent = 0;
            }
            let report = sent + unreported;
            moved |= sent > 0;
            self.written_count += 1;
            let generation = self.generation;
            if self.mode == SslMode::UnencryptedMode {
                self.emit_bytes_written(report as i64);
            } else {
                self.emit_encrypted_bytes_written(report as i64);
            }
            if self.generation != generation {
                return None;
            }
        }
        Some(moved)
    }

    /// Sends the handshake's last flight (the client's Finished, a server's session tickets) at
    /// once, without a signal: it is reported with the next `encryptedBytesWritten`, where Qt
    /// reports it. A peer therefore never waits for it, even if the application stops driving
    /// the socket after `encrypted`. A write error surfaces on the next pump pass.
    pub(super) fn send_handshake_tail(&mut self) {
        if let Ok(sent) = self.write_to_tcp(true) {
            self.unreported_sent += sent;
        }
    }

    /// Writes what the kernel takes, without blocking or signals, from the plain-mode queue or
    /// (`from_engine`) the engine's ciphertext, and counts it in the byte totals: plain-mode
    /// bytes as plaintext (they were never encrypted, even if TLS started since), the engine's
    /// as ciphertext. Every write to TCP goes through here.
    pub(super) fn write_to_tcp(&mut self, from_engine: bool) -> std::io::Result<usize> {
        let mut sent = 0usize;
        loop {
            let Some(tcp) = self.tcp.as_ref() else {
                return Ok(sent);
            };
            let data = match (from_engine, self.engine.as_ref()) {
                (true, Some(engine)) => engine.outgoing(),
                (true, None) => return Ok(sent),
                (false, _) => self.plain_out.as_slice(),
            };
            if data.is_empty() {
                return Ok(sent);
            }
            let n = tcp.write(data)?;
            if n == 0 {
                return Ok(sent);
            }
            sent += n;
            match (from_engine, self.engine.as_mut()) {
                (true, Some(engine)) => {
                    engine.consume_outgoing(n);
                    self.totals.ciphertext_written += n as u64;
                }
                _ => {
                    self.plain_out.consume(n);
                    self.totals.plaintext_written += n as u64;
                }
            }
        }
    }

    /// Step 3: bytes from TCP, into the engine (TLS modes) or the read buffer (plain mode),
    /// as far as the read buffer limit allows.
    fn receive(&mut self, max_reads: usize) -> Received {
        let mut moved = false;
        let mut drained = false;
        let mut plain_data = false;
        for _ in 0..max_reads {
            if self.tcp_eof {
                break;
            }
            let budget = self.receive_budget();
            if budget == 0 {
                break;
            }
            let Some(tcp) = self.tcp.as_ref() else { break };
            let plain = self.receives_plain();
            let result = if plain {
                let r = tcp.read(&mut self.read_buf.spare(budget)[..budget]);
                if let ReadResult::Data(n) = r {
                    self.read_buf.commit(n);
                    self.totals.plaintext_read += n as u64;
                }
                r
            } else {
                let Some(engine) = self.engine.as_mut() else {
                    break;
                };
                let r = tcp.read(&mut engine.ciphertext_spare(budget)[..budget]);
                if let ReadResult::Data(n) = r {
                    engine.commit_ciphertext(n);
                    self.totals.ciphertext_read += n as u64;
                }
                r
            };
            match result {
                ReadResult::Data(n) => {
                    moved = true;
                    plain_data |= plain;
                    if n < budget {
                        drained = true;
                        break;
                    }
                }
                ReadResult::WouldBlock => {
                    drained = true;
                    break;
                }
                ReadResult::Eof => {
                    self.transport_ended(None);
                    moved = true;
                }
                ReadResult::Error(e) => {
                    // A reset: whatever arrived before it is still decrypted and kept.
                    self.transport_ended(Some(e));
                    moved = true;
                }
            }
        }
        if moved || drained {
            self.kernel_drained = drained;
        }
        Received {
            moved,
            drained,
            plain_data,
        }
    }

    /// TCP ended. After the handshake the engine learns it (to tell close_notify from
    /// truncation); during the handshake it does not, so that, as in Qt (whose memory BIO never
    /// sees EOF), the failure is the transport's `RemoteHostClosedError`, not a TLS error.
    fn transport_ended(&mut self, reset: Option<std::io::Error>) {
        self.tcp_eof = true;
        self.tcp_reset = reset;
        if let Some(engine) = self.engine.as_mut().filter(|e| e.is_handshake_done()) {
            engine.handle_transport_eof();
        }
    }

    /// Reads what TCP has into the engine, for the direct `io::Read` path: one recv(2) of up to
    /// `READ_CHUNK`, enough for the records the caller is about to decrypt. Reading until the
    /// kernel is empty would let a sender faster than the reader's decryption grow the queue
    /// without bound (megabytes of fresh, page-faulting memory per read).
    pub(super) fn receive_ciphertext(&mut self) -> bool {
        self.receive(1).moved
    }

    pub(super) fn may_receive(&self) -> bool {
        self.receive_budget() > 0
    }

    /// Whether TCP data goes to the read buffer as is (plain mode) rather than to the engine.
    fn receives_plain(&self) -> bool {
        self.mode == SslMode::UnencryptedMode || self.engine.is_none()
    }

    /// How much the next recv(2) may take. Without a read buffer limit, `READ_CHUNK`. With one
    /// (Qt hands it to its plain socket), what keeps everything received and not yet read -
    /// plaintext and undecrypted ciphertext - within the limit, and in TLS mode within one
    /// record more, so that decryption can always go on while the read buffer is below the
    /// limit. During the handshake (Qt keeps reading) the limit does not apply to plaintext
    /// received before it, only the one-record allowance to ciphertext. 0: stop reading until
    /// the application reads (TCP's flow control then holds the peer back).
    fn receive_budget(&self) -> usize {
        let Ok(limit) = usize::try_from(self.read_buffer_size) else {
            return READ_CHUNK;
        };
        if limit == 0 {
            return READ_CHUNK;
        }
        let plaintext = self.read_buf.len();
        let budget = if self.receives_plain() {
            limit.saturating_sub(plaintext)
        } else if self.encrypted && plaintext >= limit {
            0
        } else {
            let ciphertext = self
                .engine
                .as_ref()
                .map_or(0, |e| e.pending_ciphertext_in());
            limit
                .saturating_sub(plaintext)
                .max(MAX_RECORD)
                .saturating_sub(ciphertext)
        };
        budget.min(READ_CHUNK)
    }

    /// Step 5: decrypt what the engine can, emit `readyRead` once per pass with new data. In
    /// plain mode, announce data that `receive` just put in the read buffer (`plain_data`).
    fn decrypt(&mut self, plain_data: bool) -> bool {
        let generation = self.generation;
        if self.mode == SslMode::UnencryptedMode || self.engine.is_none() {
            if plain_data {
                self.emit_ready_read();
                return self.generation == generation;
            }
            return false;
        }
        let mut got = 0usize;
        let mut close_notify = false;
        let mut failure = None;
        while self.may_decrypt_more() {
            let Some(engine) = self.engine.as_mut() else {
                break;
            };
            let spare = self.read_buf.spare(DECRYPT_CHUNK);
            match engine.read_plaintext(&mut spare[..DECRYPT_CHUNK]) {
                ReadOutcome::Data(n) => {
                    self.read_buf.commit(n);
                    got += n;
                }
                ReadOutcome::NeedInput | ReadOutcome::Truncated => break,
                ReadOutcome::CloseNotify => {
                    close_notify = !self.close_notify_reported();
                    break;
                }
                ReadOutcome::Failed(f) => {
                    failure = Some(f);
                    break;
                }
            }
        }
        self.keep_new_session();
        if got > 0 {
            self.totals.plaintext_read += got as u64;
            self.emit_ready_read();
            if self.generation != generation {
                return true;
            }
        }
        if let Some(f) = failure {
            self.set_error_and_emit(
                SocketError::SslInternalError,
                format!("Error while reading: {}", f.reasons),
            );
            if self.generation == generation {
                self.abort_after_error();
            }
            return true;
        }
        if close_notify {
            // Qt reports the peer's close_notify as an error but leaves the connection up; the
            // TCP close that normally follows reports RemoteHostClosedError again.
            self.peer_closed_cleanly = Some(true);
            self.set_error_and_emit(
                SocketError::RemoteHostClosedError,
                "The TLS/SSL connection has been closed",
            );
            return true;
        }
        got > 0
    }

    /// Qt 5.13's `sessionTicket()`: keeps the newest session (TLS 1.3 tickets arrive after the
    /// handshake) unless `SslOptionDisableSessionPersistence` is on.
    pub(super) fn keep_new_session(&mut self) {
        let Some(session) = self.engine.as_ref().and_then(|e| e.take_new_session()) else {
            return;
        };
        if !self
            .config
            .test_ssl_option(crate::SslOption::SslOptionDisableSessionPersistence)
        {
            self.config.session_ticket = session.to_der().unwrap_or_default();
            self.config.session_ticket_lifetime_hint =
                i32::try_from(crate::ffi::openssl::ticket_lifetime_hint(&session))
                    .unwrap_or(i32::MAX);
        }
    }

    /// The peer's close_notify has been read (and reported with `errorOccurred`).
    pub(super) fn close_notify_reported(&self) -> bool {
        self.peer_closed_cleanly == Some(true)
    }

    fn nothing_left_to_decrypt(&self) -> bool {
        match &self.engine {
            None => true,
            Some(engine) => {
                engine.pending_ciphertext_in() == 0
                    || engine.failure().is_some()
                    || engine.close_notify_received()
                    || !self.may_decrypt_more()
            }
        }
    }

    /// Whether the read limit lets more be decrypted (otherwise pending ciphertext waits).
    fn may_decrypt_more(&self) -> bool {
        self.read_buffer_size <= 0 || (self.read_buf.len() as i64) < self.read_buffer_size
    }

    fn our_close_complete(&self) -> bool {
        self.state == SocketState::ClosingState
            && !self.pending_close
            && self.write_buf.is_empty()
            && self.outgoing_empty()
    }

    /// Bytes waiting for TCP: plain-mode bytes and the engine's ciphertext.
    pub(super) fn outgoing_len(&self) -> usize {
        self.plain_out.len() + self.engine.as_ref().map_or(0, |e| e.outgoing().len())
    }

    pub(super) fn outgoing_empty(&self) -> bool {
        self.outgoing_len() == 0
    }

    /// Everything written and not yet on the wire: plaintext waiting for the engine too.
    pub(super) fn queued_output(&self) -> usize {
        self.write_buf.len() + self.outgoing_len()
    }

    pub(super) fn release_idle_buffers(&mut self) {
        self.read_buf.release();
        self.write_buf.release();
        self.plain_out.release();
        if let Some(engine) = self.engine.as_mut() {
            engine.release_buffers();
        }
    }
}
