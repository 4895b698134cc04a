//! `SslSocket` (Qt's `QSslSocket`): the I/O shell around the sans-IO engine. It owns the TCP
//! socket (socket2, non-blocking), the plaintext buffers and the signals; `pump.rs` is Qt's
//! `transmit()`, `wait.rs` the blocking helpers, `lookup.rs` host lookups, `connect.rs`
//! connecting, `close.rs` the ways a connection ends, `handshake.rs` what happens when it
//! completes.
//!
//! A socket does work only when it is driven: by a `wait_for_*` call, `flush()`, the blocking
//! `std::io::Read`/`Write` impls, or an `EventLoop`. Signals are emitted while it is driven, on
//! the driving thread.

mod blocking;
mod close;
mod config;
mod connect;
mod handshake;
mod io;
mod linger;
mod lookup;
mod loop_support;
mod pump;
mod signals;
mod statics;
mod tcp;
#[cfg(test)]
mod tests;
mod wait;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;

use crate::buffer::ByteQueue;
use crate::engine::Engine;
use crate::verification::{AnchorSource, Collected, RawChainError, VerificationReport};
use crate::{
    PauseMode, SocketError, SocketOption, SocketState, SslConfiguration, SslError, SslMode,
};

use lookup::Lookup;
use signals::Slots;
use tcp::Tcp;

pub use io::ByteTotals;
pub(crate) use wait::Interest;

/// A TLS socket for clients and servers with Qt's QSslSocket behaviour: state changes, signal
/// order, error lists and texts, ignore rules, counters.
///
/// # Examples
///
/// A blocking client (Qt's `waitFor*` style):
/// ```no_run
/// use qsslsocket::SslSocket;
///
/// let mut socket = SslSocket::new();
/// socket.connect_to_host_encrypted("imap.example.com", 993);
/// if !socket.wait_for_encrypted(5000) {
///     eprintln!("{}", socket.error_string());
///     return;
/// }
/// socket.write(b"A001 LOGOUT\r\n");
/// while socket.wait_for_ready_read(5000) {
///     print!("{}", String::from_utf8_lossy(&socket.read_all()));
/// }
/// ```
///
/// Signals are closures that get the socket back:
/// ```
/// use qsslsocket::SslSocket;
///
/// let mut socket = SslSocket::new();
/// socket.on_encrypted(|s| {
///     s.write(b"hello\n");
/// });
/// socket.on_ready_read(|s| println!("{:?}", s.read_all()));
/// ```
#[doc(alias = "QSslSocket")]
pub struct SslSocket {
    config: SslConfiguration,
    state: SocketState,
    mode: SslMode,
    /// QIODevice's open state: `write()` on a closed device fails.
    open: bool,
    /// `connect_to_host_encrypted`: start the client handshake as soon as TCP is up.
    auto_start: bool,
    encrypted: bool,
    pending_close: bool,
    /// TLS mode: the close reached the TCP socket (Qt: the plain socket's `disconnectFromHost`,
    /// which reports ClosingState once more).
    tcp_closing: bool,

    lookup: Option<Lookup>,
    addresses: Vec<SocketAddr>,
    tcp: Option<Tcp>,
    peer_name: String,
    peer_port: u16,
    peer_address: Option<SocketAddr>,
    local_address: Option<SocketAddr>,
    socket_options: HashMap<SocketOption, i32>,

    engine: Option<Engine>,
    /// Decrypted data (or plain data in unencrypted mode) for the application.
    read_buf: ByteQueue,
    /// Plaintext waiting for the TLS engine.
    write_buf: ByteQueue,
    /// Raw bytes for TCP written in unencrypted mode (flushed before any ciphertext).
    plain_out: ByteQueue,
    /// How many of `read_buf`'s bytes arrived before encryption started (STARTTLS guard).
    unencrypted_leftover: usize,
    read_buffer_size: i64,
    /// The transport reached end of stream (or was reset: `tcp_reset`).
    tcp_eof: bool,
    tcp_reset: Option<std::io::Error>,
    /// Counts emissions of `readyRead`, `encrypted`, `connected` and writes to TCP, so a
    /// `wait_for_*` call knows its event happened even if the connection also ended in the same
    /// drive.
    ready_read_count: u64,
    written_count: u64,
    encrypted_count: u64,
    connected_count: u64,
    /// The handshake completed during this drive: like Qt, whose plain socket writes to the OS
    /// only on the next event-loop turn, the client's last flight waits for the next drive (and
    /// then leaves together with the first application data).
    send_deferred: bool,
    /// Ciphertext sent while `send_deferred`, reported with the next `encryptedBytesWritten`.
    unreported_sent: usize,
    /// The last recv(2) found the kernel empty (or took less than it asked for), and no poll(2)
    /// has reported the descriptor readable since. Blocking calls then poll before the next
    /// recv instead of paying for one that comes back empty (EAGAIN).
    kernel_drained: bool,
    /// Set while a blocking call (`wait_for_*`, `io::Read`, `io::Write`) drives the socket: it
    /// polls before it sleeps, so its drives may trust `kernel_drained`. Other drives
    /// (`flush()`, `EventLoop`) always try the recv: their caller may have polled the
    /// descriptor itself.
    in_blocking_call: bool,
    /// Set by `SslServer`: a handshake still running at this instant is dropped.
    handshake_deadline: Option<std::time::Instant>,

