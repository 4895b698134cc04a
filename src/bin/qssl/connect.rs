//! `qssl connect HOST:PORT`: one client connection in an `EventLoop`, every signal shown as it
//! fires, then the handshake as Qt reports it (errors with depth and subject, from
//! `verification_report()`), the session, the peer's chain, and optionally a request.

use std::io::IsTerminal;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::Args;
use qsslsocket::{EventLoop, PeerVerifyMode, SocketState, SslConfiguration, SslMode, SslSocket};

use crate::options::{Ignore, TlsArgs, parse_ignore, parse_target, parse_verify, unescape};
use crate::output::{Events, Json};
use crate::session::Snapshot;
use crate::show::{printable, totals_json, totals_text};
use crate::starttls::{Dialog, Starttls, Step};
use crate::util::lock;
use crate::{Failure, Outcome};

#[derive(Args, Debug)]
pub(crate) struct ConnectArgs {
    /// Where to connect: HOST:PORT (an IPv6 address in brackets: `[::1]:4433`).
    #[arg(value_name = "HOST:PORT")]
    target: String,

    #[command(flatten)]
    tls: TlsArgs,

    /// The name to check the certificate against and to send as SNI (default: HOST).
    #[arg(long, value_name = "NAME")]
    peer_name: Option<String>,

    /// Peer verify mode: none, query, peer or auto (Qt's default; `peer` for a client).
    #[arg(long, value_name = "MODE", value_parser = parse_verify)]
    verify: Option<PeerVerifyMode>,

    /// Ignore this kind of SSL error (an SslErrorKind name such as SelfSignedCertificate, or
    /// `all`). Repeatable. The handshake continues only if every error reported is ignored.
    #[arg(long, value_name = "KIND", value_parser = parse_ignore)]
    ignore: Vec<Ignore>,

    /// Plain-text upgrade before the handshake.
    #[arg(long, value_enum, value_name = "PROTOCOL")]
    starttls: Option<Starttls>,

    /// Send TEXT once encrypted (escapes: \n \r \t \\), then show what comes back.
    #[arg(long, value_name = "TEXT")]
    send: Option<String>,

    /// Give up after this many milliseconds (connection and handshake; 1 or more).
    #[arg(long, value_name = "MS", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(1..=i32::MAX as u64))]
    timeout: u64,

    /// After --send: stop reading once the peer has been quiet this many milliseconds (0: do
    /// not wait for a reply).
    #[arg(long, value_name = "MS", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(0..=i32::MAX as u64))]
    wait_reply: u64,
}

/// What the slots share with the driver.
#[derive(Debug, Default)]
struct Shared {
    received: Vec<u8>,
    last_data: Option<Instant>,
    dialog: Option<Dialog>,
    starttls_error: Option<String>,
    /// The peer once connected: the socket forgets it after `disconnected`, as Qt's does, and a
    /// failed handshake still reports where it went.
    peer: Option<(IpAddr, u16)>,
}

