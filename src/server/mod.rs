//! `SslServer` (Qt 6.4's `QSslServer`, which is a `QTcpServer`): listens, accepts without
//! blocking, and hands each connection over as an `SslSocket` in server mode with the server's
//! configuration and its handshake started. `accept.rs` is the accepting side, `signals.rs` the
//! server's signals and how they reach the sockets.

mod accept;
mod signals;

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::{AsRawFd, RawFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};

use crate::event_loop::{Shared, SocketId};
use crate::{SocketError, SocketState, SslConfiguration, SslSocket};

use signals::ServerSignals;

/// Qt 6.4's default handshake timeout.
const DEFAULT_HANDSHAKE_TIMEOUT: i32 = 5000;
/// Qt's default `maxPendingConnections`.
const DEFAULT_MAX_PENDING: i32 = 30;
/// Qt's default listen backlog (`QTcpServer::listenBacklogSize`).
const DEFAULT_BACKLOG: i32 = 50;

type IncomingHook = Box<dyn FnMut(&mut SslServer, RawFd) + Send>;

/// Whether `socket` is a server-side connection whose handshake is still running: the sockets
/// that carry a server's handshake deadline and count toward its pending limit in a loop.
pub(crate) fn server_handshake_pending(socket: &SslSocket) -> bool {
    socket.mode() == crate::SslMode::SslServerMode
        && !socket.is_encrypted()
        && socket.state() != SocketState::UnconnectedState
}

/// A connection accepted and set up, not yet taken by the application or an event loop.
pub(crate) struct Accepted {
    pub(crate) socket: SslSocket,
    /// Assigned at accept time when the server is in an `EventLoop`.
    pub(crate) id: Option<SocketId>,
}

/// A TLS server (Qt 6.4's `QSslServer`): listens on an address and port, accepts connections
/// without blocking, and hands each one over as an [`SslSocket`] in server mode with the
/// server's [`SslConfiguration`] and its handshake already started.
///
/// Two ways to use it:
/// - **Blocking**: [`wait_for_new_connection`](Self::wait_for_new_connection) accepts, then
///   [`next_pending_connection`](Self::next_pending_connection) hands the socket over, its
///   handshake started but not necessarily finished (drive it with `wait_for_encrypted` or any
///   `wait_for_*`).
/// - **In an [`EventLoop`](crate::EventLoop)** (`add_server`): accepted sockets stay in the
///   loop, which drives them; [`on_new_connection`](Self::on_new_connection) runs for each, so
///   connect the socket's slots there. Their ids: `EventLoop::current_socket_id()` inside that
///   slot, or `EventLoop::sockets_of(server_id)`. The loop drops them when they end.
///
/// Handshakes that do not finish within [`handshake_timeout`](Self::handshake_timeout)
/// (default 5000 ms, as in Qt 6.4) fail with `SocketTimeoutError` and are dropped, so clients
/// that connect and stall (slowloris) cost one socket each for that long, nothing more. Unfinished
/// handshakes count toward [`max_pending_connections`](Self::max_pending_connections) (as in
/// Qt): a server that expects many concurrent clients should raise it and the
/// [listen backlog](Self::set_listen_backlog_size).
///
/// # Examples
///
/// An echo server in an event loop:
/// ```no_run
/// use std::net::{IpAddr, Ipv4Addr};
/// use qsslsocket::{EncodingFormat, EventLoop, KeyAlgorithm, SslConfiguration, SslServer};
///
/// let mut config = SslConfiguration::default_configuration();
/// config.set_local_certificate_chain(qsslsocket::SslCertificate::from_path(
///     "server-chain.pem", EncodingFormat::Pem, qsslsocket::PatternSyntax::FixedString));
/// config.set_private_key(qsslsocket::SslKey::new(
///     &std::fs::read("server.key").unwrap(), KeyAlgorithm::Ec, EncodingFormat::Pem,
///     qsslsocket::KeyType::PrivateKey, b""));
///
/// let mut server = SslServer::new();
/// server.set_ssl_configuration(config);
/// server.on_new_connection(|socket| {
///     socket.on_ready_read(|s| {
///         let data = s.read_all();
///         s.write(&data);
///     });
/// });
/// server.on_error_occurred(|socket, error| {
///     eprintln!("{:?}: {error} ({})", socket.peer_address(), socket.error_string());
/// });
/// if !server.listen(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 4433) {
///     panic!("listen: {}", server.error_string());
/// }
/// let mut event_loop = EventLoop::new();
/// event_loop.add_server(server);
/// event_loop.run();
/// ```
///
/// Blocking, one client at a time:
/// ```no_run
/// use std::net::Ipv6Addr;
/// use qsslsocket::SslServer;
///
/// let mut server = SslServer::new();
/// // server.set_ssl_configuration(...): certificate and key
/// server.listen(Ipv6Addr::LOCALHOST.into(), 0);
/// println!("port {}", server.server_port());
/// while server.wait_for_new_connection(-1) {
///     while let Some(mut socket) = server.next_pending_connection() {
///         if socket.wait_for_encrypted(5000) {
///             socket.write(b"hello\n");
///             socket.flush();
///         }
///     }
/// }
/// ```
#[doc(alias = "QSslServer")]
#[doc(alias = "QTcpServer")]
pub struct SslServer {
    config: SslConfiguration,
    listener: Option<Socket>,
    address: Option<SocketAddr>,
    /// Bumped at each `listen`/`close`, so an event loop notices a new listening descriptor.
    listen_serial: u64,
    handshake_timeout: i32,
    max_pending: i32,
    backlog: i32,
    paused: bool,
    pending: VecDeque<Accepted>,
    error: SocketError,
    error_string: String,
    signals: Arc<ServerSignals>,
    incoming: Option<IncomingHook>,
    /// The event loop the server is in (ids for accepted sockets).
    event_loop: Option<Arc<Shared>>,
}