    error: SocketError,
    error_string: String,
    ssl_errors: Vec<SslError>,
    /// Chain errors collected during the running handshake (each step records its errors,
    /// then emits `peerVerifyError` for them).
    chain_errors: Vec<RawChainError>,
    /// The generation whose handshake step (or verification decision) is running, so that a
    /// slot driving the socket does not step the handshake again.
    handshake_step: Option<u64>,
    /// The last handshake's errors in both of Qt's orders, for the (possibly paused) decision.
    collected: Option<Collected>,
    ignore_all: bool,
    ignore_list: Vec<SslError>,
    pause_mode: PauseMode,
    paused: bool,
    resume_requested: bool,
    report: Option<VerificationReport>,
    peer_closed_cleanly: Option<bool>,
    session_resumed: bool,
    totals: ByteTotals,
    /// Bumped whenever the connection is torn down or replaced, so a pump pass can tell that a
    /// slot closed the socket under it.
    generation: u64,
    slots: Slots,
}

impl std::fmt::Debug for SslSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SslSocket")
            .field("state", &self.state)
            .field("mode", &self.mode)
            .field("encrypted", &self.encrypted)
            .field("peer", &self.peer_address)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Default for SslSocket {
    fn default() -> Self {
        SslSocket::new()
    }
}

impl SslSocket {
    /// A new, unconnected socket with a copy of the process-wide default configuration.
    pub fn new() -> SslSocket {
        SslSocket::with_configuration(SslConfiguration::default_configuration())
    }

    /// A new, unconnected socket with `config` (for `SslServer`: no copy of the process-wide
    /// default configuration is made only to be replaced).
    pub(crate) fn with_configuration(config: SslConfiguration) -> SslSocket {
        SslSocket {
            config,
            state: SocketState::UnconnectedState,
            mode: SslMode::UnencryptedMode,
            open: false,
            auto_start: false,
            encrypted: false,
            pending_close: false,
            tcp_closing: false,
            lookup: None,
            addresses: Vec::new(),
            tcp: None,
            peer_name: String::new(),
            peer_port: 0,
            peer_address: None,
            local_address: None,
            socket_options: HashMap::new(),
            engine: None,
            read_buf: ByteQueue::new(),
            write_buf: ByteQueue::new(),
            plain_out: ByteQueue::new(),
            unencrypted_leftover: 0,
            read_buffer_size: 0,
            tcp_eof: false,
            tcp_reset: None,
            ready_read_count: 0,
            written_count: 0,
            encrypted_count: 0,
            connected_count: 0,
            send_deferred: false,
            unreported_sent: 0,
            kernel_drained: false,
            in_blocking_call: false,
            handshake_deadline: None,
            error: SocketError::UnknownSocketError,
            error_string: String::new(),
            ssl_errors: Vec::new(),
            chain_errors: Vec::new(),
            handshake_step: None,
            collected: None,
            ignore_all: false,
            ignore_list: Vec::new(),
            pause_mode: PauseMode::PauseNever,
            paused: false,
            resume_requested: false,
            report: None,
            peer_closed_cleanly: None,
            session_resumed: false,
            totals: ByteTotals::default(),
            generation: 0,
            slots: Slots::default(),
        }
    }

    /// The connection state.
    pub fn state(&self) -> SocketState {
        self.state
    }

    /// Plain, client or server mode.
    pub fn mode(&self) -> SslMode {
        self.mode
    }

    /// Whether the handshake has completed and data is encrypted.
    #[doc(alias = "isEncrypted")]
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// The last error (`UnknownSocketError` if none).
    pub fn error(&self) -> SocketError {
        self.error
    }

    /// Qt's text for the last error ("Unknown error" if none).
    #[doc(alias = "errorString")]
    pub fn error_string(&self) -> String {
        if self.error_string.is_empty() {
            "Unknown error".to_owned()
        } else {
            self.error_string.clone()
        }
    }

    /// The verification errors of the last handshake, in Qt's order (Qt 6:
    /// `sslHandshakeErrors()`). Kept after the handshake and after a failure.
    #[doc(alias = "sslHandshakeErrors")]
    pub fn ssl_errors(&self) -> Vec<SslError> {
        self.ssl_errors.clone()
    }

