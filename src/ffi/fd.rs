//! Taking ownership of a descriptor handed over as a bare integer (Qt's `setSocketDescriptor`).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Takes ownership of `fd`, after checking that it is an open descriptor, and makes it
/// non-blocking: one ioctl(2) both checks and sets (instead of fcntl's F_GETFD, F_GETFL and
/// F_SETFL, three system calls per accepted connection).
///
/// The caller hands the descriptor over, as with Qt's `setSocketDescriptor`: it must not use or
/// close it afterwards (it is closed when the returned `OwnedFd` is dropped).
pub(crate) fn adopt_nonblocking(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    let on: libc::c_int = 1;
    // SAFETY: FIONBIO reads one int through the pointer, which points to a live local; it sets
    // the O_NONBLOCK flag of `fd`'s open file and nothing else. On an invalid descriptor it fails
    // with EBADF and has no effect.
    if unsafe { libc::ioctl(fd, libc::FIONBIO, &on) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is open (checked above) and, by this function's contract, ownership is
    // transferred to us by the caller, so no one else will close it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