impl std::fmt::Debug for SslServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SslServer")
            .field("address", &self.address)
            .field("pending", &self.pending.len())
            .field("paused", &self.paused)
            .field("error", &self.error)
            .finish_non_exhaustive()
    }
}

impl Default for SslServer {
    fn default() -> Self {
        SslServer::new()
    }
}

impl Drop for SslServer {
    fn drop(&mut self) {
        self.close();
    }
}

impl SslServer {
    /// A server that is not listening yet, with a copy of the default configuration (set the
    /// certificate and key with [`set_ssl_configuration`](Self::set_ssl_configuration)).
    pub fn new() -> SslServer {
        SslServer {
            config: SslConfiguration::default_configuration(),
            listener: None,
            address: None,
            listen_serial: 0,
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_pending: DEFAULT_MAX_PENDING,
            backlog: DEFAULT_BACKLOG,
            paused: false,
            pending: VecDeque::new(),
            error: SocketError::UnknownSocketError,
            error_string: String::new(),
            signals: Arc::default(),
            incoming: None,
            event_loop: None,
        }
    }

    /// Sets the configuration for connections accepted from now on (certificate chain, key,
    /// verify mode, CA certificates for client certificates, protocols, ciphers).
    #[doc(alias = "setSslConfiguration")]
    pub fn set_ssl_configuration(&mut self, configuration: SslConfiguration) {
        self.config = configuration;
    }

    /// The configuration given to accepted connections.
    #[doc(alias = "sslConfiguration")]
    pub fn ssl_configuration(&self) -> SslConfiguration {
        self.config.clone()
    }

