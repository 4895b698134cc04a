//! Starting connections: host lookup (on the resolver pool of `lookup.rs`), trying each address
//! in order, adopting a descriptor, and starting encryption
//! (`connectToHostEncrypted`, STARTTLS).

use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::RawFd;

use crate::engine::context::{self, ContextError};
use crate::engine::{Engine, Role, Setup};
use crate::{OpenMode, PeerVerifyMode, SocketError, SocketState, SslMode, SslOption};

use super::SslSocket;
use super::lookup::Lookup;
use super::tcp::{self, Tcp};

impl SslSocket {
    /// Connects to `host:port` in plain TCP (Qt: `connectToHost`). Resolves the name without
    /// blocking a driving loop (IP literals at once) and tries each address in order.
    ///
    /// # Signals
    /// `state_changed(HostLookupState)` during the call; later `state_changed(ConnectingState)`,
    /// `host_found`, `state_changed(ConnectedState)`, `connected` (or `error_occurred`).
    #[doc(alias = "connectToHost")]
    pub fn connect_to_host(&mut self, host: &str, port: u16) {
        if !self.may_connect() {
            return;
        }
        self.init();
        self.start_connecting(host, port);
    }

    /// Connects and starts the client handshake as soon as TCP is up (Qt:
    /// `connectToHostEncrypted`). Data written before `encrypted` is queued and sent after it.
    ///
    /// # Errors
    /// An unusable protocol (DTLS, unknown, or SSL 3 on an OpenSSL without it) fails at once
    /// with `SslInvalidUserDataError`; the socket stays unconnected.
    #[doc(alias = "connectToHostEncrypted")]
    pub fn connect_to_host_encrypted(&mut self, host: &str, port: u16) {
        if self.may_connect_encrypted() {
            self.init();
            self.auto_start = true;
            self.start_connecting(host, port);
        }
    }

    /// Like `connect_to_host_encrypted`, checking the certificate against (and sending as SNI)
    /// `peer_name` instead of `host`.
    pub fn connect_to_host_encrypted_with_peer_name(
        &mut self,
        host: &str,
        port: u16,
        peer_name: &str,
    ) {
        if self.may_connect_encrypted() {
            self.init();
            self.config.peer_verify_name = peer_name.to_owned();
            self.auto_start = true;
            self.start_connecting(host, port);
        }
    }

    /// Takes over a connected TCP descriptor (e.g. one accepted elsewhere), in plain mode; call
    /// `start_server_encryption()` (or `start_client_encryption()`) next. Ownership of `fd`
    /// passes to the socket. Returns false (with `error()` set) if `fd` is not a connected
    /// stream socket.
    #[doc(alias = "setSocketDescriptor")]
    pub fn set_socket_descriptor(&mut self, fd: RawFd, state: SocketState, mode: OpenMode) -> bool {
        let adopted = crate::ffi::fd::adopt_nonblocking(fd).and_then(Tcp::adopt);
        let (tcp, peer, local) = match adopted {
            Ok(adopted) => adopted,
            Err(e) => {
                self.set_error(
                    SocketError::UnsupportedSocketOperationError,
                    format!("Invalid socket descriptor ({e})"),
                );
                return false;
            }
        };
        self.reset_connection_state();
        // Qt takes the names from the plain socket, which knows none for a descriptor.
        self.peer_name.clear();
        self.peer_port = 0;
        self.peer_address = Some(peer);
        self.local_address = local;
        tcp.apply_options(&self.socket_options);
        self.tcp = Some(tcp);
        self.open = mode != OpenMode::NotOpen;
        if self.state != state {
            self.set_state(state);
        }
        true
    }

    /// Starts the client handshake on a connected plain socket (STARTTLS).
    ///
    /// Plaintext already received and not yet read stays readable as plaintext and is not fed
    /// to the TLS engine (Qt would); `unencrypted_bytes_available()` says how much of the
    /// buffered data arrived before encryption started, so a protocol can reject data injected
    /// before the upgrade.
    #[doc(alias = "startClientEncryption")]
    pub fn start_client_encryption(&mut self) {
        self.start_encryption(Role::Client);
    }

    /// Starts the server handshake on a connected plain socket (after `set_socket_descriptor`
    /// or a STARTTLS exchange). The same plaintext rule as `start_client_encryption` applies.
    #[doc(alias = "startServerEncryption")]
    pub fn start_server_encryption(&mut self) {
        self.start_encryption(Role::Server);
    }

