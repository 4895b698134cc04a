//! `EventLoop`: drives any number of sockets and servers on one thread with epoll (`mio`),
//! plus single-shot timers. `dispatch.rs` is one round of the loop, `registration.rs` keeps
//! epoll in step with what each socket needs, `handle.rs` is the cross-thread handle, and
//! `timers.rs` the timer heap.

mod dispatch;
mod handle;
mod registration;
mod timers;

use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};
use std::io;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::{SslServer, SslSocket};

pub use handle::LoopHandle;
pub(crate) use handle::Shared;

use handle::Command;
use registration::{Registrations, Watch};
use timers::TimerHeap;

/// Identifies a socket in an [`EventLoop`]. Ids are never reused within a loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(pub(crate) u64);

/// Identifies a server in an [`EventLoop`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServerId(pub(crate) u64);

thread_local! {
    static CURRENT_SOCKET: Cell<Option<SocketId>> = const { Cell::new(None) };
}

/// Runs `f` with `id` as the socket whose slots are running (see
/// [`EventLoop::current_socket_id`]).
pub(crate) fn with_current_socket<R>(id: Option<SocketId>, f: impl FnOnce() -> R) -> R {
    struct Restore(Option<SocketId>);
    impl Drop for Restore {
        fn drop(&mut self) {
            CURRENT_SOCKET.with(|c| c.set(self.0));
        }
    }
    let _restore = Restore(CURRENT_SOCKET.with(|c| c.replace(id)));
    f()
}

/// A socket in the loop.
struct SocketEntry {
    socket: SslSocket,
    registered: Option<Watch>,
    dirty: bool,
    /// The server that accepted it.
    server: Option<ServerId>,
    /// Counted in its server's `handshaking` (the server accepted it in this loop and its
    /// handshake is running).
    handshaking: bool,
    /// Dropped by the loop once it is unconnected.
    auto_remove: bool,
    /// The deadline queued in the loop's `deadlines`.
    deadline: Option<Instant>,
    /// The last round in which it was driven (for `process_events`' count).
    round: u64,
}

/// A server in the loop.
struct ServerEntry {
    server: SslServer,
    registered: Option<Watch>,
    dirty: bool,
    /// How many of the loop's sockets accepted by this server are still handshaking (their
    /// `handshaking` flag): they count toward the server's pending limit. Kept in step by
    /// `insert_socket` and `settle_handshake`, the only places that set and clear the flag.
    handshaking: usize,
}

