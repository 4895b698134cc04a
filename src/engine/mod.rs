//! The sans-IO TLS engine: an `openssl::ssl::SslStream` over in-memory buffers (Qt's memory-BIO
//! design in `qtls_openssl.cpp`, with the socket taken out). No sockets, no clock, no user
//! callbacks: the shell (`crate::socket`) moves bytes and turns results into Qt's signals.
//!
//! Calling protocol, per pump pass (Qt's `transmit()`):
//! 1. feed what arrived from the peer with [`Engine::handle_ciphertext`] (or
//!    [`Engine::handle_transport_eof`]);
//! 2. while the handshake runs, call [`Engine::handshake`] and drain
//!    [`Engine::take_verify_errors`];
//! 3. once it is done, [`Engine::write_plaintext`] queued data and [`Engine::read_plaintext`]
//!    until it needs input;
//! 4. send [`Engine::outgoing`] to the peer and [`Engine::consume_outgoing`] what was sent.
//!
//! Errors are sticky: after a fatal error every call returns it again and does no new work, but
//! `outgoing()` still holds any alert OpenSSL produced, so the peer can learn why.

pub(crate) mod context;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod conversation;
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzz_support;
mod pipe;
pub(crate) mod probe;
pub(crate) mod verify;

use std::sync::Arc;

use openssl::ssl::{ErrorCode, ShutdownState, Ssl, SslStream, SslVerifyMode, SslVersion};

use crate::{NextProtocolNegotiationStatus, SslCertificate, SslCipher, SslProtocol};

use context::{SessionSlot, SharedContext, openssl_text, session_slot_index};
use pipe::MemPipe;
use verify::VerifyLog;

use crate::verification::RawChainError;

/// Which side of the handshake the engine plays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Role {
    Client = 1,
    Server = 2,
}

/// Per-connection settings that are not part of the shared context.
#[derive(Debug, Default)]
pub(crate) struct Setup {
    /// Server name to send (SNI), client only.
    pub(crate) server_name: Option<String>,
    /// Whether the peer's certificate is requested and verification errors collected.
    pub(crate) verify_peer: bool,
    /// Server only: fail inside OpenSSL when the client sends no certificate.
    pub(crate) require_peer_certificate: bool,
    /// Client only: key under which sessions for this peer are remembered (`None`: don't).
    pub(crate) session_key: Option<String>,
    /// Client only: a serialized session to offer (Qt's `sessionTicket()`).
    pub(crate) session_ticket: Vec<u8>,
}

/// Why the engine stopped: Qt's message text and its kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Failure {
    pub(crate) kind: FailureKind,
    /// OpenSSL's reasons as Qt prints them (`error:0A000410:SSL routines::...`).
    pub(crate) reasons: String,
}

/// The stage a failure happened in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FailureKind {
    /// `SSL_connect`/`SSL_accept` failed.
    Handshake,
    /// `SSL_read` failed after the handshake.
    Read,
    /// `SSL_write` failed.
    Write,
}

/// The result of a read.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum ReadOutcome {
    /// Plaintext was read.
    Data(usize),
    /// More ciphertext is needed.
    NeedInput,
    /// The peer sent close_notify: a clean end of stream.
    CloseNotify,
    /// The transport ended without close_notify (truncation).
    Truncated,
    /// A fatal error (bad record MAC, unexpected message, ...).
    Failed(Failure),
}