    /// Starts listening on `address:port` (port 0 picks a free port: see
    /// [`server_port`](Self::server_port)). An IPv6 address listens on IPv6 only, as in Qt.
    /// Returns false if already listening or on failure, with [`error`](Self::error) and
    /// [`error_string`](Self::error_string) saying why (`AddressInUseError`: "The bound address
    /// is already in use").
    pub fn listen(&mut self, address: IpAddr, port: u16) -> bool {
        if self.listener.is_some() {
            return false; // Qt: "QTcpServer::listen() called when already listening"
        }
        match self.open_listener(SocketAddr::new(address, port)) {
            Ok((socket, local)) => {
                self.listener = Some(socket);
                self.address = Some(local);
                self.listen_serial += 1;
                self.paused = false;
                self.error = SocketError::UnknownSocketError;
                self.error_string.clear();
                true
            }
            Err((error, text)) => {
                self.error = error;
                self.error_string = text.to_owned();
                false
            }
        }
    }

    fn open_listener(
        &self,
        address: SocketAddr,
    ) -> Result<(Socket, SocketAddr), (SocketError, &'static str)> {
        let socket = Socket::new(
            Domain::for_address(address),
            Type::STREAM.nonblocking().cloexec(),
            Some(Protocol::TCP),
        )
        .map_err(|e| accept::create_error(&e))?;
        if address.is_ipv6() {
            socket
                .set_only_v6(true)
                .map_err(|e| accept::create_error(&e))?;
        }
        // Qt sets SO_REUSEADDR on Unix: a restarted server can bind while old connections
        // linger in TIME_WAIT (two listeners on one port still fail with EADDRINUSE).
        socket
            .set_reuse_address(true)
            .map_err(|e| accept::create_error(&e))?;
        socket
            .bind(&address.into())
            .map_err(|e| accept::bind_error(&e))?;
        socket
            .listen(self.backlog)
            .map_err(|e| accept::listen_error(&e))?;
        let local = socket
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or(address);
        Ok((socket, local))
    }

    /// Whether the server is listening.
    #[doc(alias = "isListening")]
    pub fn is_listening(&self) -> bool {
        self.listener.is_some()
    }

    /// The port the server listens on (the one picked for port 0), 0 if not listening.
    #[doc(alias = "serverPort")]
    pub fn server_port(&self) -> u16 {
        self.address.map_or(0, |a| a.port())
    }

    /// The address the server listens on, `None` if not listening.
    #[doc(alias = "serverAddress")]
    pub fn server_address(&self) -> Option<IpAddr> {
        self.address.map(|a| a.ip())
    }

    /// The listening descriptor, -1 if not listening.
    #[doc(alias = "socketDescriptor")]
    pub fn socket_descriptor(&self) -> RawFd {
        self.listener.as_ref().map_or(-1, AsRawFd::as_raw_fd)
    }

    /// Stops listening and drops the connections not yet taken with
    /// [`next_pending_connection`](Self::next_pending_connection) (Qt deletes them too).
    /// Sockets already handed over, or living in an event loop, are not affected.
    pub fn close(&mut self) {
        self.pending.clear();
        if self.listener.take().is_some() {
            self.listen_serial += 1;
        }
        self.address = None;
    }

    /// Sets the time, in milliseconds, a new connection has to complete its handshake (Qt 6.4
    /// default 5000). Applies to connections accepted from now on; 0 or a negative value
    /// disables the timeout (crate choice: Qt times out at once with 0).
    ///
    /// A connection whose handshake is still running at the deadline gets
    /// `error_occurred(SocketTimeoutError)` ("Network operation timed out", also forwarded to
    /// the server's [`on_error_occurred`](Self::on_error_occurred)) and is aborted.
    #[doc(alias = "setHandshakeTimeout")]
    pub fn set_handshake_timeout(&mut self, msecs: i32) {
        self.handshake_timeout = msecs;
    }

    /// The handshake timeout in milliseconds.
    #[doc(alias = "handshakeTimeout")]
    pub fn handshake_timeout(&self) -> i32 {
        self.handshake_timeout
    }