/// Drives many sockets and servers on one thread (epoll through `mio`), with single-shot
/// timers: Qt's event loop for QSslSocket and QSslServer.
///
/// Sockets and servers are added to the loop, which owns them; slots run on the loop's thread
/// while it drives them, each with `&mut SslSocket`. Between rounds the application reaches
/// them with [`socket_mut`](Self::socket_mut) / [`server_mut`](Self::server_mut); anything done
/// through those (a `write`, a `read` that frees read-buffer space, an `abort`) is acted on in
/// the next round. From slots and other threads, a [`LoopHandle`] queues work for the loop.
///
/// **Which sockets the loop drops.** Sockets accepted by a server in the loop are dropped by
/// the loop as soon as they are unconnected (handshake failure, timeout, disconnect, abort).
/// Sockets added with [`add_socket`](Self::add_socket) stay, even unconnected, until
/// [`remove_socket`](Self::remove_socket), so that their final state can be inspected and they
/// can be reconnected; [`set_auto_remove`](Self::set_auto_remove) changes either default.
///
/// Idle, the loop sleeps in `epoll_wait` until a descriptor is ready, a timer is due, or a
/// handle wakes it: it uses no CPU however many connections it holds.
///
/// # Examples
///
/// A client driven by a loop, with a timer as a time limit:
/// ```no_run
/// use qsslsocket::{EventLoop, SslSocket};
///
/// let mut event_loop = EventLoop::new();
/// let mut socket = SslSocket::new();
/// socket.on_encrypted(|s| {
///     s.write(b"GET / HTTP/1.0\r\nHost: example.com\r\n\r\n");
/// });
/// socket.on_ready_read(|s| print!("{}", String::from_utf8_lossy(&s.read_all())));
/// socket.connect_to_host_encrypted("example.com", 443);
/// let id = event_loop.add_socket(socket);
/// event_loop.single_shot(10_000, move |lp| {
///     if let Some(s) = lp.socket_mut(id) {
///         s.abort();
///     }
/// });
/// event_loop.run_until(
///     |lp| lp.socket(id).is_some_and(|s| s.state() == qsslsocket::SocketState::UnconnectedState),
///     -1,
/// );
/// ```
#[doc(alias = "QEventLoop")]
pub struct EventLoop {
    poll: mio::Poll,
    events: mio::Events,
    shared: Arc<Shared>,
    sockets: HashMap<SocketId, SocketEntry>,
    servers: HashMap<ServerId, ServerEntry>,
    registrations: Registrations,
    dirty: Vec<SocketId>,
    dirty_servers: Vec<ServerId>,
    timers: TimerHeap<Command>,
    /// Timers started from this mark on belong to the next round.
    timer_mark: u64,
    /// Every socket's queued deadline (`SocketEntry::deadline`), earliest first: an entry is
    /// removed as soon as its socket's deadline changes or the socket leaves, so the loop only
    /// wakes for deadlines that still matter.
    deadlines: BTreeSet<(Instant, SocketId)>,
    /// The ready tokens of the current round (kept to reuse its allocation).
    ready: Vec<mio::Token>,
    /// Sockets taken from a server in `service_server` (kept to reuse its allocation).
    accepted: Vec<crate::server::Accepted>,
    round: u64,
    serviced: usize,
}

impl std::fmt::Debug for EventLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventLoop")
            .field("sockets", &self.sockets.len())
            .field("servers", &self.servers.len())
            .field("registered", &self.registrations.len())
            .field("timers", &self.timers.len())
            .finish_non_exhaustive()
    }
}

impl Default for EventLoop {
    fn default() -> Self {
        EventLoop::new()
    }
}

/// The waker's token; socket and server ids start at 1.
const WAKER: mio::Token = mio::Token(0);

impl EventLoop {
    /// A new, empty loop.
    ///
    /// # Panics
    /// If the system refuses an epoll instance or an eventfd (the process is out of
    /// descriptors); [`try_new`](Self::try_new) reports that as an error instead.
    pub fn new() -> EventLoop {
        match EventLoop::try_new() {
            Ok(event_loop) => event_loop,
            Err(e) => panic!("EventLoop::new: cannot create an epoll instance: {e}"),
        }
    }

