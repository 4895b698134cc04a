//! Accepting: the non-blocking accept loop (Qt's `QTcpServerPrivate::readNotification`), the
//! default set-up of each connection (Qt 6.4's `QSslServer::incomingConnection`), the
//! incoming-connection hook, and Qt's error values and texts for listen and accept failures
//! (`QNativeSocketEngine`'s strings).

use std::io;
use std::os::fd::{IntoRawFd, RawFd};

use crate::event_loop::with_current_socket;
use crate::{OpenMode, SocketError, SocketState, SslSocket};

use super::signals::ServerSignals;
use super::{Accepted, SslServer};

/// What one accepting pass did.
#[derive(Debug, Default)]
pub(crate) struct Accepting {
    /// Descriptors accepted, whatever became of them (queued, refused by a slot, or dropped
    /// because the configuration cannot make a TLS server): slots may have run for each.
    pub(crate) accepted: usize,
    /// Connections queued (set up and not refused).
    pub(crate) queued: usize,
    /// It stopped at an accept error (`accept_error` was emitted).
    pub(crate) failed: bool,
    /// It stopped at the batch size: more connections may be waiting.
    pub(crate) more: bool,
}

impl Accepting {
    /// Whether the pass did anything an application may be waiting for (slots ran).
    pub(crate) fn acted(&self) -> bool {
        self.accepted > 0 || self.failed
    }
}

impl SslServer {
    /// Accepts what the kernel has, up to `batch` attempts and while below the pending limit
    /// with `in_flight` more (Qt's `readNotification`). After an accept error the server is
    /// paused and `accept_error` is emitted, as in Qt.
    pub(super) fn accept_available(&mut self, batch: usize, in_flight: usize) -> Accepting {
        let mut result = Accepting::default();
        let mut attempts = 0;
        while self.below_limit(in_flight) {
            let Some(listener) = self.listener.as_ref() else {
                break;
            };
            if attempts == batch {
                result.more = true;
                break;
            }
            attempts += 1;
            match listener.accept() {
                Ok((socket, _)) => {
                    result.accepted += 1;
                    result.queued += self.incoming_connection(socket.into_raw_fd());
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if is_transient(&e) => continue,
                Err(e) => {
                    let (error, text) = accept_error(&e);
                    self.fail_accepting(error, text.to_owned());
                    result.failed = true;
                    break;
                }
            }
        }
        result
    }

    /// Accepting failed: records the error, pauses, and emits `accept_error` (Qt's
    /// `readNotification` on an accept error).
    pub(super) fn fail_accepting(&mut self, error: SocketError, text: String) {
        self.error = error;
        self.error_string = text;
        self.paused = true;
        let signals = self.signals.clone();
        signals.accept_error.emit(|slot| slot(self, error));
    }

    /// One accepted descriptor: the hook's or the default set-up, then `new_connection` for
    /// each socket queued. Returns how many sockets were queued.
    fn incoming_connection(&mut self, fd: RawFd) -> usize {
        let before = self.pending.len();
        match self.incoming.take() {
            Some(mut hook) => {
                hook(self, fd);
                // Keep a hook installed by the hook itself.
                self.incoming.get_or_insert(hook);
            }
            None => self.set_up(fd),
        }
        // The sockets just queued, examined where they are (no list of their own per accept).
        let signals = self.signals.clone();
        let mut at = before.min(self.pending.len());
        let mut queued = 0;
        while let Some(accepted) = self.pending.get_mut(at) {
            if refused(accepted, &signals) {
                self.pending.remove(at);
            } else {
                at += 1;
                queued += 1;
            }
        }
        queued
    }

    /// Qt 6.4's `incomingConnection`: a server-mode socket with the server's configuration,
    /// the handshake timeout and the signal forwarding, its handshake started.
    fn set_up(&mut self, fd: RawFd) {
        let mut socket = SslSocket::with_configuration(self.config.clone());
        if !socket.set_socket_descriptor(fd, SocketState::ConnectedState, OpenMode::ReadWrite) {
            // The client was gone before it could be adopted (the descriptor is closed).
            return;
        }
        self.arm(&mut socket);
        socket.start_server_encryption();
        if socket.error() != SocketError::UnknownSocketError
            || socket.mode() != crate::SslMode::SslServerMode
        {
            // The configuration cannot make a TLS server (no key, bad protocol): the error
            // reached `on_error_occurred`; the connection is dropped, as Qt deletes the socket.
            return;
        }
        let id = self
            .event_loop
            .as_ref()
            .map(|s| crate::event_loop::SocketId(s.next_id()));
        self.pending.push_back(Accepted { socket, id });
    }
}

/// Runs `new_connection`, then for a server-mode socket `started_encryption_handshake`, for a
/// socket just queued; returns true if a slot refused it (aborted the socket).
fn refused(accepted: &mut Accepted, signals: &ServerSignals) -> bool {
    let socket = &mut accepted.socket;
    with_current_socket(accepted.id, || {
        signals.new_connection.emit(|slot| slot(socket));
    });
    if socket.state() == SocketState::UnconnectedState {
        return true;
    }
    if socket.mode() == crate::SslMode::SslServerMode {
        with_current_socket(accepted.id, || {
            signals
                .started_encryption_handshake
                .emit(|slot| slot(socket));
        });
    }
    socket.state() == SocketState::UnconnectedState
}

/// accept(2) failures that concern one connection only, not the server (accept(2): "treat
/// them like EAGAIN by retrying"). Qt pauses the server on ECONNABORTED; a client that resets
/// before it is accepted must not stop a server.
fn is_transient(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(
            libc::ECONNABORTED
                | libc::EINTR
                | libc::EPROTO
                | libc::ENETDOWN
                | libc::ENOPROTOOPT
                | libc::EHOSTDOWN
                | libc::ENONET
                | libc::EHOSTUNREACH
                | libc::ENETUNREACH
                | libc::EPERM
        )
    ) || e.kind() == io::ErrorKind::Interrupted
}

