//! Lingering close: after our FIN, a closed TCP socket must keep reading for a while.
//!
//! On Linux, data that reaches a closed descriptor (or is unread when it is closed) is answered
//! with a reset, and a reset throws away whatever of our own data the kernel had not sent yet.
//! A peer that writes late (a TLS 1.3 server sends its session tickets when it sees our Finished,
//! which goes out with our first data) would then lose the tail of what we sent before
//! `disconnect_from_host`. So a gracefully closed socket is handed to one process-wide thread
//! that reads and discards until the peer closes, stays silent for `IDLE`, or `MAX` passes
//! (the scheme of nginx's `lingering_close`). The socket object itself is done at once, as in Qt.
//!
//! The thread looks at its sockets every `TICK` rather than being woken for each one: data that
//! arrives meanwhile waits in the still-open descriptor's receive queue, which provokes no reset.
//! A hand-off is then a channel send, with no system call and no context switch, which matters
//! for servers that close thousands of connections a second. With nothing lingering for
//! `STAY_AWAKE` the thread sleeps until the next hand-off (which then wakes it: a futex call and
//! a context switch, worth avoiding per connection while closes keep coming).

use std::collections::VecDeque;
use std::sync::OnceLock;
use std::sync::mpsc::{self, Receiver, Sender};
use std::time::{Duration, Instant};

use crate::ffi::poll::{PollFd, poll};

use super::tcp::{ReadResult, Tcp};

/// Close a lingering socket when the peer has said nothing for this long...
const IDLE: Duration = Duration::from_secs(5);
/// ...or after this long in any case.
const MAX: Duration = Duration::from_secs(30);
/// How often the lingering sockets are read (and closed once the peer has closed).
const TICK: Duration = Duration::from_millis(20);
/// How long the thread keeps ticking with nothing to watch before it sleeps until a hand-off.
const STAY_AWAKE: Duration = Duration::from_secs(1);
/// More lingering sockets than this are closed at once, oldest first (a bound on resources).
const LIMIT: usize = 4096;
/// At most this much is read from one socket per tick, so that a peer that keeps sending cannot
/// keep the thread from the other sockets (and from closing those whose time is up).
const TICK_BYTES: usize = 256 * 1024;

/// Hands a socket whose write side is shut down to the lingering thread. Never blocks.
pub(super) fn linger(tcp: Tcp) {
    static REAPER: OnceLock<Option<Sender<Tcp>>> = OnceLock::new();
    match REAPER.get_or_init(start) {
        // If the thread is gone the socket comes back in the error and is closed here.
        Some(sender) => drop(sender.send(tcp)),
        // No thread could be started: close now.
        None => drop(tcp),
    }
}

fn start() -> Option<Sender<Tcp>> {
    let (sender, receiver) = mpsc::channel();
    std::thread::Builder::new()
        .name("qsslsocket-linger".into())
        .spawn(move || run(receiver))
        .ok()?;
    Some(sender)
}

struct Lingering {
    tcp: Tcp,
    started: Instant,
    last_data: Instant,
}

fn run(receiver: Receiver<Tcp>) {
    let mut sockets: VecDeque<Lingering> = VecDeque::new();
    let mut scratch = vec![0u8; 16 * 1024];
    let mut fds = Vec::new();
    let mut last_busy = Instant::now();
    loop {
        if !sockets.is_empty() {
            last_busy = Instant::now();
        }
        if sockets.is_empty() && last_busy.elapsed() >= STAY_AWAKE {
            // Nothing to watch for a while: sleep until the next hand-off.
            let Ok(tcp) = receiver.recv() else { return };
            adopt(&mut sockets, tcp);
        } else {
            std::thread::sleep(TICK);
        }
        while let Ok(tcp) = receiver.try_recv() {
            adopt(&mut sockets, tcp);
        }
        read_and_reap(&mut sockets, &mut scratch, &mut fds);
    }
}

fn adopt(sockets: &mut VecDeque<Lingering>, tcp: Tcp) {
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

/// Reads whatever the sockets have (without waiting) and closes the ones whose peer closed or
/// whose time is up. `fds` is the poll list, kept between ticks.
fn read_and_reap(sockets: &mut VecDeque<Lingering>, scratch: &mut [u8], fds: &mut Vec<PollFd>) {
    fds.clear();
    fds.extend(sockets.iter().map(|s| PollFd::new(s.tcp.fd(), true, false)));
    if poll(fds, Some(Duration::ZERO)).is_err() {
        return;
    }
    let now = Instant::now();
    let mut polled = fds.iter();
    sockets.retain_mut(|socket| {
        let peer_done = polled.next().is_some_and(|fd| fd.readable || fd.hangup)
            && drain(socket, scratch, now).0;
        !(peer_done || now >= socket.started + MAX || now >= socket.last_data + IDLE)
    });
}

/// Reads and discards until the kernel has nothing more, or `TICK_BYTES`. Returns whether the
/// peer is done, and how much was read.
fn drain(socket: &mut Lingering, scratch: &mut [u8], now: Instant) -> (bool, usize) {
    let mut read = 0;
    while read < TICK_BYTES {
        match socket.tcp.read(scratch) {
            ReadResult::Data(n) => {
                socket.last_data = now;
                read += n;
            }
            ReadResult::WouldBlock => return (false, read),
            ReadResult::Eof | ReadResult::Error(_) => return (true, read),
        }
    }
    (false, read)
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::os::fd::OwnedFd;

    use super::*;

    /// A peer that keeps sending cannot hold the lingering thread: one tick reads at most
    /// `TICK_BYTES` from a socket (plus one scratch buffer).
    #[test]
    fn a_tick_reads_at_most_tick_bytes_from_one_socket() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut writer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (reader, _) = listener.accept().unwrap();
        reader.set_nonblocking(true).unwrap();
        let (tcp, _, _) = Tcp::adopt(OwnedFd::from(reader)).unwrap();
        // Fill the connection (both kernels' buffers) without reading.
        writer.set_nonblocking(true).unwrap();
        let chunk = vec![0u8; 64 * 1024];
        let mut queued = 0;
        loop {
            match writer.write(&chunk) {
                Ok(n) => queued += n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
        }
        assert!(queued > 2 * TICK_BYTES, "only {queued} bytes queued");
        let now = Instant::now();
        let mut socket = Lingering {
            tcp,
            started: now,
            last_data: now,
        };
        let mut scratch = vec![0u8; 16 * 1024];
        let (done, read) = drain(&mut socket, &mut scratch, now);
        assert!(!done);
        assert!(
            (TICK_BYTES..TICK_BYTES + scratch.len()).contains(&read),
            "read {read} of {queued}"
        );
    }
}
