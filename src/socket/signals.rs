//! Qt's signals as closures, and the one place that calls them.
//!
//! A slot gets `&mut SslSocket` and may call anything on it, including `abort()` or
//! `ignore_ssl_errors()`, exactly like a directly connected Qt slot. To make that possible the
//! slot list is taken out of the socket while it runs and put back afterwards (slots connected
//! during the emission are kept, after the existing ones).

use crate::{SocketError, SocketState, SslError, SslMode};

use super::SslSocket;

type Slot = Box<dyn FnMut(&mut SslSocket) + Send>;
type SlotWith<T> = Box<dyn FnMut(&mut SslSocket, T) + Send>;
type SlotError = Box<dyn FnMut(&mut SslSocket, &SslError) + Send>;
type SlotErrors = Box<dyn FnMut(&mut SslSocket, &[SslError]) + Send>;

/// Every signal's connected slots, in connection order.
#[derive(Default)]
pub(crate) struct Slots {
    pub(super) host_found: Vec<Slot>,
    pub(super) connected: Vec<Slot>,
    pub(super) disconnected: Vec<Slot>,
    pub(super) state_changed: Vec<SlotWith<SocketState>>,
    pub(super) error_occurred: Vec<SlotWith<SocketError>>,
    pub(super) ready_read: Vec<Slot>,
    pub(super) bytes_written: Vec<SlotWith<i64>>,
    pub(super) read_channel_finished: Vec<Slot>,
    pub(super) about_to_close: Vec<Slot>,
    pub(super) encrypted: Vec<Slot>,
    pub(super) mode_changed: Vec<SlotWith<SslMode>>,
    pub(super) encrypted_bytes_written: Vec<SlotWith<i64>>,
    pub(super) peer_verify_error: Vec<SlotError>,
    pub(super) ssl_errors: Vec<SlotErrors>,
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots").finish_non_exhaustive()
    }
}

/// Runs every slot of `$field` with `$args`, re-entrancy safe.
macro_rules! emit {
    ($socket:expr, $field:ident $(, $arg:expr)*) => {{
        let mut running = std::mem::take(&mut $socket.slots.$field);
        for slot in running.iter_mut() {
            slot($socket $(, $arg)*);
        }
        let added = std::mem::replace(&mut $socket.slots.$field, running);
        $socket.slots.$field.extend(added);
    }};
}

impl SslSocket {
    pub(super) fn emit_host_found(&mut self) {
        emit!(self, host_found);
    }
    pub(super) fn emit_connected(&mut self) {
        self.connected_count += 1;
        emit!(self, connected);
    }
    pub(super) fn emit_disconnected(&mut self) {
        emit!(self, disconnected);
    }
    pub(super) fn emit_state_changed(&mut self, state: SocketState) {
        emit!(self, state_changed, state);
    }
    pub(super) fn emit_error_occurred(&mut self, error: SocketError) {
        emit!(self, error_occurred, error);
    }
    pub(super) fn emit_ready_read(&mut self) {
        self.ready_read_count += 1;
        emit!(self, ready_read);
    }
    pub(super) fn emit_bytes_written(&mut self, n: i64) {
        emit!(self, bytes_written, n);
    }
    pub(super) fn emit_read_channel_finished(&mut self) {
        emit!(self, read_channel_finished);
    }
    pub(super) fn emit_about_to_close(&mut self) {
        emit!(self, about_to_close);
    }
    pub(super) fn emit_encrypted(&mut self) {
        self.encrypted_count += 1;
        emit!(self, encrypted);
    }
    pub(super) fn emit_mode_changed(&mut self, mode: SslMode) {
        emit!(self, mode_changed, mode);
    }
    pub(super) fn emit_encrypted_bytes_written(&mut self, n: i64) {
        emit!(self, encrypted_bytes_written, n);
    }
    pub(super) fn emit_peer_verify_error(&mut self, error: &SslError) {
        emit!(self, peer_verify_error, error);
    }
    pub(super) fn emit_ssl_errors(&mut self, errors: &[SslError]) {
        emit!(self, ssl_errors, errors);
    }

    /// Qt: `hostFound()`: the host name was resolved (emitted before connecting).
    #[doc(alias = "hostFound")]
    pub fn on_host_found(&mut self, f: impl FnMut(&mut SslSocket) + Send + 'static) {
        self.slots.host_found.push(Box::new(f));
    }

    /// Qt: `connected()`: the TCP connection is up (for `connect_to_host_encrypted`, after the
    /// ClientHello was produced, as in Qt 5/6).
    #[doc(alias = "connected")]
    pub fn on_connected(&mut self, f: impl FnMut(&mut SslSocket) + Send + 'static) {
        self.slots.connected.push(Box::new(f));
    }

