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
