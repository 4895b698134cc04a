//! `poll(2)` on a few descriptors, for `wait_for_*` on a socket outside an event loop.

use std::io;
use std::os::fd::RawFd;
use std::time::Duration;

/// What to wait for on one descriptor, and what happened.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PollFd {
    pub(crate) fd: RawFd,
    pub(crate) read: bool,
    pub(crate) write: bool,
    pub(crate) readable: bool,
    pub(crate) writable: bool,
    /// Error or hang-up: a read or write will tell which.
    pub(crate) hangup: bool,
}

impl PollFd {
    pub(crate) fn new(fd: RawFd, read: bool, write: bool) -> PollFd {
        PollFd {
            fd,
            read,
            write,
            readable: false,
            writable: false,
            hangup: false,
        }
    }
}

/// Waits until one of `fds` is ready or `timeout` passes (`None`: forever). Returns how many are
/// ready. Retries on `EINTR`. A timeout is rounded *up* to whole milliseconds so that a
/// sub-millisecond wait never becomes a busy spin.
pub(crate) fn poll(fds: &mut [PollFd], timeout: Option<Duration>) -> io::Result<usize> {
    let ms: libc::c_int = match timeout {
        None => -1,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            ms.min(libc::c_int::MAX as u128) as libc::c_int
        }
    };
    let mut raw: Vec<libc::pollfd> = fds
        .iter()
        .map(|f| libc::pollfd {
            fd: f.fd,
            events: (if f.read { libc::POLLIN } else { 0 })
                | (if f.write { libc::POLLOUT } else { 0 }),
            revents: 0,
        })
        .collect();
    let n = loop {
        // SAFETY: `raw` is a live, exclusively borrowed array of `raw.len()` initialised pollfd
        // structs; poll(2) writes only their `revents` fields and keeps no pointer after returning.
        let rc = unsafe { libc::poll(raw.as_mut_ptr(), raw.len() as libc::nfds_t, ms) };
        if rc >= 0 {
            break rc as usize;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
    };
    for (f, r) in fds.iter_mut().zip(&raw) {
        f.readable = r.revents & libc::POLLIN != 0;
        f.writable = r.revents & libc::POLLOUT != 0;
        f.hangup = r.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0;
    }
    Ok(n)
}