    /// Qt: `disconnected()`: the connection closed.
    #[doc(alias = "disconnected")]
    pub fn on_disconnected(&mut self, f: impl FnMut(&mut SslSocket) + Send + 'static) {
        self.slots.disconnected.push(Box::new(f));
    }

    /// Qt: `stateChanged(QAbstractSocket::SocketState)`.
    #[doc(alias = "stateChanged")]
    pub fn on_state_changed(
        &mut self,
        f: impl FnMut(&mut SslSocket, SocketState) + Send + 'static,
    ) {
        self.slots.state_changed.push(Box::new(f));
    }

    /// Qt: `errorOccurred(QAbstractSocket::SocketError)` (Qt 4's `error()`); `error_string()`
    /// holds the text.
    #[doc(alias = "errorOccurred")]
    pub fn on_error_occurred(
        &mut self,
        f: impl FnMut(&mut SslSocket, SocketError) + Send + 'static,
    ) {
        self.slots.error_occurred.push(Box::new(f));
    }

    /// Qt: `readyRead()`: new data can be read (decrypted data once encrypted).
    #[doc(alias = "readyRead")]
    pub fn on_ready_read(&mut self, f: impl FnMut(&mut SslSocket) + Send + 'static) {
        self.slots.ready_read.push(Box::new(f));
    }

    /// Qt: `bytesWritten(qint64)`: plaintext bytes handed to TLS (or, in plain mode, to TCP).
    #[doc(alias = "bytesWritten")]
    pub fn on_bytes_written(&mut self, f: impl FnMut(&mut SslSocket, i64) + Send + 'static) {
        self.slots.bytes_written.push(Box::new(f));
    }

    /// Qt: `readChannelFinished()`: no more data will arrive (the connection closed).
    #[doc(alias = "readChannelFinished")]
    pub fn on_read_channel_finished(&mut self, f: impl FnMut(&mut SslSocket) + Send + 'static) {
        self.slots.read_channel_finished.push(Box::new(f));
    }

    /// Qt: `aboutToClose()`: `close()` or `abort()` is closing the device.
    #[doc(alias = "aboutToClose")]
    pub fn on_about_to_close(&mut self, f: impl FnMut(&mut SslSocket) + Send + 'static) {
        self.slots.about_to_close.push(Box::new(f));
    }

    /// Qt: `encrypted()`: the handshake succeeded (or its errors were ignored).
    #[doc(alias = "encrypted")]
    pub fn on_encrypted(&mut self, f: impl FnMut(&mut SslSocket) + Send + 'static) {
        self.slots.encrypted.push(Box::new(f));
    }

    /// Qt: `modeChanged(QSslSocket::SslMode)`.
    #[doc(alias = "modeChanged")]
    pub fn on_mode_changed(&mut self, f: impl FnMut(&mut SslSocket, SslMode) + Send + 'static) {
        self.slots.mode_changed.push(Box::new(f));
    }

    /// Qt: `encryptedBytesWritten(qint64)`: ciphertext bytes handed to the operating system.
    #[doc(alias = "encryptedBytesWritten")]
    pub fn on_encrypted_bytes_written(
        &mut self,
        f: impl FnMut(&mut SslSocket, i64) + Send + 'static,
    ) {
        self.slots.encrypted_bytes_written.push(Box::new(f));
    }

    /// Qt: `peerVerifyError(const QSslError &)`: one verification problem, as it is found.
    /// Calling `ignore_ssl_errors()` here continues the handshake.
    #[doc(alias = "peerVerifyError")]
    pub fn on_peer_verify_error(
        &mut self,
        f: impl FnMut(&mut SslSocket, &SslError) + Send + 'static,
    ) {
        self.slots.peer_verify_error.push(Box::new(f));
    }

    /// Qt: `sslErrors(const QList<QSslError> &)`: every verification problem of the handshake,
    /// once, in Qt's order. Call `ignore_ssl_errors()` (or the list form) here to continue;
    /// return without ignoring and a handshake that requires verification fails.
    ///
    /// # Examples
    /// ```
    /// use qsslsocket::{SslErrorKind, SslSocket};
    ///
    /// let mut socket = SslSocket::new();
    /// socket.on_ssl_errors(|s, errors| {
    ///     if errors.iter().all(|e| e.error() == SslErrorKind::SelfSignedCertificate) {
    ///         s.ignore_ssl_errors();
    ///     }
    /// });
    /// ```
    #[doc(alias = "sslErrors")]
    pub fn on_ssl_errors(&mut self, f: impl FnMut(&mut SslSocket, &[SslError]) + Send + 'static) {
        self.slots.ssl_errors.push(Box::new(f));
    }
}
