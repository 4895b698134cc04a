//! Host-name lookups off the driving thread, so that an event loop never blocks on DNS.
//!
//! Like Qt's `QHostInfo` (a `QThreadPool` of at most 20 threads), lookups run on a small
//! process-wide pool: a burst of connections by name costs at most `MAX_THREADS` resolver
//! threads, not one thread each, and a thread that stays idle for `IDLE_EXPIRY` ends. The answer
//! comes back over a channel, and one byte on a socket pair wakes whoever polls the socket
//! (`wait_for_*`, `EventLoop`). A lookup given up before it started (the socket was aborted or
//! dropped) is skipped, as Qt skips aborted lookups.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, PoisonError, mpsc};
use std::time::Duration;

/// At most this many names are resolved at once; further lookups wait in line (Qt: 20).
pub(super) const MAX_THREADS: usize = 20;
/// A resolver thread with nothing to do for this long ends (QThreadPool's default expiry).
const IDLE_EXPIRY: Duration = Duration::from_secs(30);

type Answer = io::Result<Vec<SocketAddr>>;

/// A lookup in progress, as the socket holds it; `fd()` becomes readable when it is done.
#[derive(Debug)]
pub(super) struct Lookup {
    answer: mpsc::Receiver<Answer>,
    wake: UnixStream,
    abandoned: Arc<AtomicBool>,
}

impl Lookup {
    /// Queues the lookup of `host` (addresses with `port`) on the resolver pool.
    pub(super) fn start(host: &str, port: u16) -> io::Result<Lookup> {
        let (wake, notify) = UnixStream::pair()?;
        wake.set_nonblocking(true)?;
        let (reply, answer) = mpsc::channel();
        let abandoned = Arc::new(AtomicBool::new(false));
        pool().submit(Job {
            host: host.to_owned(),
            port,
            reply,
            notify,
            abandoned: abandoned.clone(),
        })?;
        Ok(Lookup {
            answer,
            wake,
            abandoned,
        })
    }

    /// Readable once the answer is in.
    pub(super) fn fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    /// The answer, once there is one.
    pub(super) fn poll(&self) -> Option<Answer> {
        match self.answer.try_recv() {
            Ok(r) => Some(r),
            Err(mpsc::TryRecvError::Empty) => None,
            Err(mpsc::TryRecvError::Disconnected) => {
                Some(Err(io::Error::other("the lookup ended without an answer")))
            }
        }
    }
}

impl Drop for Lookup {
    fn drop(&mut self) {
        self.abandoned.store(true, Ordering::Relaxed);
    }
}

struct Job {
    host: String,
    port: u16,
    reply: mpsc::Sender<Answer>,
    notify: UnixStream,
    abandoned: Arc<AtomicBool>,
}

impl Job {
    fn run(self) {
        if self.abandoned.load(Ordering::Relaxed) {
            return;
        }
        let answer = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map(Iterator::collect);
        // The socket may have given up meanwhile; then nobody is waiting.
        let _ = self.reply.send(answer);
        let _ = (&self.notify).write(&[1]);
    }
}

#[derive(Default)]
struct Queue {
    jobs: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

#[derive(Default)]
struct Pool {
    queue: Mutex<Queue>,
    work: Condvar,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(Pool::default)
}

impl Pool {
    /// A lookup's thread panicking cannot leave the queue inconsistent (nothing runs under the
    /// lock but queue operations), so a poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `job`, starting a thread if every running one is busy and the limit allows. Fails
    /// only if no thread runs and none can be started.
    fn submit(&'static self, job: Job) -> io::Result<()> {
        let mut queue = self.lock();
        queue.jobs.push_back(job);
        if queue.jobs.len() <= queue.idle || queue.threads >= MAX_THREADS {
            self.work.notify_one();
            return Ok(());
        }
        let spawned = std::thread::Builder::new()
            .name("qsslsocket-lookup".into())
            .spawn(move || self.serve());
        match spawned {
            Ok(_) => {
                queue.threads += 1;
                Ok(())
            }
            // The running threads get to it in turn.
            Err(_) if queue.threads > 0 => Ok(()),
            Err(e) => {
                queue.jobs.pop_back();
                Err(e)
            }
        }
    }

    /// A resolver thread: runs queued jobs until it has been idle for `IDLE_EXPIRY`.
    fn serve(&self) {
        let mut queue = self.lock();
        loop {
            if let Some(job) = queue.jobs.pop_front() {
                drop(queue);
                job.run();
                queue = self.lock();
                continue;
            }
            queue.idle += 1;
            let (guard, waited) = self
                .work
                .wait_timeout(queue, IDLE_EXPIRY)
                .unwrap_or_else(PoisonError::into_inner);
            queue = guard;
            queue.idle -= 1;
            if waited.timed_out() && queue.jobs.is_empty() {
                queue.threads -= 1;
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ffi::poll::{PollFd, poll};
    use std::time::Instant;

    /// Resolver threads alive in this process (the kernel keeps 15 bytes of a thread's name).
    fn resolver_threads() -> usize {
        std::fs::read_dir("/proc/self/task")
            .expect("/proc/self/task")
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim_end() == "qsslsocket-look")
            .count()
    }

    fn wait(lookup: &Lookup) -> Answer {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(answer) = lookup.poll() {
                return answer;
            }
            assert!(Instant::now() < deadline, "lookup did not finish");
            let mut fd = [PollFd::new(lookup.fd(), true, false)];
            poll(&mut fd, Some(Duration::from_millis(100))).expect("poll");
        }
    }

    #[test]
    fn a_burst_of_lookups_shares_a_bounded_pool() {
        let lookups: Vec<Lookup> = (0..3 * MAX_THREADS)
            .map(|_| Lookup::start("localhost", 443).expect("queued"))
            .collect();
        // A new thread names itself once it runs: wait (bounded) until one has.
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut running = resolver_threads();
        while running == 0 && Instant::now() < deadline {
            std::thread::yield_now();
            running = resolver_threads();
        }
        assert!(
            (1..=MAX_THREADS).contains(&running),
            "{running} resolver threads for {} lookups",
            lookups.len()
        );
        for lookup in &lookups {
            let addresses = wait(lookup).expect("localhost resolves");
            assert!(
                addresses
                    .iter()
                    .all(|a| a.ip().is_loopback() && a.port() == 443),
                "{addresses:?}"
            );
            assert!(!addresses.is_empty());
        }
        // Idle threads stay for the next burst rather than ending with their job.
        assert!((1..=MAX_THREADS).contains(&resolver_threads()));
    }

    #[test]
    fn an_unknown_name_is_an_error_and_a_given_up_lookup_is_harmless() {
        drop(Lookup::start("localhost", 1).expect("queued"));
        let lookup = Lookup::start("no-such-host.invalid", 443).expect("queued");
        let answer = wait(&lookup);
        assert!(answer.as_ref().map_or(true, Vec::is_empty), "{answer:?}");
    }
}
