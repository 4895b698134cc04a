//! `poll(2)` on a few descriptors, for `wait_for_*` on a socket outside an event loop.

use std::io;
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

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

/// Descriptors polled without a heap allocation (callers pass one or two).
const INLINE: usize = 4;

/// Waits until one of `fds` is ready or `timeout` passes (`None`: forever). Returns how many are
/// ready. Retries on `EINTR` with the time that is left, so signals cannot stretch the wait. A
/// timeout is rounded *up* to whole milliseconds so that a sub-millisecond wait never becomes a
/// busy spin.
pub(crate) fn poll(fds: &mut [PollFd], timeout: Option<Duration>) -> io::Result<usize> {
    // `None` inside: a timeout too long to add to the clock, which the clamp makes ~24 days anyway.
    let deadline = timeout.map(|d| Instant::now().checked_add(d));
    let raw_of = |f: &PollFd| libc::pollfd {
        fd: f.fd,
        events: (if f.read { libc::POLLIN } else { 0 }) | (if f.write { libc::POLLOUT } else { 0 }),
        revents: 0,
    };
    let mut inline = [libc::pollfd {
        fd: -1,
        events: 0,
        revents: 0,
    }; INLINE];
    let mut heap = Vec::new();
    let raw: &mut [libc::pollfd] = if fds.len() <= INLINE {
        for (r, f) in inline.iter_mut().zip(fds.iter()) {
            *r = raw_of(f);
        }
        &mut inline[..fds.len()]
    } else {
        heap.extend(fds.iter().map(raw_of));
        &mut heap
    };
    let mut wait = timeout;
    let n = loop {
        // SAFETY: `raw` is a live, exclusively borrowed array of `raw.len()` initialised pollfd
        // structs; poll(2) writes only their `revents` fields and keeps no pointer after returning.
        let rc = unsafe { libc::poll(raw.as_mut_ptr(), raw.len() as libc::nfds_t, millis(wait)) };
        if rc >= 0 {
            break rc as usize;
        }
        let err = io::Error::last_os_error();
        if err.kind() != io::ErrorKind::Interrupted {
            return Err(err);
        }
        if let Some(Some(at)) = deadline {
            wait = Some(at.saturating_duration_since(Instant::now()));
        }
    };
    for (f, r) in fds.iter_mut().zip(raw.iter()) {
        f.readable = r.revents & libc::POLLIN != 0;
        f.writable = r.revents & libc::POLLOUT != 0;
        f.hangup = r.revents & (libc::POLLHUP | libc::POLLERR | libc::POLLNVAL) != 0;
    }
    Ok(n)
}

/// poll(2)'s timeout argument: -1 for none, else milliseconds rounded up and clamped.
fn millis(timeout: Option<Duration>) -> libc::c_int {
    match timeout {
        None => -1,
        Some(d) => {
            let ms = d.as_nanos().div_ceil(1_000_000);
            ms.min(libc::c_int::MAX as u128) as libc::c_int
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::fd::AsRawFd;
    use std::os::unix::net::UnixStream;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, mpsc};
    use std::time::{Duration, Instant};

    use super::*;

    extern "C" fn ignore(_: libc::c_int) {}

    #[test]
    fn signals_do_not_stretch_a_timed_wait() {
        // SAFETY: installs a handler for SIGUSR1 (nothing else in the crate's tests uses it) that
        // does nothing, which is async-signal-safe; the sigaction struct is zeroed then filled,
        // with an empty mask and no SA_RESTART so that poll(2) sees EINTR.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = ignore as extern "C" fn(libc::c_int) as usize;
            libc::sigemptyset(&mut action.sa_mask);
            assert_eq!(
                libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
                0
            );
        }
        let (quiet, _peer) = UnixStream::pair().unwrap();
        let (tx, rx) = mpsc::channel();
        let done = Arc::new(AtomicBool::new(false));
        let poller = {
            let done = done.clone();
            std::thread::spawn(move || {
                // SAFETY: pthread_self has no preconditions.
                tx.send(unsafe { libc::pthread_self() }).unwrap();
                let mut fds = [PollFd::new(quiet.as_raw_fd(), true, false)];
                let start = Instant::now();
                let n = poll(&mut fds, Some(Duration::from_millis(200)));
                done.store(true, Ordering::SeqCst);
                (n.unwrap(), start.elapsed())
            })
        };
        let thread = rx.recv().unwrap();
        // Interrupt every 10 ms for up to 2 s: with the old retry each signal restarted the full
        // 200 ms, so the wait only ended once the signals stopped.
        let start = Instant::now();
        while !done.load(Ordering::SeqCst) && start.elapsed() < Duration::from_secs(2) {
            // SAFETY: `thread` is the poller's pthread_t, valid until the thread is joined (after
            // this loop) even once it has finished; a signal to it runs the no-op handler.
            unsafe { libc::pthread_kill(thread, libc::SIGUSR1) };
            std::thread::sleep(Duration::from_millis(10));
        }
        let (ready, waited) = poller.join().unwrap();
        assert_eq!(ready, 0, "nothing became readable");
        assert!(waited >= Duration::from_millis(190), "{waited:?}");
        assert!(waited < Duration::from_millis(1500), "{waited:?}");
    }

    #[test]
    fn many_descriptors_use_the_heap_path() {
        let pairs: Vec<_> = (0..INLINE + 2)
            .map(|_| UnixStream::pair().unwrap())
            .collect();
        let mut fds: Vec<_> = pairs
            .iter()
            .map(|(a, _)| PollFd::new(a.as_raw_fd(), true, true))
            .collect();
        let n = poll(&mut fds, Some(Duration::from_millis(100))).unwrap();
        assert_eq!(n, fds.len());
        assert!(fds.iter().all(|f| f.writable && !f.readable));
    }
}
