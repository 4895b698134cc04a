//! The server's signals (Qt 6.4 `QSslServer` and `QTcpServer`), and how they reach the sockets.
//!
//! Server-level slots live in one `Arc<ServerSignals>` shared by the server and by small
//! forwarding slots connected on every socket it sets up, so that a socket's `ssl_errors` (for
//! instance) runs the server's `on_ssl_errors` slots with that socket, wherever the socket is
//! being driven: in an `EventLoop`, or on whatever thread the application took it to.
//!
//! Each signal's slots sit behind a mutex held while they run: slots are `FnMut`, so runs from
//! two threads are serialised. A slot that (indirectly) emits the same signal again on the same
//! thread does not run re-entrantly: that nested emission skips it, just as a socket's own signal
//! emission does. Slots connected while their signal is running are kept and run from the next
//! emission on.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::ThreadId;

use std::os::fd::RawFd;

use crate::{SocketError, SslError, SslSocket};

use super::SslServer;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The slots of one signal.
pub(super) struct SlotList<S: ?Sized> {
    slots: Mutex<Vec<Box<S>>>,
    /// Connected while the list was running.
    added: Mutex<Vec<Box<S>>>,
    /// The thread running the slots, to skip nested emissions on it.
    running: Mutex<Option<ThreadId>>,
}

impl<S: ?Sized> Default for SlotList<S> {
    fn default() -> Self {
        SlotList {
            slots: Mutex::new(Vec::new()),
            added: Mutex::new(Vec::new()),
            running: Mutex::new(None),
        }
    }
}

/// Clears the running mark even if a slot panics.
struct Running<'a>(&'a Mutex<Option<ThreadId>>);

impl Drop for Running<'_> {
    fn drop(&mut self) {
        *lock(self.0) = None;
    }
}

impl<S: ?Sized> SlotList<S> {
    pub(super) fn connect(&self, slot: Box<S>) {
        match self.slots.try_lock() {
            Ok(mut slots) => slots.push(slot),
            Err(std::sync::TryLockError::Poisoned(p)) => p.into_inner().push(slot),
            Err(std::sync::TryLockError::WouldBlock) => lock(&self.added).push(slot),
        }
    }

    /// Runs every slot through `call`, in connection order.
    pub(super) fn emit(&self, mut call: impl FnMut(&mut S)) {
        let me = std::thread::current().id();
        if *lock(&self.running) == Some(me) {
            return;
        }
        let mut slots = lock(&self.slots);
        slots.append(&mut lock(&self.added));
        if slots.is_empty() {
            return;
        }
        *lock(&self.running) = Some(me);
        let _running = Running(&self.running);
        for slot in slots.iter_mut() {
            call(slot);
        }
        slots.append(&mut lock(&self.added));
    }
}

type SocketSlot = dyn FnMut(&mut SslSocket) + Send;
type VerifyErrorSlot = dyn FnMut(&mut SslSocket, &SslError) + Send;
type SslErrorsSlot = dyn FnMut(&mut SslSocket, &[SslError]) + Send;
type SocketErrorSlot = dyn FnMut(&mut SslSocket, SocketError) + Send;
type AcceptErrorSlot = dyn FnMut(&mut SslServer, SocketError) + Send;

/// Every server-level signal.
#[derive(Default)]
pub(super) struct ServerSignals {
    pub(super) new_connection: SlotList<SocketSlot>,
    pub(super) started_encryption_handshake: SlotList<SocketSlot>,
    pub(super) encrypted: SlotList<SocketSlot>,
    pub(super) peer_verify_error: SlotList<VerifyErrorSlot>,
    pub(super) ssl_errors: SlotList<SslErrorsSlot>,
    pub(super) error_occurred: SlotList<SocketErrorSlot>,
    pub(super) accept_error: SlotList<AcceptErrorSlot>,
}

impl std::fmt::Debug for ServerSignals {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerSignals").finish_non_exhaustive()
    }
}

impl ServerSignals {
    /// Connects the forwarding slots on `socket`: until its handshake completes, its
    /// `peer_verify_error`, `ssl_errors` and `error_occurred` run the server's slots of the same
    /// name, and its `encrypted` runs the server's `encrypted` slots once (Qt 6.4 connects and
    /// then disconnects the same forwarders in `QSslServer::incomingConnection`).
    pub(super) fn forward_from(self: &Arc<Self>, socket: &mut SslSocket) {
        let handshaking = Arc::new(AtomicBool::new(true));

        let (signals, active) = (self.clone(), handshaking.clone());
        socket.on_peer_verify_error(move |s, error| {
            if active.load(Ordering::Acquire) {
                signals.peer_verify_error.emit(|slot| slot(s, error));
            }
        });
        let (signals, active) = (self.clone(), handshaking.clone());
        socket.on_ssl_errors(move |s, errors| {
            if active.load(Ordering::Acquire) {
                signals.ssl_errors.emit(|slot| slot(s, errors));
            }
        });
        let (signals, active) = (self.clone(), handshaking.clone());
        socket.on_error_occurred(move |s, error| {
            if active.load(Ordering::Acquire) && !s.is_encrypted() {
                signals.error_occurred.emit(|slot| slot(s, error));
            }
        });
        let (signals, active) = (self.clone(), handshaking);
        socket.on_encrypted(move |s| {
            if active.swap(false, Ordering::AcqRel) {
                signals.encrypted.emit(|slot| slot(s));
            }
        });
    }
}

