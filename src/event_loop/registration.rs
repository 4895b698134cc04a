//! Keeping epoll's view of each socket and server in step with what it needs, under mio's
//! edge-triggered registrations.
//!
//! Two hazards shape this code:
//! - **Descriptor numbers are reused.** Closing a descriptor removes it from the epoll set, and the
//!   next socket opened may get the same number. So every registration records its owner
//!   (`owners`), and a stale owner never deregisters a number that now belongs to someone else;
//!   and a registration also records the owner's *transport key*, so a new descriptor that happens
//!   to reuse the old number is registered afresh instead of being taken for the old one.
//! - **Edges are not repeated.** A readiness change is reported once. `EPOLL_CTL_MOD` and
//!   `EPOLL_CTL_ADD` re-check the descriptor's current readiness and report it again, so changing a
//!   registration (for instance restoring read interest after the application freed read-buffer
//!   space) never loses data that arrived while the interest was off.

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;

use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};

/// What one entry wants watched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Watch {
    pub(super) fd: RawFd,
    pub(super) interest: Interest,
    /// Changes whenever the owner may have replaced its descriptor (see module docs).
    pub(super) key: (u64, bool, usize),
}

impl Watch {
    /// The mio interest for a read/write pair; `None` when neither is wanted.
    pub(super) fn interest(read: bool, write: bool) -> Option<Interest> {
        match (read, write) {
            (true, true) => Some(Interest::READABLE | Interest::WRITABLE),
            (true, false) => Some(Interest::READABLE),
            (false, true) => Some(Interest::WRITABLE),
            (false, false) => None,
        }
    }
}

/// Which token owns which registered descriptor.
#[derive(Debug, Default)]
pub(super) struct Registrations {
    owners: HashMap<RawFd, Token>,
}

impl Registrations {
    /// Brings `current` (what `token` has registered) to `want`.
    pub(super) fn update(
        &mut self,
        registry: &Registry,
        token: Token,
        current: &mut Option<Watch>,
        want: Option<Watch>,
    ) -> io::Result<()> {
        match (*current, want) {
            (Some(cur), Some(new)) if cur == new => Ok(()),
            (Some(cur), Some(new)) if cur.fd == new.fd => {
                // Same number: a changed interest (MOD re-arms the edge), or possibly a new
                // descriptor under the old number (then MOD fails with ENOENT and it is added).
                *current = None;
                self.modify(registry, token, new)?;
                *current = Some(new);
                Ok(())
            }
            (old, new) => {
                if let Some(old) = old {
                    *current = None;
                    self.release(registry, token, old.fd);
                }
                if let Some(new) = new {
                    self.add(registry, token, new)?;
                    *current = Some(new);
                }
                Ok(())
            }
        }
    }

    /// Drops `token`'s registration, if it still owns the descriptor.
    pub(super) fn remove(
        &mut self,
        registry: &Registry,
        token: Token,
        current: &mut Option<Watch>,
    ) {
        if let Some(old) = current.take() {
            self.release(registry, token, old.fd);
        }
    }

    /// How many descriptors are registered.
    pub(super) fn len(&self) -> usize {
        self.owners.len()
    }

    fn release(&mut self, registry: &Registry, token: Token, fd: RawFd) {
        if self.owners.get(&fd) == Some(&token) {
            self.owners.remove(&fd);
            // Fails harmlessly (ENOENT/EBADF) when the descriptor was already closed.
            let _ = registry.deregister(&mut SourceFd(&fd));
        }
    }

    fn add(&mut self, registry: &Registry, token: Token, watch: Watch) -> io::Result<()> {
        match registry.register(&mut SourceFd(&watch.fd), token, watch.interest) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(libc::EEXIST) => {
                registry.reregister(&mut SourceFd(&watch.fd), token, watch.interest)?;
            }
            Err(e) => return Err(e),
        }
        self.owners.insert(watch.fd, token);
        Ok(())
    }

    fn modify(&mut self, registry: &Registry, token: Token, watch: Watch) -> io::Result<()> {
        match registry.reregister(&mut SourceFd(&watch.fd), token, watch.interest) {
            Ok(()) => {
                self.owners.insert(watch.fd, token);
                Ok(())
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) => self.add(registry, token, watch),
            Err(e) => Err(e),
        }
    }
}
