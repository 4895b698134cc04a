//! `std::io::Read` and `std::io::Write` for the blocking style, with fast paths: when no slot
//! needs to see the data and nothing else is pending, plaintext goes straight between the
//! caller's buffer and the engine, and ciphertext straight between the engine and the kernel,
//! without the socket's own buffers or a full pump pass.

use std::io;
use std::time::Instant;

use crate::SocketState;
use crate::engine::ReadOutcome;

use super::SslSocket;

/// Above this much queued output, `io::Write::write` waits for the socket to drain.
const WRITE_HIGH_WATER: usize = 1024 * 1024;

impl io::Read for SslSocket {
    /// Blocks, driving the socket, until at least one byte is available or the stream ended.
    /// End of stream is `Ok(0)` after the peer's close_notify (or in plain mode); a TLS stream cut
    /// short without close_notify is `Err(UnexpectedEof)`, so truncation is never mistaken for
    /// the end of the data. A failed handshake is an error with the socket's `error_string()`.
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.as_blocking_call(|s| s.blocking_read(buf))
    }
}

impl io::Write for SslSocket {
    /// Queues like [`SslSocket::write`] and sends what the kernel takes. While more than 1 MiB
    /// is queued it first blocks, so a bulk writer cannot grow memory without bound; an error
    /// while waiting (the connection ended, a paused handshake) means nothing was queued.
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.as_blocking_call(|s| s.blocking_write(data))
    }

    /// Blocks, driving the socket, until everything queued is on the wire.
    fn flush(&mut self) -> io::Result<()> {
        self.as_blocking_call(SslSocket::blocking_flush)
    }
}