    /// Qt 6's name for [`ssl_errors`](Self::ssl_errors).
    pub fn ssl_handshake_errors(&self) -> Vec<SslError> {
        self.ssl_errors.clone()
    }

    /// Continues the handshake despite verification errors. Call it in the `ssl_errors` or
    /// `peer_verify_error` slot, or after `connect_to_host*` (which resets it, as in Qt 6).
    /// Ignoring everything defeats verification: prefer
    /// [`ignore_ssl_errors_list`](Self::ignore_ssl_errors_list).
    #[doc(alias = "ignoreSslErrors")]
    pub fn ignore_ssl_errors(&mut self) {
        self.ignore_all = true;
    }

    /// Continues the handshake only if every verification error equals (kind and certificate)
    /// an entry of `errors`. Replaces the previous list (an empty list clears it); survives
    /// reconnections.
    ///
    /// # Examples
    /// ```
    /// use qsslsocket::{SslCertificate, SslError, SslErrorKind, SslSocket};
    ///
    /// let expected: SslCertificate = SslCertificate::default(); // the server's certificate
    /// let mut socket = SslSocket::new();
    /// socket.ignore_ssl_errors_list(&[SslError::new(
    ///     SslErrorKind::SelfSignedCertificate,
    ///     Some(expected),
    /// )]);
    /// ```
    pub fn ignore_ssl_errors_list(&mut self, errors: &[SslError]) {
        self.ignore_list = errors.to_vec();
    }

    /// Whether the handshake pauses after `ssl_errors` until `resume()` (Qt 5+).
    pub fn pause_mode(&self) -> PauseMode {
        self.pause_mode
    }

    /// Sets the pause mode.
    pub fn set_pause_mode(&mut self, mode: PauseMode) {
        self.pause_mode = mode;
    }

    /// The audit record of the last handshake's verification (crate extension): every error
    /// with its chain depth and whether and why it was ignored, and the trust anchor's source.
    pub fn verification_report(&self) -> Option<VerificationReport> {
        let mut report = self.report.clone()?;
        // A CA added as a value is reported as the default store's when it is one of the
        // default CA certificates (looked up here, not in every handshake).
        if report.anchor_source == Some(AnchorSource::Added)
            && report
                .anchor
                .as_ref()
                .is_some_and(crate::defaults::is_default_ca_certificate)
        {
            report.anchor_source = Some(AnchorSource::DefaultStore);
        }
        Some(report)
    }

    /// Whether the peer ended the TLS stream cleanly (crate extension): `None` while the
    /// connection is open or was never encrypted, `Some(true)` after the peer's close_notify,
    /// `Some(false)` when the transport ended without it (truncation, RST).
    pub fn peer_closed_cleanly(&self) -> Option<bool> {
        self.peer_closed_cleanly
    }

    /// The peer's address once connected.
    pub fn peer_address(&self) -> Option<IpAddr> {
        self.peer_address.map(|a| a.ip())
    }

    /// The peer's port once connected, 0 otherwise.
    pub fn peer_port(&self) -> u16 {
        self.peer_address.map_or(0, |a| a.port())
    }

    /// The host name given to `connect_to_host*` (Qt's `peerName()`).
    pub fn peer_name(&self) -> String {
        self.peer_name.clone()
    }

    /// The local address once connected.
    pub fn local_address(&self) -> Option<IpAddr> {
        self.local_address.map(|a| a.ip())
    }

    /// The local port once connected, 0 otherwise.
    pub fn local_port(&self) -> u16 {
        self.local_address.map_or(0, |a| a.port())
    }

    /// The TCP socket's descriptor, -1 if none.
    pub fn socket_descriptor(&self) -> RawFd {
        self.tcp.as_ref().map_or(-1, Tcp::fd)
    }

    /// Whether the device is open (connecting, connected, or closing).
    pub fn is_open(&self) -> bool {
        self.open
    }

    /// Whether the socket is valid: it has a descriptor, or the device is open. As in Qt, whose
    /// QSslSocket answers `isOpen()` (the descriptor belongs to its plain socket): valid from
    /// `connect_to_host*` on, still valid after the connection ends, until `close()`/`abort()`.
    pub fn is_valid(&self) -> bool {
        self.tcp.is_some() || self.open
    }

    fn set_state(&mut self, state: SocketState) {
        self.state = state;
        self.emit_state_changed(state);
    }

    /// Records an error and emits `errorOccurred` (Qt's `setErrorAndEmit`).
    fn set_error_and_emit(&mut self, error: SocketError, text: impl Into<String>) {
        self.set_error(error, text);
        self.emit_error_occurred(error);
    }

    fn set_error(&mut self, error: SocketError, text: impl Into<String>) {
        self.error = error;
        self.error_string = text.into();
    }
}
