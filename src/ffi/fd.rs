//! Taking ownership of a descriptor handed over as a bare integer (Qt's `setSocketDescriptor`).

use std::io;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

/// Takes ownership of `fd`, after checking that it is an open descriptor.
///
/// The caller hands the descriptor over, as with Qt's `setSocketDescriptor`: it must not use or
/// close it afterwards (it is closed when the returned `OwnedFd` is dropped).
pub(crate) fn adopt(fd: RawFd) -> io::Result<OwnedFd> {
    if fd < 0 {
        return Err(io::Error::from_raw_os_error(libc::EBADF));
    }
    // SAFETY: F_GETFD only reads the descriptor flags of `fd`; on an invalid descriptor it fails
    // with EBADF and has no other effect.
    if unsafe { libc::fcntl(fd, libc::F_GETFD) } < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is open (checked above) and, by this function's contract, ownership is
    // transferred to us by the caller, so no one else will close it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