impl SslSocket {
    fn blocking_read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut polled = false;
        loop {
            if !self.read_buf.is_empty() {
                let n = self.take_buffered(buf);
                self.read_buf.release();
                return Ok(n);
            }
            match self.read_direct(buf, polled) {
                Direct::Done(n) => return Ok(n),
                Direct::Wait => {
                    self.wait_for_activity(None)?;
                    polled = true;
                    continue;
                }
                Direct::Unavailable => {}
            }
            if self.drive() && !self.read_buf.is_empty() {
                continue;
            }
            if self.state == SocketState::UnconnectedState || self.close_notify_reported() {
                return self.end_of_stream();
            }
            self.wait_for_activity(None)?;
        }
    }

    fn blocking_write(&mut self, data: &[u8]) -> io::Result<usize> {
        if !self.open {
            return Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "the socket is not open",
            ));
        }
        if data.is_empty() {
            return Ok(0);
        }
        while self.queued_output() > WRITE_HIGH_WATER {
            if self.state == SocketState::UnconnectedState {
                return Err(self.io_error(io::ErrorKind::BrokenPipe));
            }
            self.wait_for_activity(None)?;
            self.drive();
        }
        if !self.write_direct(data) {
            SslSocket::write(self, data);
            self.drive();
        }
        self.release_idle_buffers();
        Ok(data.len())
    }

    fn blocking_flush(&mut self) -> io::Result<()> {
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

/// What the direct read path managed.
enum Direct {
    /// Read this many bytes.
    Done(usize),
    /// The engine needs input and the kernel has none: wait for the descriptor.
    Wait,
    /// Something needs the full pump (signals, close, errors, pending output).
    Unavailable,
}

impl SslSocket {
    /// Whether data can bypass the socket's buffers and signals: encrypted, connected, nothing
    /// queued either way, no slot that must see the data or the write counts.
    fn direct_io_allowed(&self) -> bool {
        self.encrypted
            && self.state == SocketState::ConnectedState
            && !self.paused
            && !self.send_deferred
            && self.unreported_sent == 0
            && !self.tcp_eof
            && self.read_buf.is_empty()
            && self.write_buf.is_empty()
            && self.plain_out.is_empty()
            && self.slots.ready_read.is_empty()
            && self.slots.bytes_written.is_empty()
            && self.slots.encrypted_bytes_written.is_empty()
    }

    /// Decrypts straight into the caller's buffer. `polled`: this read has already waited in
    /// poll(2) for the descriptor.
    fn read_direct(&mut self, buf: &mut [u8], polled: bool) -> Direct {
        if !self.direct_io_allowed() || !self.outgoing_empty() {
            return Direct::Unavailable;
        }
        for _ in 0..2 {
            let Some(engine) = self.engine.as_mut() else {
                return Direct::Unavailable;
            };
            match engine.read_plaintext(buf) {
                ReadOutcome::Data(n) => {
                    self.totals.plaintext_read += n as u64;
                    self.keep_new_session();
                    self.release_idle_buffers();
                    return Direct::Done(n);
                }
                ReadOutcome::NeedInput => {}
                _ => return Direct::Unavailable,
            }
            // After a recv that emptied the kernel (a request/response exchange), ask poll(2)
            // first instead of a recv(2) that would come back empty.
            if self.kernel_drained && !polled {
                self.release_idle_buffers();
                return Direct::Wait;
            }
            if !self.receive_ciphertext() {
                self.release_idle_buffers();
                return Direct::Wait;
            }
        }
        Direct::Unavailable
    }

    /// Encrypts straight from the caller's slice and sends what the kernel takes. Returns false
    /// when the regular queue-and-pump path must be used.
    fn write_direct(&mut self, data: &[u8]) -> bool {
        if !self.direct_io_allowed() {
            return false;
        }
        let (Some(engine), true) = (self.engine.as_mut(), self.tcp.is_some()) else {
            return false;
        };
        let n = match engine.write_plaintext(data) {
            Ok(n) if n == data.len() => n,
            // Anything unusual (a partial write, an error) is left to the pump to report.
            Ok(n) => {
                self.totals.plaintext_written += n as u64;
                self.write_buf.push(&data[n..]);
                return true;
            }
            Err(_) => return false,
        };
        self.totals.plaintext_written += n as u64;
        // A write error surfaces in the next pump pass.
        if self.write_to_tcp(true).is_ok_and(|sent| sent > 0) {
            self.written_count += 1;
        }
        true
    }

    fn end_of_stream(&self) -> io::Result<usize> {
        match self.peer_closed_cleanly {
            Some(false) => Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the peer closed the connection without close_notify (truncated TLS stream)",
            )),
            _ if matches!(
                self.error,
                crate::SocketError::SslHandshakeFailedError
                    | crate::SocketError::SslInternalError
                    | crate::SocketError::SslInvalidUserDataError
            ) =>
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
    ///
    /// # Errors
    /// `NotConnected` without a connection; `WouldBlock` when the socket needs nothing from its
    /// descriptor and there is no deadline (a handshake paused on `ssl_errors`), which would
    /// otherwise block until the peer gives up.
    pub(super) fn wait_for_activity(&mut self, deadline: Option<Instant>) -> io::Result<bool> {
        let Some(interest) = self.interest() else {
            return Err(self.io_error(io::ErrorKind::NotConnected));
        };
        let deadline = match (deadline, self.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        if !interest.read && !interest.write && deadline.is_none() {
            return Err(io::Error::new(
                io::ErrorKind::WouldBlock,
                if self.paused {
                    "the handshake is paused after sslErrors (PauseOnSslErrors): call resume() \
                     (after ignore_ssl_errors() to continue it) before reading or writing"
                } else {
                    "the socket cannot make progress until the application acts"
                },
            ));
        }
        // Past the deadline, poll(2) still looks once without waiting: what arrived is then
        // read by the caller's last drive.
        let (timeout, expired) = match deadline {
            None => (None, false),
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                (Some(left), left.is_zero())
            }
        };
        let mut fds = [crate::ffi::poll::PollFd::new(
            interest.fd,
            interest.read,
            interest.write,
        )];
        let ready = crate::ffi::poll::poll(&mut fds, timeout)? > 0;
        if fds[0].readable || fds[0].hangup {
            self.kernel_drained = false;
        }
        Ok(ready && !expired)
    }

    /// Runs `f` as a blocking call (see `in_blocking_call`).
    pub(super) fn as_blocking_call<R>(&mut self, f: impl FnOnce(&mut SslSocket) -> R) -> R {
        let outer = std::mem::replace(&mut self.in_blocking_call, true);
        let r = f(self);
        self.in_blocking_call = outer;
        r
    }
}