/// One TLS connection, in memory.
pub(crate) struct Engine {
    stream: SslStream<MemPipe>,
    role: Role,
    /// The verify callback's findings; `None` when the peer is not verified.
    verify_log: Option<VerifyLog>,
    handshake_done: bool,
    failure: Option<Failure>,
    close_notify_received: bool,
    session: Arc<SessionSlot>,
    /// Whether OpenSSL may have (re)allocated its buffers since `release_buffers` last looked:
    /// set by every call that reads, writes or handshakes, cleared by `release_buffers`, so that
    /// releasing an idle connection again costs no FFI call.
    ssl_touched: bool,
    /// The last handshake step stopped for want of input: until ciphertext (or the end of the
    /// stream) arrives, another step could only say the same.
    handshake_awaits_input: bool,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("role", &self.role)
            .field("handshake_done", &self.handshake_done)
            .field("failure", &self.failure)
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// A connection on `context` in `role`. Fails only if OpenSSL cannot allocate the SSL object
    /// or rejects the server name.
    pub(crate) fn new(
        context: Arc<SharedContext>,
        role: Role,
        setup: Setup,
    ) -> Result<Engine, String> {
        let mut ssl = Ssl::new(&context.ctx).map_err(|e| openssl_text(&e))?;
        let verify_log = if setup.verify_peer {
            let mut mode = SslVerifyMode::PEER;
            if setup.require_peer_certificate {
                mode |= SslVerifyMode::FAIL_IF_NO_PEER_CERT;
            }
            let log = VerifyLog::default();
            let for_callback = log.clone();
            ssl.set_verify_callback(mode, move |ok, store| for_callback.record(ok, store));
            Some(log)
        } else {
            ssl.set_verify(SslVerifyMode::NONE);
            None
        };
        match role {
            Role::Client => {
                ssl.set_connect_state();
                if let Some(name) = setup.server_name.as_deref().filter(|n| !n.is_empty()) {
                    ssl.set_hostname(name).map_err(|e| openssl_text(&e))?;
                }
                let offered = if !setup.session_ticket.is_empty() {
                    openssl::ssl::SslSession::from_der(&setup.session_ticket).ok()
                } else {
                    setup
                        .session_key
                        .as_deref()
                        .and_then(|k| context.session_for(k))
                };
                if let Some(session) = offered {
                    crate::ffi::openssl::set_session(&mut ssl, &session);
                }
            }
            Role::Server => ssl.set_accept_state(),
        }
        let session = Arc::new(SessionSlot {
            key: setup.session_key,
            ..SessionSlot::default()
        });
        if let Some(index) = session_slot_index() {
            ssl.set_ex_data(index, session.clone());
        }
        let stream = SslStream::new(ssl, MemPipe::default()).map_err(|e| openssl_text(&e))?;
        Ok(Engine {
            stream,
            role,
            verify_log,
            handshake_done: false,
            failure: None,
            close_notify_received: false,
            session,
            ssl_touched: true,
            // A server speaks only after the ClientHello: a step before any input could only
            // ask for it (an SSL_do_handshake per accepted connection for nothing).
            handshake_awaits_input: role == Role::Server,
        })
    }

    /// Ciphertext from the peer.
    pub(crate) fn handle_ciphertext(&mut self, data: &[u8]) {
        self.stream.get_mut().incoming.push(data);
    }

    /// Room to receive ciphertext into directly (a socket read lands here); then call
    /// [`commit_ciphertext`](Self::commit_ciphertext).
    pub(crate) fn ciphertext_spare(&mut self, min: usize) -> &mut [u8] {
        self.stream.get_mut().incoming.spare(min)
    }

    /// Records `n` bytes written into `ciphertext_spare` as received.
    pub(crate) fn commit_ciphertext(&mut self, n: usize) {
        self.stream.get_mut().incoming.commit(n);
    }

    /// Ciphertext received but not yet consumed by OpenSSL (Qt's `encryptedBytesAvailable`).
    pub(crate) fn pending_ciphertext_in(&self) -> usize {
        self.stream.get_ref().incoming.len()
    }

    /// The peer's transport reached end of stream.
    pub(crate) fn handle_transport_eof(&mut self) {
        self.stream.get_mut().incoming_eof = true;
    }

    /// Ciphertext waiting to go to the peer.
    pub(crate) fn outgoing(&self) -> &[u8] {
        self.stream.get_ref().outgoing.as_slice()
    }

    /// Marks `n` bytes of `outgoing()` as sent.
    pub(crate) fn consume_outgoing(&mut self, n: usize) {
        let n = n.min(self.outgoing().len());
        self.stream.get_mut().outgoing.consume(n);
    }