/// Qt's value and text for an accept failure (`nativeAccept`).
pub(super) fn accept_error(e: &io::Error) -> (SocketError, &'static str) {
    match e.raw_os_error() {
        Some(libc::EBADF | libc::EOPNOTSUPP) => (
            SocketError::UnsupportedSocketOperationError,
            "Invalid socket descriptor",
        ),
        Some(libc::EFAULT | libc::ENOTSOCK) => {
            (SocketError::SocketResourceError, "Operation on non-socket")
        }
        Some(libc::EPROTONOSUPPORT | libc::EAFNOSUPPORT | libc::EINVAL) => (
            SocketError::UnsupportedSocketOperationError,
            "Protocol type not supported",
        ),
        Some(libc::ENFILE | libc::EMFILE | libc::ENOBUFS | libc::ENOMEM) => {
            (SocketError::SocketResourceError, "Out of resources")
        }
        Some(libc::EACCES) => (SocketError::SocketAccessError, "Permission denied"),
        _ => (SocketError::UnknownSocketError, "Unknown error"),
    }
}

/// Qt's value and text for a failure to create the listening socket.
pub(super) fn create_error(e: &io::Error) -> (SocketError, &'static str) {
    match e.raw_os_error() {
        Some(libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT | libc::EINVAL) => (
            SocketError::UnsupportedSocketOperationError,
            "Protocol type not supported",
        ),
        Some(libc::ENFILE | libc::EMFILE | libc::ENOBUFS | libc::ENOMEM) => {
            (SocketError::SocketResourceError, "Out of resources")
        }
        Some(libc::EACCES | libc::EPERM) => (SocketError::SocketAccessError, "Permission denied"),
        _ => (SocketError::UnknownSocketError, "Unknown error"),
    }
}

/// Qt's value and text for a bind failure (`nativeBind`).
pub(super) fn bind_error(e: &io::Error) -> (SocketError, &'static str) {
    match e.raw_os_error() {
        Some(libc::EADDRINUSE) => (
            SocketError::AddressInUseError,
            "The bound address is already in use",
        ),
        Some(libc::EACCES) => (SocketError::SocketAccessError, "The address is protected"),
        Some(libc::EINVAL) => (
            SocketError::UnsupportedSocketOperationError,
            "Unsupported socket operation",
        ),
        Some(libc::EADDRNOTAVAIL) => (
            SocketError::SocketAddressNotAvailableError,
            "The address is not available",
        ),
        _ => (SocketError::UnknownSocketError, "Unknown error"),
    }
}

/// Qt's value and text for a listen failure (`nativeListen`).
pub(super) fn listen_error(e: &io::Error) -> (SocketError, &'static str) {
    match e.raw_os_error() {
        Some(libc::EADDRINUSE) => (
            SocketError::AddressInUseError,
            "Another socket is already listening on the same port",
        ),
        _ => (SocketError::UnknownSocketError, "Unknown error"),
    }
}
