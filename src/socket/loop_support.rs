//! What `EventLoop` needs from a socket beyond `drive()`, `interest()` and `next_deadline()`.

use crate::SocketError;

use super::SslSocket;

impl SslSocket {
    /// Identifies the descriptor behind `interest().fd`. It changes whenever the socket may have
    /// closed that descriptor and opened another, which the kernel may give the same number:
    /// at every teardown (close, abort, reconnect, `set_socket_descriptor`: `generation`), when a
    /// host lookup ends (its wake-up descriptor is closed, a TCP socket opened), and at each
    /// connection attempt (one resolved address is used up). An event loop re-registers a socket
    /// whose key changed even if the number did not.
    pub(crate) fn transport_key(&self) -> (u64, bool, usize) {
        (self.generation, self.lookup.is_some(), self.addresses.len())
    }

    /// The event loop cannot watch this socket's descriptor (epoll refused it, e.g. the
    /// `max_user_watches` limit): report `SocketResourceError` and abort, so the socket ends
    /// visibly instead of hanging.
    pub(crate) fn fail_unwatchable(&mut self, reason: &std::io::Error) {
        let generation = self.generation;
        self.set_error_and_emit(
            SocketError::SocketResourceError,
            format!("Out of resources ({reason})"),
        );
        if self.generation == generation {
            self.abort();
        }
    }
}