    /// `may_connect`, plus the protocol check of Qt 5.15/6: an unusable protocol fails at once
    /// with `SslInvalidUserDataError` and no connection attempt.
    fn may_connect_encrypted(&mut self) -> bool {
        if !self.may_connect() {
            return false;
        }
        if let Err(e) = context::protocol_range(self.config.protocol) {
            self.set_error_and_emit(SocketError::SslInvalidUserDataError, e.message);
            return false;
        }
        true
    }

    fn may_connect(&self) -> bool {
        // Qt warns and ignores a second connect while one is in progress or established.
        matches!(
            self.state,
            SocketState::UnconnectedState | SocketState::BoundState
        )
    }

    /// Qt's `QSslSocketPrivate::init()`: fresh per-connection state. The ignore list and the
    /// configuration survive; `ignore_ssl_errors()` does not.
    fn init(&mut self) {
        self.reset_connection_state();
        self.ignore_all = false;
    }

    /// Ends any current connection (`teardown`) and forgets everything about the previous one,
    /// for a new connection (`connect_to_host*`) or an adopted descriptor: plain mode, empty
    /// buffers, no errors, no handshake results. The configuration's settings, the ignore rules,
    /// the slots and the byte totals survive.
    fn reset_connection_state(&mut self) {
        self.teardown();
        self.mode = SslMode::UnencryptedMode;
        self.auto_start = false;
        self.encrypted = false;
        self.kernel_drained = false;
        self.handshake_deadline = None;
        self.read_buf = Default::default();
        self.write_buf = Default::default();
        self.unencrypted_leftover = 0;
        self.ssl_errors.clear();
        self.chain_errors.clear();
        self.collected = None;
        self.report = None;
        self.peer_closed_cleanly = None;
        self.session_resumed = false;
        self.config.session = Default::default();
        self.error = SocketError::UnknownSocketError;
        self.error_string.clear();
    }

    fn start_connecting(&mut self, host: &str, port: u16) {
        self.peer_name = host.to_owned();
        self.peer_port = port;
        self.open = true;
        let generation = self.generation;
        self.set_state(SocketState::HostLookupState);
        if self.generation != generation {
            return;
        }
        match ip_literal(host) {
            Some(ip) => self.lookup_done(Ok(vec![SocketAddr::new(ip, port)])),
            None => match Lookup::start(host, port) {
                Ok(lookup) => self.lookup = Some(lookup),
                Err(e) => self.lookup_done(Err(e)),
            },
        }
    }

    /// Drives a pending lookup.
    pub(super) fn poll_lookup(&mut self) {
        let Some(result) = self.lookup.as_ref().and_then(Lookup::poll) else {
            return;
        };
        self.lookup = None;
        self.lookup_done(result);
    }

    fn lookup_done(&mut self, result: io::Result<Vec<SocketAddr>>) {
        let addresses = result.unwrap_or_default();
        let generation = self.generation;
        if addresses.is_empty() {
            self.state = SocketState::UnconnectedState;
            self.set_error(SocketError::HostNotFoundError, "Host not found");
            self.emit_state_changed(SocketState::UnconnectedState);
            if self.generation == generation {
                self.emit_error_occurred(SocketError::HostNotFoundError);
            }
            return;
        }
        self.addresses = addresses;
        self.addresses.reverse(); // popped from the back, so the first address goes first
        self.set_state(SocketState::ConnectingState);
        if self.generation != generation {
            return;
        }
        self.emit_host_found();
        if self.generation != generation {
            return;
        }
        self.connect_next_address(None);
    }

    /// Tries the next resolved address; when none is left, fails with the last error.
    fn connect_next_address(&mut self, mut last_error: Option<io::Error>) {
        while let Some(addr) = self.addresses.pop() {
            match Tcp::connect(addr, &self.socket_options) {
                Ok(tcp) => {
                    let connecting = tcp.is_connecting();
                    self.tcp = Some(tcp);
                    if !connecting {
                        let peer = self.tcp.as_ref().and_then(Tcp::peer_addr);
                        self.tcp_connected(peer);
                    }
                    return;
                }
                Err(e) => last_error = Some(e),
            }
        }
        let error = last_error.unwrap_or_else(|| io::Error::from_raw_os_error(libc::ECONNREFUSED));
        let (kind, text) = tcp::connect_error(&error);
        self.tcp = None;
        self.state = SocketState::UnconnectedState;
        self.set_error(kind, text);
        let generation = self.generation;
        self.emit_state_changed(SocketState::UnconnectedState);
        if self.generation == generation {
            self.emit_error_occurred(kind);
        }
    }

    /// Drives a connect in progress.
    pub(super) fn poll_connect(&mut self) {
        let Some(tcp) = self.tcp.as_mut() else { return };
        match tcp.poll_connected() {
            None => {}
            Some(Ok(peer)) => self.tcp_connected(peer),
            Some(Err(e)) => {
                self.tcp = None;
                self.connect_next_address(Some(e));
            }
        }
    }