    /// Gives idle buffers back (after a pump pass that left them empty): ours, and, once the
    /// handshake is done, OpenSSL's own read and write buffers (what SSL_MODE_RELEASE_BUFFERS
    /// would do, without the churn during the handshake). OpenSSL's are kept while it still holds
    /// data in them (a record read only in part, a record whose body has not fully arrived; see
    /// `ffi::openssl::free_buffers`). Cheap to call repeatedly: once OpenSSL has been looked at,
    /// it is not asked again until it has been used.
    pub(crate) fn release_buffers(&mut self) {
        let pipe = self.stream.get_mut();
        pipe.incoming.release();
        pipe.outgoing.release();
        self.release_openssl_buffers();
    }

    /// Bytes held by the engine's own ciphertext queues.
    #[cfg(test)]
    pub(crate) fn queue_capacity(&self) -> usize {
        let pipe = self.stream.get_ref();
        pipe.incoming.capacity() + pipe.outgoing.capacity()
    }

    /// The OpenSSL half of `release_buffers`. Returns whether OpenSSL's buffers were freed now.
    fn release_openssl_buffers(&mut self) -> bool {
        if !self.handshake_done || self.failure.is_some() || !self.ssl_touched {
            return false;
        }
        // Whatever the answer, it stays the same until OpenSSL is called again.
        self.ssl_touched = false;
        crate::ffi::openssl::free_buffers(&mut self.stream)
    }

    /// Advances the handshake. `Ok(true)` once it is complete.
    pub(crate) fn handshake(&mut self) -> Result<bool, Failure> {
        if let Some(f) = &self.failure {
            return Err(f.clone());
        }
        if self.handshake_done {
            return Ok(true);
        }
        if self.handshake_awaits_input && self.no_input() {
            return Ok(false);
        }
        self.ssl_touched = true;
        self.handshake_awaits_input = false;
        match self.stream.do_handshake() {
            Ok(()) => {
                self.handshake_done = true;
                if let Some(log) = &self.verify_log {
                    log.stop_collecting();
                }
                Ok(true)
            }
            Err(e) if e.code() == ErrorCode::WANT_READ || e.code() == ErrorCode::WANT_WRITE => {
                self.handshake_awaits_input = e.code() == ErrorCode::WANT_READ;
                Ok(false)
            }
            Err(e) => Err(self.fail(FailureKind::Handshake, &e)),
        }
    }

    /// Whether the handshake has completed.
    pub(crate) fn is_handshake_done(&self) -> bool {
        self.handshake_done
    }

    /// The verification errors collected since the last call, in the order OpenSSL found them.
    pub(crate) fn take_verify_errors(&mut self) -> Vec<RawChainError> {
        self.verify_log
            .as_ref()
            .map(VerifyLog::take)
            .unwrap_or_default()
    }

    /// Encrypts as much of `data` as OpenSSL accepts (with memory buffers: all of it).
    pub(crate) fn write_plaintext(&mut self, data: &[u8]) -> Result<usize, Failure> {
        if let Some(f) = &self.failure {
            return Err(f.clone());
        }
        if data.is_empty() {
            return Ok(0);
        }
        self.ssl_touched = true;
        match self.stream.ssl_write(data) {
            Ok(n) => Ok(n),
            Err(e) if e.code() == ErrorCode::WANT_READ || e.code() == ErrorCode::WANT_WRITE => {
                Ok(0)
            }
            Err(e) => Err(self.fail(FailureKind::Write, &e)),
        }
    }

