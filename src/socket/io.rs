//! Reading and writing with QIODevice's surface and Qt's return rules, and the counters. The
//! blocking `std::io::Read`/`Write` impls are in `blocking.rs`.

use crate::{SocketState, SslMode};

use super::SslSocket;

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
        self.take_buffered(buf) as i64
    }

    /// Moves up to `out.len()` bytes from the read buffer into `out`; the STARTTLS leftover
    /// count follows.
    pub(super) fn take_buffered(&mut self, out: &mut [u8]) -> usize {
        let n = self.read_buf.read_into(out);
        self.unencrypted_leftover = self.unencrypted_leftover.saturating_sub(n);
        n
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
        self.take_buffered(&mut line);
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
        self.outgoing_len() as i64
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
}
