//! `qssl demo`: the crate's main job in one run, with no network and no files. An `SslServer`
//! on 127.0.0.1 with a certificate minted now; a client that does not trust it (Qt's
//! `sslErrors`: exactly `SelfSignedCertificate`); a second client that ignores exactly that
//! error for exactly that certificate (`ignore_ssl_errors_list`) and gets an echo. Everything
//! runs on one thread in one `EventLoop`, so signals print in the order they fire.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use clap::Args;
use qsslsocket::{
    ByteTotals, EventLoop, ServerId, SocketId, SocketState, SslConfiguration, SslError,
    SslErrorKind, SslServer, SslSocket,
};

use crate::mint;
use crate::output::{Events, Json};
use crate::session::Snapshot;
use crate::show::{cert_json, cert_text, error_json, printable, totals_json, totals_text};
use crate::trace::trace;
use crate::util::{bound_echo, echo, lock, peer_text};
use crate::{Failure, Outcome};

/// `demo` takes no arguments (only the global `--json`).
#[derive(Args, Debug)]
pub(crate) struct DemoArgs {}

const MESSAGE: &[u8] = b"hello from the qssl demo\n";
/// Bound for each step on loopback.
const STEP_MS: i32 = 5_000;

#[derive(Debug, Default)]
struct Shared {
    echoed: Vec<u8>,
    server_totals: Vec<ByteTotals>,
}

pub(crate) fn run(_args: &DemoArgs, json: bool) -> Outcome {
    let start = Instant::now();
    let events = Events::new(json);
    let minted = mint::self_signed("localhost").map_err(Failure::failed)?;
    events
        .note("qssl demo: a local SslServer, a client that does not trust it, then one that does.");
    events.note(format!(
        "Minted a self-signed certificate (EC P-256, SAN DNS:localhost, IP:127.0.0.1, IP:::1):\n{}",
        cert_text(&minted.certificate, "    ")
    ));

    let mut event_loop = EventLoop::try_new()
        .map_err(|e| Failure::failed(format!("cannot create an event loop: {e}")))?;
    let shared = Arc::new(Mutex::new(Shared::default()));
    let mut config = SslConfiguration::default_configuration();
    config.set_local_certificate(minted.certificate.clone());
    config.set_private_key(minted.key.clone());
    let mut server = SslServer::new();
    server.set_ssl_configuration(config);
    serve_echo(&mut server, &events, &shared);
    if !server.listen(IpAddr::V4(Ipv4Addr::LOCALHOST), 0) {
        return Err(Failure::failed(format!(
            "the demo server cannot listen on 127.0.0.1: {}",
            server.error_string()
        )));
    }
    let port = server.server_port();
    let server_id = event_loop.add_server(server);
    events.note(format!("SslServer listening on 127.0.0.1:{port}\n"));

    // 1. A client with the default configuration: the system CAs do not know the certificate.
    events.note(
        "1) connect_to_host_encrypted(\"127.0.0.1\", port) without trusting the certificate:",
    );
    let first = attempt(&mut event_loop, server_id, port, &events, &shared, None);
    let first_kinds: Vec<SslErrorKind> = first.ssl_errors.iter().map(SslError::error).collect();
    for line in first.lines() {
        events.note(format!("   {line}"));
    }

    // 2. The same, ignoring exactly that error for exactly that certificate.
    let expected = SslError::new(
        SslErrorKind::SelfSignedCertificate,
        Some(minted.certificate.clone()),
    );
    events.note(
        "\n2) ignore_ssl_errors_list(&[SslError::new(SelfSignedCertificate, Some(minted))]), connect, echo:",
    );
    let second = attempt(
        &mut event_loop,
        server_id,
        port,
        &events,
        &shared,
        Some(expected),
    );
    let echoed = std::mem::take(&mut lock(&shared).echoed);
    for line in second.snapshot.lines() {
        events.note(format!("   {line}"));
    }
    events.note(format!(
        "   Echo: sent {:?}, received {:?}",
        printable(MESSAGE),
        printable(&echoed)
    ));
    let server_totals = lock(&shared)
        .server_totals
        .last()
        .copied()
        .unwrap_or_default();
    events.note(format!(
        "   Bytes (client, byte_totals()): {}",
        totals_text(&second.totals)
    ));
    events.note(format!(
        "   Bytes (server side):           {}",
        totals_text(&server_totals)
    ));
    let elapsed = start.elapsed();
    events.note(format!("\nDone in {} ms.", elapsed.as_millis()));

    let mut problems = Vec::new();
    if first_kinds != [SslErrorKind::SelfSignedCertificate] || first.encrypted {
        problems.push(format!(
            "the untrusting client saw {first_kinds:?} (expected exactly [SelfSignedCertificate] and a failed handshake)"
        ));
    }
    if !second.snapshot.encrypted || echoed != MESSAGE {
        problems.push(format!(
            "the second client did not get its echo ({})",
            second
                .snapshot
                .error_line()
                .unwrap_or_else(|| "no error".into())
        ));
    }
    let document = Json::obj()
        .with("ok", problems.is_empty())
        .with("elapsed_ms", elapsed.as_secs_f64() * 1000.0)
        .with(
            "server",
            Json::obj()
                .with("address", "127.0.0.1")
                .with("port", port)
                .with("certificate", cert_json(&minted.certificate)),
        )
        .with(
            "attempts",
            vec![
                attempt_json(&first, &[]),
                attempt_json(&second.snapshot, &[expected_json(&minted.certificate)]),
            ],
        )
        .with("session", second.snapshot.json())
        .with(
            "echo",
            Json::obj()
                .with("sent", printable(MESSAGE))
                .with("received", printable(&echoed)),
        )
        .with(
            "byte_totals",
            Json::obj()
                .with("client", totals_json(&second.totals))
                .with("server", totals_json(&server_totals)),
        )
        .with("events", events.take());
    if problems.is_empty() {
        Ok(Some(document))
    } else {
        Err(Failure::failed(problems.join("; ")).with_json(document))
    }
}

