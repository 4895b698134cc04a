//! Small helpers the subcommands share: a lock that survives a panicked slot, a socket's peer as
//! text, the echo that `serve` and `demo` answer clients with, and `serve`'s answer to a client's
//! close_notify.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use qsslsocket::{SocketState, SslSocket};

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

/// How much an echo may have queued and not yet sent (plaintext waiting for TLS plus ciphertext
/// waiting for TCP) before it stops reading: a client that sends and never reads costs the server
/// this much, not everything it sends.
const ECHO_BACKLOG: i64 = 1 << 20;

/// The read buffer of an echoing socket: once it is full and the echo has stopped reading, the
/// socket stops reading from TCP, and TCP's flow control holds the client back.
const ECHO_READ_BUFFER: i64 = 64 * 1024;

/// Writes back what the socket has read, unless the echo's backlog is full (then the data waits
/// in the read buffer until [`bound_echo`]'s slots see the backlog drain). Returns how many bytes
/// it echoed.
pub(crate) fn echo(socket: &mut SslSocket) -> usize {
    if socket.bytes_to_write() + socket.encrypted_bytes_to_write() >= ECHO_BACKLOG {
        return 0;
    }
    let data = socket.read_all();
    socket.write(&data);
    data.len()
}

/// Bounds what echoing costs on `socket` (the caller echoes from its `ready_read` slot): a read
/// buffer limit, and slots that resume the echo as the backlog goes out (`bytes_written`: TLS took
/// the plaintext, or plain bytes were sent; `encrypted_bytes_written`: ciphertext was sent).
pub(crate) fn bound_echo(socket: &mut SslSocket) {
    socket.set_read_buffer_size(ECHO_READ_BUFFER);
    socket.on_bytes_written(|s, _| {
        echo(s);
        close_when_peer_done(s);
    });
    socket.on_encrypted_bytes_written(|s, _| {
        echo(s);
        close_when_peer_done(s);
    });
}

/// Answers the peer's close_notify once everything it sent has been read (and so echoed or
/// answered): `disconnect_from_host` sends what is queued, then close_notify, then FIN. RFC 8446
/// §6.1 and RFC 5246 §7.2.1 ask for that answer; Qt, and so the socket itself, only reports the
/// close_notify (`RemoteHostClosedError`) and leaves the connection to the application, so a
/// client waiting for the server's close_notify (tlsfuzzer, `SSL_shutdown` until done) would
/// wait for nothing. Called from the slots that run after the close_notify or after the echo
/// made progress.
pub(crate) fn close_when_peer_done(socket: &mut SslSocket) {
    if socket.peer_closed_cleanly() == Some(true)
        && socket.bytes_available() == 0
        && socket.state() == SocketState::ConnectedState
    {
        socket.disconnect_from_host();
    }
}
