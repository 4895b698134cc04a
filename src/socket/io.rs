//! Reading and writing (QIODevice's surface with Qt's return rules), the counters, and
//! `std::io::Read`/`Write` for the blocking style.

use std::io;
use std::time::Instant;

use crate::{SocketState, SslMode};

use super::SslSocket;

/// Above this much queued output, `io::Write::write` waits for the socket to drain.
const WRITE_HIGH_WATER: usize = 1024 * 1024;

/// Cumulative byte counts of a socket since it was created (crate extension): what the
/// application wrote and read (plaintext) and what went over TCP (ciphertext; plain-mode bytes
/// count as plaintext only).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ByteTotals {
    /// Plaintext handed to TLS (or, in plain mode, to TCP).
    pub plaintext_written: u64,
    /// Plaintext decrypted (or, in plain mode, received).
    pub plaintext_read: u64,
    /// Ciphertext sent over TCP.
    pub ciphertext_written: u64,
    /// Ciphertext received over TCP.
    pub ciphertext_read: u64,
}

impl SslSocket {
    /// Queues `data` and returns its length, or -1 if the device is not open. In TLS mode the
    /// data is encrypted and sent once the handshake is done (so writing right after
    /// `connect_to_host_encrypted` is fine); in plain mode it is sent as is. Nothing is sent
    /// until the socket is driven.
    ///
    /// # Signals
    /// Later, `bytes_written` (plaintext accepted) and `encrypted_bytes_written`.
    pub fn write(&mut self, data: &[u8]) -> i64 {
        if !self.open {
            return -1;
        }
        if self.mode == SslMode::UnencryptedMode && !self.auto_start {
            self.plain_out.push(data);
        } else {
            self.write_buf.push(data);
        }
        data.len() as i64
    }

    /// Reads up to `buf.len()` buffered bytes. Returns the count, 0 if nothing is buffered while
    /// connected, -1 if nothing is buffered and the connection is closed (or the device is not
    /// open). Never blocks; see `wait_for_ready_read` or `io::Read`.
    pub fn read(&mut self, buf: &mut [u8]) -> i64 {
        if !self.open {
            return -1;
        }
        if self.read_buf.is_empty() && !buf.is_empty() {
            return if self.state == SocketState::UnconnectedState {
                -1
            } else {
                0
            };
        }
        let n = self.read_buf.read_into(buf);
        self.unencrypted_leftover = self.unencrypted_leftover.saturating_sub(n);
        n as i64
    }

    /// Everything buffered.
    #[doc(alias = "readAll")]
    pub fn read_all(&mut self) -> Vec<u8> {
        let data = self.read_buf.take_all();
        self.unencrypted_leftover = 0;
        data
    }

    /// One line including its `\n`, or everything buffered if there is no complete line.
    #[doc(alias = "readLine")]
    pub fn read_line(&mut self) -> Vec<u8> {
        let n = self
            .read_buf
            .find(b'\n')
            .map_or(self.read_buf.len(), |i| i + 1);
        let mut line = vec![0; n];
        self.read_buf.read_into(&mut line);
        self.unencrypted_leftover = self.unencrypted_leftover.saturating_sub(n);
        line
    }

    /// Copies up to `buf.len()` buffered bytes without consuming them; -1 if the device is not
    /// open.
    pub fn peek(&self, buf: &mut [u8]) -> i64 {
        if !self.open {
            return -1;
        }
        self.read_buf.peek_into(buf) as i64
    }

    /// Whether a complete line is buffered.
    #[doc(alias = "canReadLine")]
    pub fn can_read_line(&self) -> bool {
        self.read_buf.find(b'\n').is_some()
    }

    /// Whether nothing is buffered for reading.
    #[doc(alias = "atEnd")]
    pub fn at_end(&self) -> bool {
        self.read_buf.is_empty()
    }

    /// Decrypted (or, in plain mode, received) bytes ready to read.
    #[doc(alias = "bytesAvailable")]
    pub fn bytes_available(&self) -> i64 {
        self.read_buf.len() as i64
    }

    /// How many of the buffered bytes arrived before encryption started (crate extension, the
    /// STARTTLS guard): plaintext received in plain mode and not read when
    /// `start_*_encryption` was called stays readable as plaintext and is never fed to TLS; it
    /// is read before any decrypted data.
    pub fn unencrypted_bytes_available(&self) -> i64 {
        self.unencrypted_leftover.min(self.read_buf.len()) as i64
    }

    /// Plaintext queued but not yet taken by TLS (Qt: in plain mode, bytes not yet sent).
    #[doc(alias = "bytesToWrite")]
    pub fn bytes_to_write(&self) -> i64 {
        if self.mode == SslMode::UnencryptedMode {
            self.plain_out.len() as i64
        } else {
            self.write_buf.len() as i64
        }
    }

    /// Ciphertext received and not yet processed by TLS (normally 0).
    #[doc(alias = "encryptedBytesAvailable")]
    pub fn encrypted_bytes_available(&self) -> i64 {
        if self.mode == SslMode::UnencryptedMode {
            return 0;
        }
        self.engine
            .as_ref()
            .map_or(0, |e| e.pending_ciphertext_in() as i64)
    }

    /// Ciphertext waiting to be sent.
    #[doc(alias = "encryptedBytesToWrite")]
    pub fn encrypted_bytes_to_write(&self) -> i64 {
        if self.mode == SslMode::UnencryptedMode {
            return 0;
        }
        (self.plain_out.len() + self.engine.as_ref().map_or(0, |e| e.outgoing().len())) as i64
    }

