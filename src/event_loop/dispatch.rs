//! One round of the loop: queued work (handle commands, due timers, sockets and servers touched
//! since the last round), one `epoll_wait`, then the ready sockets and servers, then queued work
//! again. After every drive of a socket its registration, handshake accounting, deadline and
//! auto-removal are brought up to date at once, before any other descriptor can be opened by
//! the loop (see `registration.rs` for why).

use std::time::{Duration, Instant};

use mio::Token;

use crate::SocketState;
use crate::server::server_handshake_pending;

use super::registration::Watch;
use super::{EventLoop, ServerId, SocketId, WAKER, with_current_socket};

/// Connections accepted per server per pass, so a flood of clients cannot starve the others.
const ACCEPT_BATCH: usize = 256;

impl EventLoop {
    /// One round, waiting at most until `until` (`None`: no limit). Returns the number of
    /// sockets driven.
    pub(super) fn round(&mut self, until: Option<Instant>) -> usize {
        self.round += 1;
        self.serviced = 0;
        // Timers started during this round (by a timer, a slot, a command) wait for the next.
        self.timer_mark = self.timers.mark();
        // Work done here (a timer, a command, a socket touched between rounds) may be what the
        // caller waits for: then only look for readiness, without blocking, so that the caller
        // gets control back at once.
        let busy = self.pending_work();

        let timeout = if busy {
            Some(Duration::ZERO)
        } else {
            self.poll_timeout(until)
        };
        let sleep = timeout != Some(Duration::ZERO) && self.shared.enter_sleep();
        let timeout = if sleep { timeout } else { Some(Duration::ZERO) };
        let polled = self.poll.poll(&mut self.events, timeout);
        self.shared.leave_sleep();
        if polled.is_ok() {
            // The ready tokens go to a list kept across rounds (slots run while they are
            // dispatched, so `events` cannot be borrowed meanwhile); taken, so that a nested
            // round (a command that runs one) finds its own.
            let mut ready = std::mem::take(&mut self.ready);
            ready.extend(self.events.iter().map(|e| e.token()));
            for token in ready.drain(..) {
                self.dispatch(token);
            }
            self.ready = ready;
        }
        // EINTR and other poll failures: the round simply ends; the caller's next round retries.

        self.pending_work();
        self.serviced
    }

    /// How long the next `epoll_wait` may block.
    fn poll_timeout(&self, until: Option<Instant>) -> Option<Duration> {
        if !self.dirty.is_empty()
            || !self.dirty_servers.is_empty()
            || self.shared.has_commands()
            || self.shared.stop_requested()
        {
            return Some(Duration::ZERO);
        }
        let next = [
            until,
            self.timers.next_deadline(),
            self.deadlines.first().map(|(at, _)| *at),
        ]
        .into_iter()
        .flatten()
        .min()?;
        Some(next.saturating_duration_since(Instant::now()))
    }

    fn dispatch(&mut self, token: Token) {
        if token == WAKER {
            return;
        }
        let raw = token.0 as u64;
        if self.sockets.contains_key(&SocketId(raw)) {
            self.service(SocketId(raw));
        } else if self.servers.contains_key(&ServerId(raw)) {
            self.service_server(ServerId(raw));
        }
        // Otherwise a stale event for something removed during this round.
    }

    /// Handle commands, due timers, touched servers and sockets, then commands queued by the
    /// slots that just ran. Returns whether there was anything to do.
    fn pending_work(&mut self) -> bool {
        let mut busy = self.run_commands();
        busy |= self.run_timers();
        for id in std::mem::take(&mut self.dirty_servers) {
            if let Some(entry) = self.servers.get_mut(&id) {
                entry.dirty = false;
                busy |= self.service_server(id);
            }
        }
        for id in std::mem::take(&mut self.dirty) {
            if let Some(entry) = self.sockets.get_mut(&id) {
                entry.dirty = false;
                busy |= self.service(id);
            }
        }
        busy | self.run_commands()
    }

    fn run_commands(&mut self) -> bool {
        let commands = self.shared.take_commands();
        let busy = !commands.is_empty();
        for command in commands {
            command(self);
        }
        busy
    }