    /// A new, empty loop, or the system's error if it cannot have an epoll instance.
    pub fn try_new() -> io::Result<EventLoop> {
        let poll = mio::Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER)?;
        Ok(EventLoop {
            poll,
            events: mio::Events::with_capacity(1024),
            shared: Arc::new(Shared::new(waker)),
            sockets: HashMap::new(),
            servers: HashMap::new(),
            registrations: Registrations::default(),
            dirty: Vec::new(),
            dirty_servers: Vec::new(),
            timers: TimerHeap::default(),
            timer_mark: 0,
            deadlines: BTreeSet::new(),
            ready: Vec::new(),
            accepted: Vec::new(),
            round: 0,
            serviced: 0,
        })
    }

    /// A handle to wake or stop this loop and to queue work for it, from any thread or slot.
    pub fn handle(&self) -> LoopHandle {
        LoopHandle {
            shared: self.shared.clone(),
        }
    }

    /// Adds a socket (in any state: unconnected, connecting, connected, encrypted) and returns
    /// its id. The loop drives it from the next round on. It stays in the loop until
    /// [`remove_socket`](Self::remove_socket), even once unconnected (see
    /// [`set_auto_remove`](Self::set_auto_remove)).
    pub fn add_socket(&mut self, socket: SslSocket) -> SocketId {
        let id = SocketId(self.shared.next_id());
        self.insert_socket(id, socket, None, false);
        id
    }

    pub(crate) fn insert_socket(
        &mut self,
        id: SocketId,
        socket: SslSocket,
        server: Option<ServerId>,
        handshaking: bool,
    ) {
        let counted = server.and_then(|sid| self.servers.get_mut(&sid));
        let handshaking = match counted {
            Some(server_entry) if handshaking => {
                server_entry.handshaking += 1;
                true
            }
            _ => false,
        };
        let entry = SocketEntry {
            socket,
            registered: None,
            dirty: false,
            server,
            handshaking,
            auto_remove: server.is_some(),
            deadline: None,
            round: 0,
        };
        self.sockets.insert(id, entry);
        self.mark_dirty(id);
    }

    /// The socket `id`, for the application to act on between rounds. The loop re-examines it
    /// in the next round (a `write` goes out, a `read` that freed read-buffer space resumes
    /// reading). `None` if there is no such socket (never added, removed, or dropped by the
    /// loop). Cheap enough for a `run_until` condition: a re-examination that finds nothing to
    /// do does not keep the loop from sleeping.
    pub fn socket_mut(&mut self, id: SocketId) -> Option<&mut SslSocket> {
        self.mark_dirty(id);
        self.sockets.get_mut(&id).map(|e| &mut e.socket)
    }

    /// The socket `id`, to inspect it (no re-examination needed).
    pub fn socket(&self, id: SocketId) -> Option<&SslSocket> {
        self.sockets.get(&id).map(|e| &e.socket)
    }

    /// Takes socket `id` out of the loop (its slots stay connected; nothing is emitted).
    /// `None` if there is no such socket. From a slot, use [`LoopHandle::remove_socket`] or
    /// [`LoopHandle::post`].
    pub fn remove_socket(&mut self, id: SocketId) -> Option<SslSocket> {
        let mut entry = self.sockets.remove(&id)?;
        if let Some(at) = entry.deadline {
            self.deadlines.remove(&(at, id));
        }
        self.registrations.remove(
            self.poll.registry(),
            mio::Token(id.0 as usize),
            &mut entry.registered,
        );
        if entry.handshaking {
            self.settle_handshake(entry.server);
        }
        Some(entry.socket)
    }

    /// Whether the loop drops socket `id` once it is unconnected (default: true for sockets
    /// accepted by a server in the loop, false for sockets added with `add_socket`). Returns
    /// false if there is no such socket.
    pub fn set_auto_remove(&mut self, id: SocketId, on: bool) -> bool {
        match self.sockets.get_mut(&id) {
            Some(entry) => {
                entry.auto_remove = on;
                self.mark_dirty(id);
                true
            }
            None => false,
        }
    }

    /// How many sockets the loop holds.
    pub fn socket_count(&self) -> usize {
        self.sockets.len()
    }

    /// The ids of every socket in the loop, in the order they were added.
    pub fn socket_ids(&self) -> Vec<SocketId> {
        let mut ids: Vec<SocketId> = self.sockets.keys().copied().collect();
        ids.sort_unstable();
        ids
    }

    /// The sockets accepted by server `id` that are still in the loop, in accept order.
    pub fn sockets_of(&self, id: ServerId) -> Vec<SocketId> {
        let mut ids: Vec<SocketId> = self
            .sockets
            .iter()
            .filter(|(_, e)| e.server == Some(id))
            .map(|(k, _)| *k)
            .collect();
        ids.sort_unstable();
        ids
    }

    /// Inside a slot run by an event loop on this thread: the id of the socket the slot runs
    /// for (socket slots, and a server's slots for sockets accepted in a loop, including
    /// `on_new_connection`). `None` elsewhere.
    ///
    /// # Examples
    ///
    /// A server that answers each client's first line, and after that closes the connection
    /// from a timer (which needs the id):
    /// ```
    /// use qsslsocket::{EventLoop, SslServer};
    ///
    /// let mut event_loop = EventLoop::new();
    /// let handle = event_loop.handle();
    /// let mut server = SslServer::new();
    /// server.on_new_connection(move |socket| {
    ///     let id = EventLoop::current_socket_id().expect("accepted inside the loop");
    ///     let handle = handle.clone();
    ///     socket.on_ready_read(move |s| {
    ///         if s.can_read_line() {
    ///             let line = s.read_line();
    ///             s.write(&line);
    ///             handle.post(move |lp| {
    ///                 lp.single_shot(1000, move |lp| {
    ///                     if let Some(s) = lp.socket_mut(id) {
    ///                         s.disconnect_from_host();
    ///                     }
    ///                 })
    ///             });
    ///         }
    ///     });
    /// });
    /// event_loop.add_server(server);
    /// ```
    pub fn current_socket_id() -> Option<SocketId> {
        CURRENT_SOCKET.with(Cell::get)
    }

    /// Adds a server (listening or not) and returns its id. Connections it accepts stay in the
    /// loop (see [`SslServer`]).
    pub fn add_server(&mut self, mut server: SslServer) -> ServerId {
        let id = ServerId(self.shared.next_id());
        server.attach_loop(self.shared.clone());
        self.servers.insert(
            id,
            ServerEntry {
                server,
                registered: None,
                dirty: false,
                handshaking: 0,
            },
        );
        self.mark_server_dirty(id);
        id
    }

    /// The server `id`, to act on between rounds (`close`, `listen`, `resume_accepting`, ...);
    /// the loop re-examines it in the next round.
    pub fn server_mut(&mut self, id: ServerId) -> Option<&mut SslServer> {
        self.mark_server_dirty(id);
        self.servers.get_mut(&id).map(|e| &mut e.server)
    }

    /// Takes server `id` out of the loop. The sockets it accepted stay in the loop.
    pub fn remove_server(&mut self, id: ServerId) -> Option<SslServer> {
        let mut entry = self.servers.remove(&id)?;
        self.registrations.remove(
            self.poll.registry(),
            mio::Token(id.0 as usize),
            &mut entry.registered,
        );
        entry.server.detach_loop();
        Some(entry.server)
    }

    /// Runs `f` with the loop once `msecs` milliseconds have passed (Qt:
    /// `QTimer::singleShot`). Timers due at the same time run in the order they were started;
    /// a timer started by a timer runs in a later round, never in the same one. A negative
    /// `msecs` counts as 0.
    #[doc(alias = "singleShot")]
    pub fn single_shot(&mut self, msecs: i32, f: impl FnOnce(&mut EventLoop) + Send + 'static) {
        let delay = Duration::from_millis(msecs.max(0) as u64);
        self.timers.push(Instant::now() + delay, Box::new(f));
    }

    /// One round: does the work queued since the last round, waits up to `msecs` milliseconds
    /// (-1: until something happens; 0: not at all) for readiness, a due timer or a wake-up,
    /// then services what is ready (Qt: `QEventLoop::processEvents` with `WaitForMoreEvents`).
    /// Returns how many sockets were driven.
    #[doc(alias = "processEvents")]
    pub fn process_events(&mut self, msecs: i32) -> usize {
        let until = (msecs >= 0).then(|| Instant::now() + Duration::from_millis(msecs as u64));
        self.round(until)
    }

    /// Runs rounds until `done` returns true (checked before each round) or `msecs`
    /// milliseconds have passed (-1: no limit), or a [`LoopHandle::stop`] request arrives.
    /// Returns true when `done` returned true, false on timeout or stop.
    pub fn run_until(&mut self, mut done: impl FnMut(&mut EventLoop) -> bool, msecs: i32) -> bool {
        let until = (msecs >= 0).then(|| Instant::now() + Duration::from_millis(msecs as u64));
        loop {
            if done(self) {
                return true;
            }
            if self.shared.take_stop() {
                return false;
            }
            if until.is_some_and(|u| Instant::now() >= u) {
                return false;
            }
            self.round(until);
        }
    }

    /// Runs until a [`LoopHandle::stop`] request (Qt: `QEventLoop::exec`).
    #[doc(alias = "exec")]
    pub fn run(&mut self) {
        self.run_until(|_| false, -1);
    }
}