fn expected_json(cert: &qsslsocket::SslCertificate) -> Json {
    error_json(&SslError::new(
        SslErrorKind::SelfSignedCertificate,
        Some(cert.clone()),
    ))
}

fn attempt_json(s: &Snapshot, ignore_list: &[Json]) -> Json {
    Json::obj()
        .with("ignore_ssl_errors_list", ignore_list.to_vec())
        .with("encrypted", s.encrypted)
        .with(
            "ssl_errors",
            s.ssl_errors.iter().map(error_json).collect::<Vec<_>>(),
        )
        .with("verification_entries", s.entries_json())
        .with(
            "error",
            s.error_line().map(|_| {
                Json::obj()
                    .with("socket_error", s.error.name())
                    .with("text", s.error_string.as_str())
            }),
        )
}

/// The server's slots: trace each accepted socket and echo what it reads.
fn serve_echo(server: &mut SslServer, events: &Events, shared: &Arc<Mutex<Shared>>) {
    let ev = events.clone();
    let shared = shared.clone();
    server.on_new_connection(move |socket| {
        ev.signal("server", "new_connection", peer_text(socket));
        trace(socket, &ev, "server");
        bound_echo(socket);
        let ev2 = ev.clone();
        socket.on_ready_read(move |s| {
            let echoed = echo(s);
            ev2.signal("server", "ready_read", format!("{echoed} bytes, echoed"));
        });
        let shared = shared.clone();
        socket.on_disconnected(move |s| lock(&shared).server_totals.push(s.byte_totals()));
    });
}

/// The second attempt's results.
struct Echoed {
    snapshot: Snapshot,
    totals: ByteTotals,
}

impl std::ops::Deref for Echoed {
    type Target = Snapshot;
    fn deref(&self) -> &Snapshot {
        &self.snapshot
    }
}

/// One client connection; with `ignore`, it also sends MESSAGE and waits for the echo.
fn attempt(
    lp: &mut EventLoop,
    server_id: ServerId,
    port: u16,
    events: &Events,
    shared: &Arc<Mutex<Shared>>,
    ignore: Option<SslError>,
) -> Echoed {
    let mut socket = SslSocket::new();
    trace(&mut socket, events, "client");
    let echo = ignore.is_some();
    if let Some(expected) = &ignore {
        socket.ignore_ssl_errors_list(std::slice::from_ref(expected));
    }
    let ev = events.clone();
    let shared_ = shared.clone();
    socket.on_ready_read(move |s| {
        let data = s.read_all();
        ev.signal("client", "ready_read", format!("{:?}", printable(&data)));
        let mut shared = lock(&shared_);
        shared.echoed.extend_from_slice(&data);
        if shared.echoed.len() >= MESSAGE.len() {
            s.disconnect_from_host();
        }
    });
    socket.connect_to_host_encrypted("127.0.0.1", port);
    let id = lp.add_socket(socket);
    let unconnected = move |lp: &mut EventLoop| state(lp, id) == SocketState::UnconnectedState;
    lp.run_until(
        move |lp| unconnected(lp) || lp.socket(id).is_some_and(SslSocket::is_encrypted),
        STEP_MS,
    );
    let snapshot = lp.socket(id).map(Snapshot::take);
    if echo && lp.socket(id).is_some_and(SslSocket::is_encrypted) {
        if let Some(s) = lp.socket_mut(id) {
            s.write(MESSAGE);
        }
        lp.run_until(unconnected, STEP_MS);
    }
    if let Some(s) = lp.socket_mut(id) {
        s.abort();
    }
    // Let the server side finish too, so its signals print before the next step.
    lp.run_until(move |lp| lp.sockets_of(server_id).is_empty(), STEP_MS);
    let socket = lp.remove_socket(id);
    Echoed {
        snapshot: snapshot.unwrap_or_else(|| Snapshot::take(&SslSocket::new())),
        totals: socket.map(|s| s.byte_totals()).unwrap_or_default(),
    }
}

fn state(lp: &EventLoop, id: SocketId) -> SocketState {
    lp.socket(id)
        .map_or(SocketState::UnconnectedState, SslSocket::state)
}