pub(crate) fn run(args: &ConnectArgs, json: bool) -> Outcome {
    let (host, port) = parse_target(&args.target)?;
    let mut config = SslConfiguration::default_configuration();
    args.tls.apply(&mut config)?;
    if let Some(mode) = args.verify {
        config.set_peer_verify_mode(mode);
    }
    let send = args.send.as_deref().map(unescape);
    let mut event_loop = EventLoop::try_new()
        .map_err(|e| Failure::failed(format!("cannot create an event loop: {e}")))?;

    let events = Events::new(json);
    let shared = Arc::new(Mutex::new(Shared {
        dialog: args.starttls.map(Dialog::new),
        ..Shared::default()
    }));
    let mut socket = SslSocket::new();
    socket.set_ssl_configuration(config);
    connect_slots(&mut socket, &events, &shared, &args.ignore);
    if let Some(name) = &args.peer_name {
        socket.set_peer_verify_name(name);
    }
    match (args.starttls, &args.peer_name) {
        (Some(_), _) => socket.connect_to_host(&host, port),
        (None, Some(name)) => socket.connect_to_host_encrypted_with_peer_name(&host, port, name),
        (None, None) => socket.connect_to_host_encrypted(&host, port),
    }
    let id = event_loop.add_socket(socket);
    let progress = Progress::new(!json, &args.target);
    progress.update(
        event_loop.socket(id).map(SslSocket::state),
        event_loop.socket(id).map(SslSocket::mode),
    );

    // Phase 1: until encrypted, failed, or out of time.
    let deadline = Instant::now() + Duration::from_millis(args.timeout);
    let settled = |lp: &mut EventLoop| {
        lp.socket(id)
            .is_none_or(|s| s.is_encrypted() || s.state() == SocketState::UnconnectedState)
    };
    let mut timed_out = false;
    while !event_loop.run_until(settled, 200) {
        let state = event_loop.socket(id).map(SslSocket::state);
        let mode = event_loop.socket(id).map(SslSocket::mode);
        progress.update(state, mode);
        if Instant::now() >= deadline {
            timed_out = true;
            if let Some(s) = event_loop.socket_mut(id) {
                s.abort();
            }
            break;
        }
    }
    progress.clear();
    let snapshot = event_loop.socket(id).map(Snapshot::take);
    let Some(mut snapshot) = snapshot else {
        return Err(Failure::failed("the socket left the event loop"));
    };
    if snapshot.peer.is_none() {
        snapshot.peer = lock(&shared).peer;
    }
    let starttls_error = lock(&shared).starttls_error.clone();
    if !json {
        for line in snapshot.lines() {
            outln!("{line}");
        }
    }

    // Phase 2: the request and its reply.
    let mut sent = 0;
    if let (true, Some(data)) = (snapshot.encrypted, &send) {
        if let Some(s) = event_loop.socket_mut(id) {
            sent = s.write(data).max(0);
        }
        lock(&shared).last_data = Some(Instant::now());
        // Until the peer has been quiet for --wait-reply, or closed, or --timeout passed.
        let quiet = Duration::from_millis(args.wait_reply);
        let reply_deadline = Instant::now() + Duration::from_millis(args.timeout);
        let unconnected = move |lp: &mut EventLoop| {
            lp.socket(id)
                .is_none_or(|s| s.state() == SocketState::UnconnectedState)
        };
        loop {
            let since = lock(&shared).last_data.map_or(quiet, |t| t.elapsed());
            let left = quiet
                .saturating_sub(since)
                .min(reply_deadline.saturating_duration_since(Instant::now()));
            if left.is_zero() || event_loop.run_until(unconnected, 0) {
                break;
            }
            event_loop.run_until(unconnected, left.as_millis().clamp(1, 60_000) as i32);
        }
    }

    // Phase 3: a clean close (bounded).
    if let Some(s) = event_loop.socket_mut(id) {
        if s.state() != SocketState::UnconnectedState {
            s.disconnect_from_host();
        }
    }
    let closed = |lp: &mut EventLoop| {
        lp.socket(id)
            .is_none_or(|s| s.state() == SocketState::UnconnectedState)
    };
    if !event_loop.run_until(closed, 2_000) {
        if let Some(s) = event_loop.socket_mut(id) {
            s.abort();
        }
    }
    let socket = event_loop.remove_socket(id);
    let totals = socket
        .as_ref()
        .map(SslSocket::byte_totals)
        .unwrap_or_default();
    let clean = socket.as_ref().and_then(SslSocket::peer_closed_cleanly);
    let received = std::mem::take(&mut lock(&shared).received);
    if !json {
        outln!("Bytes: {}", totals_text(&totals));
    }

    let failure = if let Some(e) = starttls_error {
        Some(e)
    } else if timed_out {
        Some(format!(
            "timed out after {} ms (raise --timeout)",
            args.timeout
        ))
    } else if !snapshot.encrypted {
        Some(match snapshot.error_line() {
            Some(line) if snapshot.error == qsslsocket::SocketError::SslHandshakeFailedError => {
                format!("handshake failed: {line}")
            }
            Some(line) => format!("connection to {host}:{port} failed: {line}"),
            None => "the connection closed before the handshake completed".to_owned(),
        })
    } else {
        None
    };
    let document = snapshot
        .json()
        .with("ok", failure.is_none())
        .with("target", Json::obj().with("host", host).with("port", port))
        .with(
            "starttls",
            args.starttls.map(|s| format!("{s:?}").to_lowercase()),
        )
        .with("events", events.take())
        .with("sent_bytes", sent)
        .with("received", printable(&received))
        .with("received_bytes", received.len())
        .with("byte_totals", totals_json(&totals))
        .with("peer_closed_cleanly", clean);
    match failure {
        Some(message) => Err(Failure::failed(message).with_json(document)),
        None => Ok(Some(document)),
    }
}