    fn run_timers(&mut self) -> bool {
        let now = Instant::now();
        let mut busy = false;
        while let Some(timer) = self.timers.pop_due(now, self.timer_mark) {
            timer(self);
            busy = true;
        }
        while let Some(&(at, id)) = self.deadlines.first() {
            if at > now {
                break;
            }
            self.deadlines.pop_first();
            if let Some(entry) = self.sockets.get_mut(&id) {
                entry.deadline = None;
                self.mark_dirty(id);
            }
        }
        busy
    }

    pub(super) fn mark_dirty(&mut self, id: SocketId) {
        if let Some(entry) = self.sockets.get_mut(&id) {
            if !entry.dirty {
                entry.dirty = true;
                self.dirty.push(id);
            }
        }
    }

    pub(super) fn mark_server_dirty(&mut self, id: ServerId) {
        if let Some(entry) = self.servers.get_mut(&id) {
            if !entry.dirty {
                entry.dirty = true;
                self.dirty_servers.push(id);
            }
        }
    }

    /// Drives socket `id` and brings its bookkeeping up to date. Returns whether anything
    /// happened (a socket only touched through `socket_mut` without effect does not count, so
    /// that a `run_until` condition that calls `socket_mut` does not keep the loop awake).
    fn service(&mut self, id: SocketId) -> bool {
        let round = self.round;
        let Some(entry) = self.sockets.get_mut(&id) else {
            return false;
        };
        if entry.round != round {
            entry.round = round;
            self.serviced += 1;
        }
        let socket = &mut entry.socket;
        let (progressed, again) = with_current_socket(Some(id), || {
            // A second drive picks up work that slots queued at the end of the first (it costs a
            // read that finds nothing); work left after that waits for the next round. That read
            // is needed: a short read leaves a FIN that arrived with the data unreported, and
            // the edge-triggered registration will not report it again (skipping it left
            // `echo_server_serves_1000_concurrent_clients` with 903 sockets never closed).
            let progressed = socket.drive();
            (progressed, progressed && socket.drive())
        });
        if again {
            self.mark_dirty(id);
        }
        self.settle(id) || progressed
    }

    /// After a drive or a change from outside: handshake accounting, auto-removal,
    /// registration, deadline. Returns whether the socket left the loop or failed.
    fn settle(&mut self, id: SocketId) -> bool {
        let Some(entry) = self.sockets.get_mut(&id) else {
            return false;
        };
        let state = entry.socket.state();
        if entry.handshaking && !server_handshake_pending(&entry.socket) {
            entry.handshaking = false;
            let server = entry.server;
            self.settle_handshake(server);
        }
        let Some(entry) = self.sockets.get_mut(&id) else {
            return true;
        };
        if entry.auto_remove && state == SocketState::UnconnectedState {
            self.remove_socket(id);
            return true;
        }
        let want = entry
            .socket
            .interest()
            .and_then(|i: crate::socket::Interest| {
                Watch::interest(i.read, i.write).map(|interest| Watch {
                    fd: i.fd,
                    interest,
                    key: entry.socket.transport_key(),
                })
            });
        let token = Token(id.0 as usize);
        if let Err(e) =
            self.registrations
                .update(self.poll.registry(), token, &mut entry.registered, want)
        {
            with_current_socket(Some(id), || entry.socket.fail_unwatchable(&e));
            self.registrations
                .remove(self.poll.registry(), token, &mut entry.registered);
            self.mark_dirty(id);
            return true;
        }
        let deadline = entry.socket.next_deadline();
        if deadline != entry.deadline {
            if let Some(old) = entry.deadline {
                self.deadlines.remove(&(old, id));
            }
            entry.deadline = deadline;
            if let Some(at) = deadline {
                self.deadlines.insert((at, id));
            }
        }
        false
    }

    /// A server's socket finished its handshake or left: it no longer counts toward the
    /// server's pending limit, which may let the server accept again.
    pub(super) fn settle_handshake(&mut self, server: Option<ServerId>) {
        let Some(sid) = server else { return };
        if let Some(entry) = self.servers.get_mut(&sid) {
            entry.handshaking = entry.handshaking.saturating_sub(1);
            if entry.server.may_accept(entry.handshaking) {
                self.mark_server_dirty(sid);
            }
        }
    }