impl SslServer {
    /// Qt: `newConnection()`: runs for each accepted connection, with its socket (handshake
    /// started). Connect the socket's own slots here. Inside an event loop the socket stays in
    /// the loop, and [`EventLoop::current_socket_id`](crate::EventLoop::current_socket_id) gives
    /// its id while this slot runs. A slot may `abort()` the socket to refuse the client.
    #[doc(alias = "newConnection")]
    pub fn on_new_connection(&mut self, f: impl FnMut(&mut SslSocket) + Send + 'static) {
        self.signals.new_connection.connect(Box::new(f));
    }

    /// Qt 6.4: `startedEncryptionHandshake(QSslSocket *)`: a new connection's server handshake
    /// is running (emitted right after `on_new_connection`, for sockets in server mode; the
    /// crate starts the handshake at accept time instead of waiting for the ClientHello's first
    /// byte as Qt does).
    #[doc(alias = "startedEncryptionHandshake")]
    pub fn on_started_encryption_handshake(
        &mut self,
        f: impl FnMut(&mut SslSocket) + Send + 'static,
    ) {
        self.signals
            .started_encryption_handshake
            .connect(Box::new(f));
    }

    /// A connection completed its handshake (Qt 6.4 queues it then and emits
    /// `pendingConnectionAvailable()`). Runs before the socket's own `encrypted` slots.
    #[doc(alias = "pendingConnectionAvailable")]
    #[doc(alias = "encrypted")]
    pub fn on_encrypted(&mut self, f: impl FnMut(&mut SslSocket) + Send + 'static) {
        self.signals.encrypted.connect(Box::new(f));
    }

    /// Qt 6.4: `peerVerifyError(QSslSocket *, const QSslError &)`: a problem with a client's
    /// certificate, during a connection's handshake. `ignore_ssl_errors()` on the socket here
    /// continues the handshake.
    #[doc(alias = "peerVerifyError")]
    pub fn on_peer_verify_error(
        &mut self,
        f: impl FnMut(&mut SslSocket, &SslError) + Send + 'static,
    ) {
        self.signals.peer_verify_error.connect(Box::new(f));
    }

    /// Qt 6.4: `sslErrors(QSslSocket *, const QList<QSslError> &)`: every problem with a
    /// client's certificate, once per handshake. Call `ignore_ssl_errors()` on the socket to
    /// continue; otherwise a handshake that requires verification fails.
    #[doc(alias = "sslErrors")]
    pub fn on_ssl_errors(&mut self, f: impl FnMut(&mut SslSocket, &[SslError]) + Send + 'static) {
        self.signals.ssl_errors.connect(Box::new(f));
    }

    /// Qt 6.4: `errorOccurred(QSslSocket *, QAbstractSocket::SocketError)`: an error before the
    /// connection's handshake completed: `SslHandshakeFailedError` (a client that sent garbage,
    /// an HTTP request, a bad or truncated ClientHello), `RemoteHostClosedError` (it left
    /// mid-handshake), `SocketTimeoutError` (the handshake timeout),
    /// `SslInvalidUserDataError` (the server's configuration is unusable). The socket's
    /// `error_string()` has the details. Such a connection is dropped. Errors after the
    /// handshake are the socket's own business (its `on_error_occurred`).
    ///
    /// A connection the server could not set up (its configuration cannot make a TLS server)
    /// is dropped before `on_new_connection`, so this slot is the only place it shows; in an
    /// event loop, [`EventLoop::current_socket_id`](crate::EventLoop::current_socket_id) is
    /// `None` for it, as it never joined the loop.
    #[doc(alias = "errorOccurred")]
    pub fn on_error_occurred(
        &mut self,
        f: impl FnMut(&mut SslSocket, SocketError) + Send + 'static,
    ) {
        self.signals.error_occurred.connect(Box::new(f));
    }

    /// Qt: `acceptError(QAbstractSocket::SocketError)`: accepting failed, e.g.
    /// `SocketResourceError` when the process is out of descriptors. The server has paused
    /// accepting (Qt's behaviour); call [`resume_accepting`](Self::resume_accepting) when it
    /// makes sense, for instance from a timer. Transient failures (a client that reset before
    /// it was accepted) are skipped silently.
    #[doc(alias = "acceptError")]
    pub fn on_accept_error(&mut self, f: impl FnMut(&mut SslServer, SocketError) + Send + 'static) {
        self.signals.accept_error.connect(Box::new(f));
    }

    /// Replaces the server's own handling of each accepted descriptor (Qt: overriding
    /// `incomingConnection(qintptr)`). The hook owns `fd`: it builds an [`SslSocket`], calls
    /// `set_socket_descriptor(fd, ConnectedState, ReadWrite)`, configures it,
    /// `start_server_encryption()`, and hands it back with
    /// [`add_pending_connection`](Self::add_pending_connection) (or closes it).
    /// `on_new_connection` then runs for each socket the hook added.
    ///
    /// # Examples
    /// ```
    /// use qsslsocket::{OpenMode, SocketState, SslServer, SslSocket};
    ///
    /// let mut server = SslServer::new();
    /// server.on_incoming_connection(|server, fd| {
    ///     let mut socket = SslSocket::new();
    ///     if socket.set_socket_descriptor(fd, SocketState::ConnectedState, OpenMode::ReadWrite) {
    ///         socket.set_ssl_configuration(server.ssl_configuration());
    ///         socket.start_server_encryption();
    ///         server.add_pending_connection(socket);
    ///     }
    /// });
    /// ```
    #[doc(alias = "incomingConnection")]
    pub fn on_incoming_connection(
        &mut self,
        f: impl FnMut(&mut SslServer, RawFd) + Send + 'static,
    ) {
        self.incoming = Some(Box::new(f));
    }
}
