//! Lingering close: after our FIN, a closed TCP socket must keep reading for a while.
//!
//! On Linux, data that reaches a closed descriptor (or is unread when it is closed) is answered
//! with a reset, and a reset throws away whatever of our own data the kernel had not sent yet.
//! A peer that writes late (a TLS 1.3 server sends its session tickets when it sees our Finished,
//! which goes out with our first data) would then lose the tail of what we sent before
//! `disconnect_from_host`. So a gracefully closed socket is handed to one process-wide thread
//! that reads and discards until the peer closes, stays silent for `IDLE`, or `MAX` passes
//! (the scheme of nginx's `lingering_close`). The socket object itself is done at once, as in Qt.

use std::collections::VecDeque;
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use crate::ffi::poll::{PollFd, poll};

use super::tcp::{ReadResult, Tcp};

/// Close a lingering socket when the peer has said nothing for this long...
const IDLE: Duration = Duration::from_secs(5);
/// ...or after this long in any case.
const MAX: Duration = Duration::from_secs(30);
/// More lingering sockets than this are closed at once, oldest first (a bound on resources).
const LIMIT: usize = 4096;

struct Reaper {
    sender: Mutex<Sender<Tcp>>,
    wake: UnixStream,
}

/// Hands a socket whose write side is shut down to the lingering thread. Never blocks.
pub(super) fn linger(tcp: Tcp) {
    static REAPER: OnceLock<Option<Reaper>> = OnceLock::new();
    let reaper = REAPER.get_or_init(start);
    match reaper {
        Some(r) => {
            let sent = r
                .sender
                .lock()
                .map(|s| s.send(tcp).is_ok())
                .unwrap_or(false);
            if sent {
                // A full wake pipe already has a wake-up pending.
                let _ = (&r.wake).write(&[1]);
            }
        }
        // No thread could be started: close now, as before.
        None => drop(tcp),
    }
}

fn start() -> Option<Reaper> {
    let (wake, wakee) = UnixStream::pair().ok()?;
    wake.set_nonblocking(true).ok()?;
    wakee.set_nonblocking(true).ok()?;
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("qsslsocket-linger".into())
        .spawn(move || run(receiver, wakee))
        .ok()?;
    Some(Reaper {
        sender: Mutex::new(sender),
        wake,
    })
}

struct Lingering {
    tcp: Tcp,
    started: Instant,
    last_data: Instant,
}

fn run(receiver: Receiver<Tcp>, wakee: UnixStream) {
    let mut sockets: VecDeque<Lingering> = VecDeque::new();
    let mut scratch = vec![0u8; 16 * 1024];
    loop {
        while let Ok(tcp) = receiver.try_recv() {
            let now = Instant::now();
            sockets.push_back(Lingering {
                tcp,
                started: now,
                last_data: now,
            });
            if sockets.len() > LIMIT {
                sockets.pop_front();
            }
        }
        let now = Instant::now();
        sockets.retain(|s| now < s.started + MAX && now < s.last_data + IDLE);
        let next_deadline = sockets
            .iter()
            .map(|s| (s.started + MAX).min(s.last_data + IDLE))
            .min();
        let mut fds: Vec<PollFd> = std::iter::once(PollFd::new(wakee.as_raw_fd(), true, false))
            .chain(sockets.iter().map(|s| PollFd::new(s.tcp.fd(), true, false)))
            .collect();
        let timeout = next_deadline.map(|d| d.saturating_duration_since(now));
        if poll(&mut fds, timeout).is_err() {
            continue;
        }
        if fds[0].readable || fds[0].hangup {
            let mut drain = [0u8; 64];
            while matches!(std::io::Read::read(&mut &wakee, &mut drain), Ok(n) if n > 0) {}
        }
        let now = Instant::now();
        let mut finished = vec![false; sockets.len()];
        for (i, (socket, fd)) in sockets.iter_mut().zip(&fds[1..]).enumerate() {
            if !(fd.readable || fd.hangup) {
                continue;
            }
            loop {
                match socket.tcp.read(&mut scratch) {
                    ReadResult::Data(_) => socket.last_data = now,
                    ReadResult::WouldBlock => break,
                    ReadResult::Eof | ReadResult::Error(_) => {
                        finished[i] = true;
                        break;
                    }
                }
            }
        }
        let mut i = 0;
        sockets.retain(|_| {
            let keep = !finished[i];
            i += 1;
            keep
        });
    }
}