    /// Accepts what is waiting on server `id`, moves the new sockets into the loop, and keeps
    /// the listening descriptor registered. Returns whether it accepted anything.
    fn service_server(&mut self, id: ServerId) -> bool {
        let Some(entry) = self.servers.get_mut(&id) else {
            return false;
        };
        let accepting = entry
            .server
            .accept_for_loop(ACCEPT_BATCH, entry.handshaking);
        let mut accepted = std::mem::take(&mut self.accepted);
        entry.server.take_accepted(&mut accepted);
        let want = entry.server.listening_fd().map(|(fd, serial)| Watch {
            fd,
            interest: mio::Interest::READABLE,
            key: (serial, false, 0),
        });
        let token = Token(id.0 as usize);
        let mut unwatchable = false;
        if let Err(e) =
            self.registrations
                .update(self.poll.registry(), token, &mut entry.registered, want)
        {
            // epoll refuses a descriptor only when the system is out of resources: the server
            // reports it as an accept error and pauses; `resume_accepting` retries.
            self.registrations
                .remove(self.poll.registry(), token, &mut entry.registered);
            entry.server.fail_unwatchable(&e);
            unwatchable = true;
        }
        if accepting.more {
            self.mark_server_dirty(id);
        }
        // Also a connection dropped at set-up, or an accept error: the server's slots ran, and
        // the caller may be waiting for what they did.
        let busy = accepting.more || accepting.acted() || unwatchable || !accepted.is_empty();
        for accepted in accepted.drain(..) {
            let socket_id = accepted
                .id
                .unwrap_or_else(|| SocketId(self.shared.next_id()));
            let handshaking = server_handshake_pending(&accepted.socket);
            self.insert_socket(socket_id, accepted.socket, Some(id), handshaking);
        }
        self.accepted = accepted;
        busy
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr, TcpStream};

    use crate::engine::probe::self_signed;
    use crate::{
        EventLoop, PeerVerifyMode, SocketState, SslCertificate, SslConfiguration, SslKey,
        SslServer, SslSocket,
    };

    const LOCALHOST: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    fn server() -> SslServer {
        let (cert, key) = self_signed("event loop test").expect("self-signed certificate");
        let mut config = SslConfiguration::default_configuration();
        config.set_local_certificate(SslCertificate::from_x509(cert));
        config.set_private_key(SslKey::from_private_pkey(key));
        let mut server = SslServer::new();
        server.set_ssl_configuration(config);
        server.set_handshake_timeout(60_000);
        assert!(server.listen(LOCALHOST, 0), "{}", server.error_string());
        server
    }

    /// Handshakes that finish (or sockets that leave) take their deadline out of the loop at
    /// once: nothing is left to wake the loop at the old deadline.
    #[test]
    fn settled_handshakes_leave_no_deadline_behind() {
        let mut event_loop = EventLoop::new();
        let server = server();
        let port = server.server_port();
        let server_id = event_loop.add_server(server);
        let clients: Vec<_> = (0..5)
            .map(|_| {
                let mut client = SslSocket::new();
                client.set_peer_verify_mode(PeerVerifyMode::VerifyNone);
                client.connect_to_host_encrypted("127.0.0.1", port);
                event_loop.add_socket(client)
            })
            .collect();
        let all_encrypted = |lp: &mut EventLoop| {
            let ids = lp.sockets_of(server_id);
            ids.len() == clients.len()
                && ids
                    .iter()
                    .chain(&clients)
                    .all(|id| lp.socket(*id).is_some_and(SslSocket::is_encrypted))
        };
        assert!(event_loop.run_until(all_encrypted, 20_000), "handshakes");
        assert_eq!(
            event_loop.deadlines.len(),
            0,
            "nothing left to wake the loop"
        );

        // A connection that never sends a ClientHello keeps its deadline until it leaves.
        let _silent = TcpStream::connect((LOCALHOST, port)).expect("connect");
        let stalled = |lp: &mut EventLoop| lp.sockets_of(server_id).len() == clients.len() + 1;
        assert!(event_loop.run_until(stalled, 20_000), "accepted");
        assert_eq!(event_loop.deadlines.len(), 1);
        let id = *event_loop
            .sockets_of(server_id)
            .last()
            .expect("the silent one");
        let socket = event_loop.remove_socket(id).expect("in the loop");
        assert_eq!(socket.state(), SocketState::ConnectedState);
        assert_eq!(event_loop.deadlines.len(), 0);
    }
}