fn connect_slots(
    socket: &mut SslSocket,
    events: &Events,
    shared: &Arc<Mutex<Shared>>,
    ignore: &[Ignore],
) {
    crate::trace::trace(socket, events, "client");
    let ev = events.clone();
    let ignore = ignore.to_vec();
    socket.on_ssl_errors(move |s, errors| {
        if ignore.contains(&Ignore::All) {
            ev.note("           -> ignore_ssl_errors() (--ignore all)");
            s.ignore_ssl_errors();
        } else if !ignore.is_empty()
            && errors
                .iter()
                .all(|e| ignore.contains(&Ignore::Kind(e.error())))
        {
            ev.note("           -> ignore_ssl_errors_list(these errors) (--ignore)");
            s.ignore_ssl_errors_list(errors);
        }
    });
    let seen = shared.clone();
    socket.on_connected(move |s| {
        lock(&seen).peer = s.peer_address().map(|a| (a, s.peer_port()));
    });
    let ev = events.clone();
    let shared = shared.clone();
    socket.on_ready_read(move |s| {
        if s.mode() == SslMode::UnencryptedMode {
            plain_lines(s, &ev, &shared);
            return;
        }
        let data = s.read_all();
        ev.signal("client", "ready_read", format!("{} bytes", data.len()));
        for line in data.split_inclusive(|b| *b == b'\n') {
            ev.note(format!("           < {}", printable(line)));
        }
        let mut shared = lock(&shared);
        shared.received.extend_from_slice(&data);
        shared.last_data = Some(Instant::now());
    });
}

/// STARTTLS: the server's plain lines, answered by the dialog.
fn plain_lines(s: &mut SslSocket, ev: &Events, shared: &Mutex<Shared>) {
    while s.can_read_line() {
        let line = s.read_line();
        ev.signal(
            "client",
            "ready_read",
            format!("plain: {}", printable(&line)),
        );
        let step = match lock(shared).dialog.as_mut() {
            Some(dialog) => dialog.on_line(&line),
            None => Step::Wait,
        };
        match step {
            Step::Wait => {}
            Step::Send(command) => {
                ev.note(format!("           > {}", printable(command)));
                s.write(command);
            }
            Step::StartTls => {
                ev.note("           -> start_client_encryption()");
                s.start_client_encryption();
                return;
            }
            Step::Fail(why) => {
                lock(shared).starttls_error = Some(why);
                s.abort();
                return;
            }
        }
    }
}

/// The progress line on stderr (rewritten in place on a terminal, one line per change
/// otherwise).
struct Progress {
    enabled: bool,
    tty: bool,
    target: String,
    start: Instant,
    last: Mutex<String>,
}

impl Progress {
    fn new(enabled: bool, target: &str) -> Progress {
        Progress {
            enabled,
            tty: std::io::stderr().is_terminal(),
            target: target.to_owned(),
            start: Instant::now(),
            last: Mutex::new(String::new()),
        }
    }

    fn update(&self, state: Option<SocketState>, mode: Option<SslMode>) {
        if !self.enabled {
            return;
        }
        let what = match (state, mode) {
            (Some(SocketState::ConnectedState), Some(SslMode::SslClientMode)) => "handshaking",
            (Some(SocketState::ConnectedState), _) => "STARTTLS exchange",
            (Some(SocketState::HostLookupState), _) => "looking up the host",
            (Some(SocketState::ConnectingState), _) => "connecting",
            _ => "waiting",
        };
        let line = format!("qssl: {what} ({})...", self.target);
        let mut last = lock(&self.last);
        if self.tty {
            err!("\r\x1b[K{line} {:.1} s", self.start.elapsed().as_secs_f64());
        } else if *last != line {
            errln!("{line}");
        }
        *last = line;
    }

    fn clear(&self) {
        if self.enabled && self.tty && !lock(&self.last).is_empty() {
            err!("\r\x1b[K");
        }
    }
}