    /// Sets how many accepted connections may wait (default 30, as in Qt): connections not yet
    /// taken with `next_pending_connection`, plus, in an event loop, connections whose handshake
    /// is still running. When the limit is reached the server stops accepting (further clients
    /// wait in the kernel's listen backlog) and resumes when the count drops.
    #[doc(alias = "setMaxPendingConnections")]
    pub fn set_max_pending_connections(&mut self, count: i32) {
        self.max_pending = count;
    }

    /// The pending-connection limit.
    #[doc(alias = "maxPendingConnections")]
    pub fn max_pending_connections(&self) -> i32 {
        self.max_pending
    }

    /// Sets the kernel's listen backlog for the next `listen` (default 50, as in Qt; the
    /// kernel caps it at `net.core.somaxconn`).
    #[doc(alias = "setListenBacklogSize")]
    pub fn set_listen_backlog_size(&mut self, size: i32) {
        self.backlog = size;
    }

    /// The listen backlog.
    #[doc(alias = "listenBacklogSize")]
    pub fn listen_backlog_size(&self) -> i32 {
        self.backlog
    }

    /// Stops accepting new connections (they wait in the kernel's backlog) until
    /// [`resume_accepting`](Self::resume_accepting). The server also pauses itself after an
    /// accept error such as `SocketResourceError` (out of descriptors), as Qt does.
    #[doc(alias = "pauseAccepting")]
    pub fn pause_accepting(&mut self) {
        self.paused = true;
    }

    /// Resumes accepting after [`pause_accepting`](Self::pause_accepting) or an accept error.
    #[doc(alias = "resumeAccepting")]
    pub fn resume_accepting(&mut self) {
        self.paused = false;
    }

    /// The last listen or accept error (`UnknownSocketError` if none; Qt: `serverError()`).
    #[doc(alias = "serverError")]
    pub fn error(&self) -> SocketError {
        self.error
    }

    /// Qt's text for the last listen or accept error ("Unknown error" if none).
    #[doc(alias = "errorString")]
    pub fn error_string(&self) -> String {
        if self.error_string.is_empty() {
            "Unknown error".to_owned()
        } else {
            self.error_string.clone()
        }
    }

    /// Whether accepted connections are waiting for
    /// [`next_pending_connection`](Self::next_pending_connection).
    #[doc(alias = "hasPendingConnections")]
    pub fn has_pending_connections(&self) -> bool {
        !self.pending.is_empty()
    }

    /// Takes the oldest accepted connection: an `SslSocket` in server mode, its handshake
    /// started but not necessarily finished, so slots connected now still see
    /// `peer_verify_error`, `ssl_errors` and `encrypted`. `None` if none is waiting. Like Qt,
    /// this resumes accepting if it was paused. (In an event loop the accepted connections go to
    /// the loop instead, so nothing waits here.)
    #[doc(alias = "nextPendingConnection")]
    pub fn next_pending_connection(&mut self) -> Option<SslSocket> {
        let accepted = self.pending.pop_front()?;
        self.paused = false;
        Some(accepted.socket)
    }

    /// Queues a connection for [`next_pending_connection`](Self::next_pending_connection) (or,
    /// in an event loop, for the loop). For the
    /// [`on_incoming_connection`](Self::on_incoming_connection) hook. A socket in server mode
    /// whose handshake is running also gets the server's handshake timeout, and its handshake
    /// signals are forwarded to the server's slots, like a socket the server set up itself.
    #[doc(alias = "addPendingConnection")]
    pub fn add_pending_connection(&mut self, mut socket: SslSocket) {
        if server_handshake_pending(&socket) {
            self.arm(&mut socket);
        }
        let id = self.event_loop.as_ref().map(|s| SocketId(s.next_id()));
        self.pending.push_back(Accepted { socket, id });
    }