    /// Decrypts into `buf`.
    pub(crate) fn read_plaintext(&mut self, buf: &mut [u8]) -> ReadOutcome {
        if let Some(f) = &self.failure {
            return ReadOutcome::Failed(f.clone());
        }
        if self.close_notify_received {
            return ReadOutcome::CloseNotify;
        }
        if buf.is_empty() {
            return ReadOutcome::Data(0);
        }
        if self.nothing_to_read() {
            return ReadOutcome::NeedInput;
        }
        self.ssl_touched = true;
        match self.stream.ssl_read(buf) {
            Ok(0) => ReadOutcome::NeedInput,
            Ok(n) => ReadOutcome::Data(n),
            Err(e) if e.code() == ErrorCode::ZERO_RETURN => {
                self.close_notify_received = true;
                ReadOutcome::CloseNotify
            }
            Err(e) if e.code() == ErrorCode::WANT_READ || e.code() == ErrorCode::WANT_WRITE => {
                if self.stream.get_ref().incoming_eof && self.stream.get_ref().incoming.is_empty() {
                    ReadOutcome::Truncated
                } else {
                    ReadOutcome::NeedInput
                }
            }
            Err(e) if is_unexpected_eof(&e) => ReadOutcome::Truncated,
            Err(e) => ReadOutcome::Failed(self.fail(FailureKind::Read, &e)),
        }
    }

    /// Whether `SSL_read` could only ask for more input: none arrived, and no plaintext was
    /// decrypted but not yet returned. Without read-ahead OpenSSL buffers at most the record it
    /// is reading, so nothing else can come out. Skipping the call saves its error-queue
    /// clearing and `SSL_get_error` (a drive asks several times per connection step).
    fn nothing_to_read(&self) -> bool {
        self.no_input() && self.stream.ssl().pending() == 0
    }

    /// No ciphertext queued and no end of stream to report: OpenSSL, which reads until the
    /// queue is empty before it asks for more, has nothing new to look at.
    fn no_input(&self) -> bool {
        let pipe = self.stream.get_ref();
        pipe.incoming.is_empty() && !pipe.incoming_eof
    }

    /// Sends close_notify (once), unless the handshake is still running or a fatal error
    /// happened (Qt 5.15/6's guards: shutting down mid-handshake makes OpenSSL fail). Unlike Qt,
    /// it also answers a close_notify the peer sent first (a proper bidirectional close).
    /// Returns whether close_notify was queued.
    pub(crate) fn shutdown(&mut self) -> bool {
        if self.failure.is_some() || !self.handshake_done {
            return false;
        }
        if self.stream.get_shutdown().contains(ShutdownState::SENT) {
            return false;
        }
        self.ssl_touched = true;
        self.stream.shutdown().is_ok()
    }

    /// Marks the session as cleanly shut down without sending anything, so OpenSSL keeps it
    /// resumable even when the connection is aborted (an unshut session is discarded).
    pub(crate) fn keep_session_resumable(&mut self) {
        if self.handshake_done && self.failure.is_none() {
            let state = self.stream.get_shutdown();
            self.stream.set_shutdown(state | ShutdownState::SENT);
        }
    }

    /// Whether the peer's close_notify has been read.
    pub(crate) fn close_notify_received(&self) -> bool {
        self.close_notify_received
    }

    /// The sticky failure, if any.
    pub(crate) fn failure(&self) -> Option<&Failure> {
        self.failure.as_ref()
    }

    /// The peer's certificate, null if none.
    pub(crate) fn peer_certificate(&self) -> SslCertificate {
        self.stream
            .ssl()
            .peer_certificate()
            .map(SslCertificate::from_x509)
            .unwrap_or_default()
    }

    /// The peer's chain, leaf first, as sent (Qt 5+: a server prepends the client's leaf, which
    /// OpenSSL leaves out of the server-side chain).
    pub(crate) fn peer_certificate_chain(&self) -> Vec<SslCertificate> {
        let ssl = self.stream.ssl();
        let mut chain: Vec<SslCertificate> = ssl
            .peer_cert_chain()
            .map(|s| s.iter().map(SslCertificate::from_x509_ref).collect())
            .unwrap_or_default();
        if self.role == Role::Server {
            if let Some(leaf) = ssl.peer_certificate() {
                chain.insert(0, SslCertificate::from_x509(leaf));
            }
        }
        chain
    }

