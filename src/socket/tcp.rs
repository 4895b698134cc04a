//! The TCP socket under an `SslSocket`: socket2, non-blocking, and the mapping of OS errors to
//! Qt's `SocketError` values and texts (Qt's `QNativeSocketEngine` strings).

use std::collections::HashMap;
use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::{SocketError, SocketOption};

/// A non-blocking TCP socket, connecting or connected.
#[derive(Debug)]
pub(super) struct Tcp {
    socket: Socket,
    connecting: bool,
}

/// Outcome of a non-blocking read.
pub(super) enum ReadResult {
    Data(usize),
    WouldBlock,
    Eof,
    Error(io::Error),
}

impl Tcp {
    /// Starts a non-blocking connect to `addr`.
    pub(super) fn connect(
        addr: SocketAddr,
        options: &HashMap<SocketOption, i32>,
    ) -> io::Result<Tcp> {
        let socket = Socket::new(
            Domain::for_address(addr),
            // Non-blocking from the start: no fcntl(2) round trip per connection.
            Type::STREAM.cloexec().nonblocking(),
            Some(Protocol::TCP),
        )?;
        let tcp = Tcp {
            socket,
            connecting: true,
        };
        tcp.apply_options(options);
        match tcp.socket.connect(&SockAddr::from(addr)) {
            Ok(()) => Ok(Tcp {
                connecting: false,
                ..tcp
            }),
            Err(e)
                if e.raw_os_error() == Some(libc::EINPROGRESS)
                    || e.kind() == io::ErrorKind::WouldBlock =>
            {
                Ok(tcp)
            }
            Err(e) => Err(e),
        }
    }

    /// Adopts a connected, non-blocking descriptor (`ffi::fd::adopt_nonblocking`). Returns it
    /// with its peer and local addresses, read once: a peer that resets right after connecting
    /// may leave none to read later.
    pub(super) fn adopt(fd: OwnedFd) -> io::Result<(Tcp, SocketAddr, Option<SocketAddr>)> {
        let socket = Socket::from(fd);
        // A descriptor that is not a connected stream socket fails here.
        let peer = socket
            .peer_addr()?
            .as_socket()
            .ok_or_else(|| io::Error::from_raw_os_error(libc::ENOTSOCK))?;
        let local = socket.local_addr().ok().and_then(|a| a.as_socket());
        Ok((
            Tcp {
                socket,
                connecting: false,
            },
            peer,
            local,
        ))
    }

    pub(super) fn fd(&self) -> RawFd {
        self.socket.as_raw_fd()
    }

    pub(super) fn is_connecting(&self) -> bool {
        self.connecting
    }