    /// Blocks until a connection was accepted, up to `msecs` (-1: no limit). Runs the
    /// `on_new_connection` slots (and the incoming-connection hook) for each accepted
    /// connection. Returns true if a connection was accepted, or, when the pending limit is
    /// reached, whether one is waiting. False on timeout, when not listening, or on an accept
    /// error (see [`error`](Self::error)).
    #[doc(alias = "waitForNewConnection")]
    pub fn wait_for_new_connection(&mut self, msecs: i32) -> bool {
        let deadline = (msecs >= 0).then(|| Instant::now() + Duration::from_millis(msecs as u64));
        loop {
            if self.listener.is_none() {
                return false;
            }
            if !self.below_limit(0) {
                return self.has_pending_connections();
            }
            let accepting = self.accept_available(usize::MAX, 0);
            if accepting.queued > 0 {
                return true;
            }
            if accepting.failed {
                return false;
            }
            let timeout = match deadline {
                None => None,
                Some(d) => match d.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => Some(left),
                    _ => return false,
                },
            };
            let mut fds = [crate::ffi::poll::PollFd::new(
                self.socket_descriptor(),
                true,
                false,
            )];
            if let Err(e) = crate::ffi::poll::poll(&mut fds, timeout) {
                let (error, text) = accept::accept_error(&e);
                self.error = error;
                self.error_string = text.to_owned();
                return false;
            }
        }
    }

    /// Gives `socket` the server's handshake deadline and its signal forwarding.
    fn arm(&self, socket: &mut SslSocket) {
        if self.handshake_timeout > 0 {
            socket.set_handshake_deadline(Some(
                Instant::now() + Duration::from_millis(self.handshake_timeout as u64),
            ));
        }
        self.signals.forward_from(socket);
    }

    /// Whether the pending connections plus `in_flight` (sockets an event loop holds whose
    /// handshake is still running: Qt counts its handshaking sockets too) are below the limit.
    fn below_limit(&self, in_flight: usize) -> bool {
        let total = self.pending.len() + in_flight;
        i64::try_from(total).unwrap_or(i64::MAX) < i64::from(self.max_pending)
    }

    /// Called by `EventLoop::add_server`.
    pub(crate) fn attach_loop(&mut self, shared: Arc<Shared>) {
        for accepted in &mut self.pending {
            accepted.id = Some(SocketId(shared.next_id()));
        }
        self.event_loop = Some(shared);
    }

    /// Called by `EventLoop::remove_server`: sockets already in the loop stay there (and no
    /// longer count toward this server's limit).
    pub(crate) fn detach_loop(&mut self) {
        self.event_loop = None;
    }

    /// The listening descriptor and a key that changes with every `listen`/`close`.
    pub(crate) fn listening_fd(&self) -> Option<(RawFd, u64)> {
        self.listener
            .as_ref()
            .map(|l| (l.as_raw_fd(), self.listen_serial))
    }

    /// Accepts up to `batch` connections if accepting is allowed, counting `in_flight` (the
    /// loop's sockets of this server still handshaking) toward the pending limit. Says what it
    /// did; `more` when it stopped at `batch`, i.e. more may be waiting.
    pub(crate) fn accept_for_loop(&mut self, batch: usize, in_flight: usize) -> accept::Accepting {
        if self.paused || self.listener.is_none() {
            return accept::Accepting::default();
        }
        self.accept_available(batch, in_flight)
    }

    /// Hands the accepted sockets to the loop (appended to `into`).
    pub(crate) fn take_accepted(&mut self, into: &mut Vec<Accepted>) {
        into.extend(self.pending.drain(..));
    }

    /// The event loop cannot watch the listening descriptor: an accept error, and a pause.
    pub(crate) fn fail_unwatchable(&mut self, reason: &std::io::Error) {
        self.fail_accepting(
            SocketError::SocketResourceError,
            format!("Out of resources ({reason})"),
        );
    }

    /// Whether the server may accept with `in_flight` of its sockets handshaking in the loop.
    pub(crate) fn may_accept(&self, in_flight: usize) -> bool {
        !self.paused && self.below_limit(in_flight)
    }
}