    /// The verified chain (leaf to trust anchor) when verification built one.
    pub(crate) fn verified_chain(&self) -> Vec<SslCertificate> {
        self.stream
            .ssl()
            .verified_chain()
            .map(|s| s.iter().map(SslCertificate::from_x509_ref).collect())
            .unwrap_or_default()
    }

    /// The negotiated cipher, null before the handshake.
    pub(crate) fn session_cipher(&self) -> SslCipher {
        self.stream
            .ssl()
            .current_cipher()
            .map(SslCipher::from_openssl)
            .unwrap_or_default()
    }

    /// The negotiated protocol version (Qt 5.4's `sessionProtocol`).
    pub(crate) fn session_protocol(&self) -> Option<SslProtocol> {
        let v = self.stream.ssl().version2()?;
        Some(if v == SslVersion::TLS1_3 {
            SslProtocol::TlsV1_3
        } else if v == SslVersion::TLS1_2 {
            SslProtocol::TlsV1_2
        } else if v == SslVersion::TLS1_1 {
            SslProtocol::TlsV1_1
        } else if v == SslVersion::TLS1 {
            SslProtocol::TlsV1_0
        } else if v == SslVersion::SSL3 {
            SslProtocol::SslV3
        } else {
            SslProtocol::UnknownProtocol
        })
    }

    /// The ALPN protocol the peers agreed on.
    pub(crate) fn negotiated_protocol(&self) -> Vec<u8> {
        self.stream
            .ssl()
            .selected_alpn_protocol()
            .map(<[u8]>::to_vec)
            .unwrap_or_default()
    }

    /// Qt's ALPN status after the handshake: negotiated, or (a server whose client offered only
    /// protocols it does not allow) unsupported, or none. A Qt client reports none whenever the
    /// server chose nothing.
    pub(crate) fn negotiation_status(&self) -> NextProtocolNegotiationStatus {
        if self.stream.ssl().selected_alpn_protocol().is_some() {
            NextProtocolNegotiationStatus::NextProtocolNegotiationNegotiated
        } else if context::alpn_no_overlap(self.stream.ssl()) {
            NextProtocolNegotiationStatus::NextProtocolNegotiationUnsupported
        } else {
            NextProtocolNegotiationStatus::NextProtocolNegotiationNone
        }
    }

    /// Whether this handshake resumed a session.
    pub(crate) fn session_reused(&self) -> bool {
        self.stream.ssl().session_reused()
    }

    /// The newest session OpenSSL established for this connection since the last call (TLS 1.3
    /// tickets arrive after the handshake), for Qt's `sessionTicket()`.
    pub(crate) fn take_new_session(&self) -> Option<openssl::ssl::SslSession> {
        if !self
            .session
            .fresh
            .swap(false, std::sync::atomic::Ordering::Acquire)
        {
            return None;
        }
        self.session.latest.lock().ok()?.take()
    }

    fn fail(&mut self, kind: FailureKind, error: &openssl::ssl::Error) -> Failure {
        let reasons = match error.ssl_error() {
            Some(stack) => openssl_text(stack),
            None => match error.io_error() {
                Some(io) => io.to_string(),
                None if error.code() == ErrorCode::SYSCALL => "unexpected end of stream".to_owned(),
                None => String::new(),
            },
        };
        let failure = Failure { kind, reasons };
        self.failure = Some(failure.clone());
        failure
    }
}

/// OpenSSL 3 reports a transport EOF without close_notify as `SSL_R_UNEXPECTED_EOF_WHILE_READING`
/// (1.1.1: `SSL_ERROR_SYSCALL` without an I/O error).
fn is_unexpected_eof(error: &openssl::ssl::Error) -> bool {
    if error.code() == ErrorCode::SYSCALL && error.io_error().is_none() {
        return true;
    }
    error.ssl_error().is_some_and(|stack| {
        stack
            .errors()
            .iter()
            .any(|e| e.reason() == Some("unexpected eof while reading"))
    })
}

#[cfg(test)]
mod tests;