    /// Limits the read buffer: once it holds `size` bytes the socket stops reading from TCP
    /// (back-pressure), and resumes when the application reads. 0 means unlimited.
    #[doc(alias = "setReadBufferSize")]
    pub fn set_read_buffer_size(&mut self, size: i64) {
        self.read_buffer_size = size.max(0);
    }

    /// The read buffer limit (0: unlimited).
    #[doc(alias = "readBufferSize")]
    pub fn read_buffer_size(&self) -> i64 {
        self.read_buffer_size
    }

    /// Encrypts what is queued and writes what the kernel takes without blocking. Returns
    /// whether anything was written.
    pub fn flush(&mut self) -> bool {
        let before = (
            self.totals.ciphertext_written,
            self.totals.plaintext_written,
        );
        self.drive();
        (
            self.totals.ciphertext_written,
            self.totals.plaintext_written,
        ) != before
    }

    /// Cumulative plaintext and ciphertext counts since the socket was created (crate
    /// extension).
    pub fn byte_totals(&self) -> ByteTotals {
        self.totals
    }

    /// The fast read path for `io::Read`: decrypt straight into the caller's buffer when nothing
    /// is buffered and no `ready_read` slot needs to see the data.
    fn read_direct(&mut self, buf: &mut [u8]) -> Option<usize> {
        if !self.encrypted || !self.slots.ready_read.is_empty() || !self.read_buf.is_empty() {
            return None;
        }
        for _ in 0..2 {
            let engine = self.engine.as_mut()?;
            if let crate::engine::ReadOutcome::Data(n) = engine.read_plaintext(buf) {
                self.totals.plaintext_read += n as u64;
                return Some(n);
            }
            if !self.receive_ciphertext() {
                return None;
            }
        }
        None
    }
}

impl io::Read for SslSocket {
    /// Blocks, driving the socket, until at least one byte is available or the stream ended.
    /// End of stream is `Ok(0)` after the peer's close_notify (or in plain mode); a TLS stream cut
    /// short without close_notify is `Err(UnexpectedEof)`, so truncation is never mistaken for
    /// the end of the data. A failed handshake is an error with the socket's `error_string()`.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        loop {
            if !self.read_buf.is_empty() {
                let n = self.read_buf.read_into(buf);
                self.unencrypted_leftover = self.unencrypted_leftover.saturating_sub(n);
                return Ok(n);
            }
            if let Some(n) = self.read_direct(buf) {
                return Ok(n);
            }
            if self.drive() && !self.read_buf.is_empty() {
                continue;
            }
            if self.state == SocketState::UnconnectedState || self.close_notify_reported {
                return self.end_of_stream();
            }
            self.wait_for_activity(None)?;
        }
    }
}

impl io::Write for SslSocket {
    /// Queues like [`SslSocket::write`], sends what the kernel takes, and blocks while more than
    /// 1 MiB is queued, so a bulk writer cannot grow memory without bound.
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.open {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the socket is not open",
            ));
        }
        if data.is_empty() {
            return Ok(0);
        }
        SslSocket::write(self, data);
        self.drive();
        while self.queued_output() > WRITE_HIGH_WATER {
            if self.state == SocketState::UnconnectedState {
                return Err(self.io_error(io::ErrorKind::BrokenPipe));
            }
            self.wait_for_activity(None)?;
            self.drive();
        }
        Ok(data.len())
    }

    /// Blocks, driving the socket, until everything queued is on the wire.
    fn flush(&mut self) -> io::Result<()> {
        loop {
            self.drive();
            if self.queued_output() == 0 {
                return Ok(());
            }
            if self.state == SocketState::UnconnectedState {
                return Err(self.io_error(io::ErrorKind::BrokenPipe));
            }
            self.wait_for_activity(None)?;
        }
    }
}

impl SslSocket {
    fn queued_output(&self) -> usize {
        self.write_buf.len()
            + self.plain_out.len()
            + self.engine.as_ref().map_or(0, |e| e.outgoing().len())
    }

    fn end_of_stream(&self) -> io::Result<usize> {
        match self.peer_closed_cleanly {
            Some(false) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the connection without close_notify (truncated TLS stream)",
            )),
            _ if self.error == crate::SocketError::SslHandshakeFailedError
                || self.error == crate::SocketError::SslInternalError
                || self.error == crate::SocketError::SslInvalidUserDataError =>
            {
                Err(self.io_error(io::ErrorKind::ConnectionAborted))
            }
            _ => Ok(0),
        }
    }

    fn io_error(&self, kind: io::ErrorKind) -> io::Error {
        io::Error::new(kind, self.error_string())
    }

    /// Blocks until the socket's descriptor is ready for what the socket needs, or `deadline`.
    /// Returns false on timeout.
    pub(super) fn wait_for_activity(&mut self, deadline: Option<Instant>) -> io::Result<bool> {
        let Some(interest) = self.interest() else {
            return Err(self.io_error(io::ErrorKind::NotConnected));
        };
        let deadline = match (deadline, self.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timeout = match deadline {
            None => None,
            Some(d) => {
                let now = Instant::now();
                if d <= now {
                    return Ok(false);
                }
                Some(d - now)
            }
        };
        let mut fds = [crate::ffi::poll::PollFd::new(
            interest.fd,
            interest.read,
            interest.write,
        )];
        Ok(crate::ffi::poll::poll(&mut fds, timeout)? > 0)
    }
}