    /// TCP is up: Qt 5/6 start the client handshake before emitting `connected()`.
    fn tcp_connected(&mut self, peer: Option<SocketAddr>) {
        self.addresses.clear();
        // A new connection has nothing to read yet (a TLS server speaks after the ClientHello):
        // a blocking call polls before its first recv.
        self.kernel_drained = true;
        self.peer_address = peer;
        self.local_address = self.tcp.as_ref().and_then(Tcp::local_addr);
        let generation = self.generation;
        self.set_state(SocketState::ConnectedState);
        if self.generation != generation {
            return;
        }
        if self.auto_start {
            self.start_encryption(Role::Client);
            if self.generation != generation {
                return;
            }
        }
        self.emit_connected();
        if self.generation == generation && self.pending_close && !self.auto_start {
            self.disconnect_from_host();
        }
    }

    fn start_encryption(&mut self, role: Role) {
        if self.mode != SslMode::UnencryptedMode {
            return; // Qt: "cannot start handshake on non-plain connection"
        }
        if self.state != SocketState::ConnectedState || self.tcp.is_none() {
            return; // Qt 5+: "cannot start handshake when not connected"
        }
        if let Err(e) = context::protocol_range(self.config.protocol) {
            self.set_error_and_emit(SocketError::SslInvalidUserDataError, e.message);
            return;
        }
        self.mode = if role == Role::Client {
            SslMode::SslClientMode
        } else {
            SslMode::SslServerMode
        };
        self.unencrypted_leftover = self.read_buf.len();
        self.ssl_errors.clear();
        self.chain_errors.clear();
        self.collected = None;
        self.report = None;
        let generation = self.generation;
        self.emit_mode_changed(self.mode);
        if self.generation != generation {
            return;
        }
        match self.new_engine(role) {
            Ok(engine) => self.engine = Some(engine),
            Err((kind, message)) => {
                // Qt leaves the connection up after a context error (test setEmptyKey).
                self.set_error_and_emit(kind, message);
                return;
            }
        }
        // Produce the first flight (ClientHello) now; it goes out on the next pump pass.
        self.step_handshake();
    }

    fn new_engine(&self, role: Role) -> Result<Engine, (SocketError, String)> {
        let shared = context::shared_context(&self.config, role, std::time::SystemTime::now())
            .map_err(|ContextError { message }| (SocketError::SslInvalidUserDataError, message))?;
        let verify_peer = self.config.peer_verify_mode != PeerVerifyMode::VerifyNone;
        let peer_name = self.verification_name();
        let sni = (role == Role::Client
            && !self
                .config
                .test_ssl_option(SslOption::SslOptionDisableServerNameIndication))
        .then(|| sni_name(&peer_name))
        .flatten();
        let sharing = !self
            .config
            .test_ssl_option(SslOption::SslOptionDisableSessionSharing);
        let setup = Setup {
            server_name: sni,
            verify_peer,
            // Qt sets SSL_VERIFY_FAIL_IF_NO_PEER_CERT whenever it verifies at all, so a
            // QueryPeer server with it refuses a client without a certificate too.
            require_peer_certificate: role == Role::Server
                && self.config.peer_verify_mode != PeerVerifyMode::VerifyNone
                && self.config.missing_certificate_is_fatal,
            session_key: (role == Role::Client && sharing)
                .then(|| format!("{}:{}", peer_name, self.peer_port)),
            session_ticket: if role == Role::Client {
                self.config.session_ticket.clone()
            } else {
                Vec::new()
            },
        };
        Engine::new(shared, role, setup).map_err(|m| (SocketError::SslInternalError, m))
    }

    /// The name the peer's certificate is checked against: the peer verify name if set, else
    /// the host given to `connect_to_host*`.
    pub(super) fn verification_name(&self) -> String {
        if self.config.peer_verify_name.is_empty() {
            self.peer_name.clone()
        } else {
            self.config.peer_verify_name.clone()
        }
    }
}

/// The SNI value for `name` (Qt 6): the ACE form of an internationalised name, trailing dot
/// stripped; none for IP literals, empty names and names that are not valid host names.
fn sni_name(name: &str) -> Option<String> {
    let name = name.trim_end_matches('.');
    if ip_literal(name).is_some() {
        return None;
    }
    crate::verification::to_ace(name)
}

/// The address `host` spells, if it is an IP literal (IPv6 possibly in brackets).
fn ip_literal(host: &str) -> Option<IpAddr> {
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}
