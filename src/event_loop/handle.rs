//! `LoopHandle`: what other threads (and slots, which only hold `&mut SslSocket`) use to reach an
//! `EventLoop`: a queue of commands that the loop runs on its own thread, a `mio::Waker` to
//! interrupt its poll, and a stop request. Also the id source, so that a socket added through a
//! handle gets its `SocketId` at once.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering, fence};
use std::sync::{Arc, Mutex, PoisonError};

use crate::SslSocket;

use super::{EventLoop, SocketId};

/// Work queued for the loop's thread.
pub(super) type Command = Box<dyn FnOnce(&mut EventLoop) + Send>;

/// State shared between an `EventLoop` and its handles.
pub(crate) struct Shared {
    queue: Mutex<VecDeque<Command>>,
    /// Set while the loop is (about to be) blocked in `poll`: only then does a queued command
    /// need a wake-up.
    sleeping: AtomicBool,
    stop: AtomicBool,
    next_id: AtomicU64,
    waker: mio::Waker,
}

impl Shared {
    pub(super) fn new(waker: mio::Waker) -> Shared {
        Shared {
            queue: Mutex::new(VecDeque::new()),
            sleeping: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            waker,
        }
    }

    /// A fresh, never reused id for a socket or a server.
    pub(crate) fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    fn push(&self, command: Command) {
        self.queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(command);
        // Pairs with the fence in `enter_sleep`: either the loop sees the command before it
        // blocks, or this sees it sleeping and wakes it.
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) {
            self.wake();
        }
    }

    fn wake(&self) {
        // A failed wake-up (the eventfd counter is saturated) means a wake-up is pending anyway.
        let _ = self.waker.wake();
    }

    /// Takes every queued command.
    pub(super) fn take_commands(&self) -> VecDeque<Command> {
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Marks the loop as about to sleep. Returns false if a command or a stop request arrived
    /// meanwhile, in which case the loop must not block.
    pub(super) fn enter_sleep(&self) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
        let idle = self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
            && !self.stop.load(Ordering::SeqCst);
        if !idle {
            self.sleeping.store(false, Ordering::SeqCst);
        }
        idle
    }

    pub(super) fn leave_sleep(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
    }

    pub(super) fn has_commands(&self) -> bool {
        !self
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }

    /// Consumes a stop request.
    pub(super) fn take_stop(&self) -> bool {
        self.stop.swap(false, Ordering::SeqCst)
    }

    pub(super) fn stop_requested(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }
}

/// A cloneable, thread-safe handle to an [`EventLoop`]: wakes or stops it from another thread,
/// and queues work for it. This is how a slot (which only gets `&mut SslSocket`) adds or
/// removes sockets: the loop runs queued work on its own thread before it next waits for
/// events, so a removal requested in a slot takes effect right after that slot's socket has
/// been driven.
///
/// # Examples
///
/// Stopping a loop from another thread:
/// ```
/// use qsslsocket::EventLoop;
///
/// let mut event_loop = EventLoop::new();
/// let handle = event_loop.handle();
/// let stopper = std::thread::spawn(move || handle.stop());
/// event_loop.run(); // returns once stop() was called
/// stopper.join().unwrap();
/// ```
#[derive(Clone)]
pub struct LoopHandle {
    pub(super) shared: Arc<Shared>,
}

impl fmt::Debug for LoopHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoopHandle").finish_non_exhaustive()
    }
}

impl LoopHandle {
    /// Interrupts the loop's current or next wait for events (Qt: `QEventLoop::wakeUp`):
    /// `process_events` returns early and `run_until` re-checks its condition.
    #[doc(alias = "wakeUp")]
    pub fn wake(&self) {
        self.shared.wake();
    }

    /// Asks the loop to stop (Qt: `QEventLoop::quit`): [`EventLoop::run`] returns, and
    /// [`EventLoop::run_until`] returns false, after the current round.
    #[doc(alias = "quit")]
    #[doc(alias = "exit")]
    pub fn stop(&self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.wake();
    }

    /// Queues `socket` for the loop and returns the id it will have. The loop adopts it before
    /// it next waits for events; until then `socket_mut(id)` returns `None`.
    pub fn add_socket(&self, socket: SslSocket) -> SocketId {
        let id = SocketId(self.shared.next_id());
        self.post(move |event_loop| event_loop.insert_socket(id, socket, None, false));
        id
    }

    /// Queues the removal of socket `id`: the loop drops it (closing its descriptor without
    /// emitting signals) before it next waits for events. Safe to call from the socket's own
    /// slots; use [`EventLoop::remove_socket`] (for instance in [`post`](Self::post)) to get
    /// the socket back instead.
    pub fn remove_socket(&self, id: SocketId) {
        self.post(move |event_loop| {
            event_loop.remove_socket(id);
        });
    }

    /// Queues `f` to run on the loop's thread with the loop, before it next waits for events
    /// (Qt: `QMetaObject::invokeMethod` with a queued connection). Closures run in the order
    /// they were posted.
    #[doc(alias = "invokeMethod")]
    pub fn post(&self, f: impl FnOnce(&mut EventLoop) + Send + 'static) {
        self.shared.push(Box::new(f));
    }
}