    /// For a connecting socket: `None` while in progress, `Some(Ok(peer address))` once
    /// connected, `Some(Err)` if the attempt failed.
    pub(super) fn poll_connected(&mut self) -> Option<io::Result<Option<SocketAddr>>> {
        if !self.connecting {
            return Some(Ok(self.peer_addr()));
        }
        match self.socket.take_error() {
            Ok(Some(e)) | Err(e) => return Some(Err(e)),
            Ok(None) => {}
        }
        // getpeername(2) both tells whether the connect is done and gives the address.
        match self.socket.peer_addr() {
            Ok(addr) => {
                self.connecting = false;
                Some(Ok(addr.as_socket()))
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => None,
            Err(e) => Some(Err(e)),
        }
    }

    pub(super) fn peer_addr(&self) -> Option<SocketAddr> {
        self.socket.peer_addr().ok()?.as_socket()
    }

    pub(super) fn local_addr(&self) -> Option<SocketAddr> {
        self.socket.local_addr().ok()?.as_socket()
    }

    /// Reads what is available into `buf`.
    pub(super) fn read(&self, buf: &mut [u8]) -> ReadResult {
        loop {
            match (&self.socket).read(buf) {
                Ok(0) if !buf.is_empty() => return ReadResult::Eof,
                Ok(n) => return ReadResult::Data(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadResult::WouldBlock,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return ReadResult::Error(e),
            }
        }
    }

    /// Writes what the kernel accepts; `Ok(0)` when it would block.
    pub(super) fn write(&self, data: &[u8]) -> io::Result<usize> {
        loop {
            match self.socket.send_with_flags(data, libc::MSG_NOSIGNAL) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(0),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }

    /// Sends FIN after everything queued in the kernel.
    pub(super) fn shutdown_write(&self) {
        // The peer may already be gone; there is nothing left to tell it then.
        let _ = self.socket.shutdown(Shutdown::Write);
    }

    /// Sets the socket options chosen before the socket existed. Those that do not apply to it
    /// are reported by `SslSocket::socket_option`.
    pub(super) fn apply_options(&self, options: &HashMap<SocketOption, i32>) {
        for (option, value) in options {
            self.set_option(*option, *value);
        }
    }

    /// Sets a socket option. Returns false if it does not apply.
    pub(super) fn set_option(&self, option: SocketOption, value: i32) -> bool {
        let s = &self.socket;
        match option {
            SocketOption::LowDelayOption => s.set_tcp_nodelay(value != 0).is_ok(),
            SocketOption::KeepAliveOption => s.set_keepalive(value != 0).is_ok(),
            SocketOption::TypeOfServiceOption => s.set_tos_v4(value.max(0) as u32).is_ok(),
            SocketOption::SendBufferSizeSocketOption => {
                s.set_send_buffer_size(value.max(0) as usize).is_ok()
            }
            SocketOption::ReceiveBufferSizeSocketOption => {
                s.set_recv_buffer_size(value.max(0) as usize).is_ok()
            }
            SocketOption::MulticastTtlOption
            | SocketOption::MulticastLoopbackOption
            | SocketOption::PathMtuSocketOption => false,
        }
    }

    /// Reads a socket option; -1 if it does not apply.
    pub(super) fn option(&self, option: SocketOption) -> i32 {
        let s = &self.socket;
        let r = match option {
            SocketOption::LowDelayOption => s.tcp_nodelay().map(i32::from),
            SocketOption::KeepAliveOption => s.keepalive().map(i32::from),
            SocketOption::TypeOfServiceOption => s.tos_v4().map(|v| v as i32),
            SocketOption::SendBufferSizeSocketOption => s.send_buffer_size().map(|v| v as i32),
            SocketOption::ReceiveBufferSizeSocketOption => s.recv_buffer_size().map(|v| v as i32),
            SocketOption::PathMtuSocketOption
            | SocketOption::MulticastTtlOption
            | SocketOption::MulticastLoopbackOption => return -1,
        };
        r.unwrap_or(-1)
    }
}

/// Qt's error value and text for an OS error while connecting.
pub(super) fn connect_error(e: &io::Error) -> (SocketError, &'static str) {
    match e.raw_os_error() {
        Some(libc::ECONNREFUSED) => (SocketError::ConnectionRefusedError, "Connection refused"),
        Some(libc::ETIMEDOUT) => (SocketError::NetworkError, "Connection timed out"),
        Some(libc::EHOSTUNREACH) => (SocketError::NetworkError, "Host unreachable"),
        Some(libc::ENETUNREACH) => (SocketError::NetworkError, "Network unreachable"),
        Some(libc::EACCES) | Some(libc::EPERM) => {
            (SocketError::SocketAccessError, "Permission denied")
        }
        Some(libc::EADDRINUSE) => (
            SocketError::AddressInUseError,
            "The bound address is already in use",
        ),
        Some(libc::EADDRNOTAVAIL) => (
            SocketError::SocketAddressNotAvailableError,
            "The address is not available",
        ),
        Some(libc::EAFNOSUPPORT) | Some(libc::EPROTONOSUPPORT) => (
            SocketError::UnsupportedSocketOperationError,
            "Protocol type not supported",
        ),
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM) => {
            (SocketError::SocketResourceError, "Out of resources")
        }
        _ => (SocketError::UnknownSocketError, "Unknown error"),
    }
}

/// Qt's error value and text for an OS error while reading or writing a connected socket.
pub(super) fn transfer_error(e: &io::Error) -> (SocketError, &'static str) {
    match e.raw_os_error() {
        Some(libc::ECONNRESET)
        | Some(libc::EPIPE)
        | Some(libc::ECONNABORTED)
        | Some(libc::ENOTCONN) => (
            SocketError::RemoteHostClosedError,
            "The remote host closed the connection",
        ),
        Some(libc::ETIMEDOUT) => (SocketError::NetworkError, "Connection timed out"),
        Some(libc::EHOSTUNREACH) => (SocketError::NetworkError, "Host unreachable"),
        Some(libc::ENETUNREACH) | Some(libc::ENETDOWN) => {
            (SocketError::NetworkError, "Network unreachable")
        }
        Some(libc::EMFILE) | Some(libc::ENFILE) | Some(libc::ENOBUFS) | Some(libc::ENOMEM) => {
            (SocketError::SocketResourceError, "Out of resources")
        }
        _ => (SocketError::NetworkError, "Unable to send a message"),
    }
}
