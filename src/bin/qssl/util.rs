//! Small helpers the subcommands share: a lock that survives a panicked slot, a socket's peer as
//! text, and the echo that `serve` and `demo` answer clients with.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use qsslsocket::SslSocket;

/// Locks `m`, also after a slot panicked while holding it (the data is still what the slots
/// share; a panic has been reported already).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `address:port` of the socket's peer (`[v6]:port`), empty when it has none.
pub(crate) fn peer_text(socket: &SslSocket) -> String {
    socket
        .peer_address()
        .map(|a| SocketAddr::new(a, socket.peer_port()).to_string())
        .unwrap_or_default()
}

/// Writes back what the socket has read. Returns how many bytes it echoed.
pub(crate) fn echo(socket: &mut SslSocket) -> usize {
    let data = socket.read_all();
    socket.write(&data);
    data.len()
}
