//! `qssl serve`: an echo (or fixed-reply) TLS server, an `SslServer` in an `EventLoop`,
//! reporting each connection's handshake as it happens. With `--json`, one JSON object per line
//! (`listening`, `connection`, `ssl_errors`, `encrypted`, `closed`, and `dropped` for a connection
//! the server could not set up).
//!
//! The configuration is tried before listening (a server handshake started on a throw-away
//! loopback connection), so a certificate and key that do not match, say, stop `serve` at once
//! with the library's reason instead of failing every client.

use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::os::fd::IntoRawFd;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use clap::Args;
use qsslsocket::{
    EventLoop, OpenMode, PeerVerifyMode, SocketError, SocketState, SslConfiguration, SslServer,
    SslSocket,
};

use crate::mint;
use crate::options::{TlsArgs, parse_verify, unescape};
use crate::output::Json;
use crate::show::{cert_json, cipher_json, dn, error_json, totals_json, totals_text};
use crate::util::{bound_echo, close_when_peer_done, echo, lock, peer_text};
use crate::{Failure, Outcome};

#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    #[command(flatten)]
    tls: TlsArgs,

    /// Address to listen on.
    #[arg(long, value_name = "ADDRESS", default_value = "127.0.0.1")]
    listen: IpAddr,

    /// Port to listen on (0: any free port; the `listening` line says which).
    #[arg(long, value_name = "PORT", default_value_t = 4433)]
    port: u16,

    /// Ask clients for a certificate: peer (required and verified against --ca; the default
    /// when no MODE is given), query (requested, never fatal), none, auto.
    #[arg(long, value_name = "MODE", num_args = 0..=1, default_missing_value = "peer",
          value_parser = parse_verify)]
    verify_client: Option<PeerVerifyMode>,

    /// Instead of echoing: answer the first data a client sends with TEXT (escapes: \n \r \t
    /// \\), then close.
    #[arg(long, value_name = "TEXT")]
    reply: Option<String>,

    /// Exit after this many connections have ended (closed, failed, or dropped at set-up).
    #[arg(long, value_name = "N")]
    max_connections: Option<usize>,

    /// Write the server certificate (PEM) to FILE, e.g. for a client's --ca.
    #[arg(long, value_name = "FILE")]
    write_cert: Option<PathBuf>,

    /// Drop clients that have not finished the handshake after this many milliseconds (0: never).
    #[arg(long, value_name = "MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(i32).range(0..))]
    handshake_timeout: i32,
}

#[derive(Debug, Default)]
struct State {
    next_id: usize,
    ended: usize,
}

/// Prints one event: a JSON line, or a text line.
#[derive(Clone, Copy, Debug)]
struct Printer {
    json: bool,
}

impl Printer {
    fn event(&self, event: Json, text: impl FnOnce() -> String) {
        if self.json {
            outln!("{}", event.compact());
        } else {
            outln!("{}", text());
        }
    }
}

pub(crate) fn run(args: &ServeArgs, json: bool) -> Outcome {
    let mut config = SslConfiguration::default_configuration();
    args.tls.apply(&mut config)?;
    if args.tls.cert.is_none() {
        let minted = mint::self_signed("localhost").map_err(Failure::failed)?;
        config.set_local_certificate(minted.certificate);
        config.set_private_key(minted.key);
    }
    if let Some(mode) = args.verify_client {
        config.set_peer_verify_mode(mode);
    }
    if let Some(problem) = server_problem(&config) {
        return Err(Failure::input(format!(
            "this configuration cannot make a TLS server: {problem}"
        )));
    }
    let certificate = config.local_certificate();
    if let Some(path) = &args.write_cert {
        std::fs::write(path, certificate.to_pem())
            .map_err(|e| Failure::input(format!("cannot write {}: {e}", path.display())))?;
    }
    let printer = Printer { json };
    let state = Arc::new(Mutex::new(State::default()));
    let reply = args.reply.as_deref().map(unescape);

    let mut server = SslServer::new();
    server.set_ssl_configuration(config);
    server.set_handshake_timeout(args.handshake_timeout);
    let st = state.clone();
    server.on_new_connection(move |socket| accepted(socket, printer, &st, reply.clone()));
    let st = state.clone();
    server.on_error_occurred(move |socket, error| {
        // Errors of connections in the loop show in their `closed` line. One that never joined
        // the loop (no id) is a connection the server could not set up and dropped: this is the
        // only place it shows, and it ends like a closed one.
        if EventLoop::current_socket_id().is_some() {
            return;
        }
        let peer = peer_text(socket);
        printer.event(
            Json::obj()
                .with("event", "dropped")
                .with("peer", peer.as_str())
                .with(
                    "error",
                    Json::obj()
                        .with("socket_error", error.name())
                        .with("text", socket.error_string()),
                ),
            || {
                format!(
                    "connection from {peer} dropped: {error}: {}",
                    socket.error_string()
                )
            },
        );
        lock(&st).ended += 1;
    });
    if !server.listen(args.listen, args.port) {
        return Err(Failure::failed(format!(
            "cannot listen on {}:{}: {}",
            args.listen,
            args.port,
            server.error_string()
        )));
    }
    let port = server.server_port();
    printer.event(
        Json::obj()
            .with("event", "listening")
            .with("address", args.listen.to_string())
            .with("port", port)
            .with("certificate", cert_json(&certificate)),
        || {
            format!(
                "listening on {} port {port}; certificate {} (sha256 {})",
                args.listen,
                dn(&certificate, false),
                crate::show::colon_hex(&certificate.digest(qsslsocket::DigestAlgorithm::Sha256))
            )
        },
    );
    let mut event_loop = EventLoop::try_new()
        .map_err(|e| Failure::failed(format!("cannot create an event loop: {e}")))?;
    event_loop.add_server(server);
    match args.max_connections {
        Some(max) => {
            event_loop.run_until(move |_| lock(&state).ended >= max, -1);
        }
        None => event_loop.run(),
    }
    Ok(None)
}

/// Why `config` cannot make a TLS server (certificate and key that do not match, a protocol or
/// cipher list OpenSSL refuses), as the socket reports it; `None` if it can, or if no loopback
/// connection can be made to find out (then each connection reports it). Starts a server
/// handshake on a throw-away loopback connection: that builds the TLS context the server's
/// connections use, exactly as `SslServer` does for each client.
fn server_problem(config: &SslConfiguration) -> Option<String> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).ok()?;
    let _client = TcpStream::connect(listener.local_addr().ok()?).ok()?;
    let (accepted, _) = listener.accept().ok()?;
    let mut socket = SslSocket::new();
    socket.set_ssl_configuration(config.clone());
    if !socket.set_socket_descriptor(
        accepted.into_raw_fd(),
        SocketState::ConnectedState,
        OpenMode::ReadWrite,
    ) {
        return None;
    }
    socket.start_server_encryption();
    let problem = (socket.error() != SocketError::UnknownSocketError)
        .then(|| format!("{}: {}", socket.error(), socket.error_string()));
    socket.abort();
    problem
}

/// Per connection: what its slots share.
#[derive(Debug, Default)]
struct Conn {
    encrypted: bool,
    replied: bool,
}

fn accepted(
    socket: &mut SslSocket,
    printer: Printer,
    state: &Arc<Mutex<State>>,
    reply: Option<Vec<u8>>,
) {
    let id = {
        let mut s = lock(state);
        s.next_id += 1;
        s.next_id
    };
    let peer = peer_text(socket);
    printer.event(
        Json::obj()
            .with("event", "connection")
            .with("id", id)
            .with("peer", peer.as_str()),
        || format!("#{id} connection from {peer}"),
    );
    let conn = Arc::new(Mutex::new(Conn::default()));
    socket.on_ssl_errors(move |_, errors| {
        let list: Vec<Json> = errors.iter().map(error_json).collect();
        printer.event(
            Json::obj()
                .with("event", "ssl_errors")
                .with("id", id)
                .with("errors", list),
            || {
                let kinds: Vec<String> = errors
                    .iter()
                    .map(|e| match e.certificate() {
                        Some(c) => format!("{} [{}]", e.error(), dn(&c, false)),
                        None => e.error().to_string(),
                    })
                    .collect();
                format!("#{id} ssl_errors: {}", kinds.join(", "))
            },
        );
    });
    let c = conn.clone();
    socket.on_encrypted(move |s| {
        lock(&c).encrypted = true;
        let cipher = s.session_cipher();
        let client = s.peer_certificate();
        let client = (!client.is_null()).then(|| dn(&client, false));
        printer.event(
            Json::obj()
                .with("event", "encrypted")
                .with("id", id)
                .with("protocol", s.session_protocol().name())
                .with("cipher", cipher_json(&cipher))
                .with("client_certificate", client.clone()),
            || {
                format!(
                    "#{id} encrypted: {} {}; client certificate: {}",
                    s.session_protocol(),
                    cipher.name(),
                    client.as_deref().unwrap_or("none")
                )
            },
        );
    });
    if reply.is_none() {
        bound_echo(socket);
    }
    socket.on_error_occurred(|s, error| {
        if error == SocketError::RemoteHostClosedError {
            close_when_peer_done(s);
        }
    });
    let c = conn.clone();
    socket.on_ready_read(move |s| match &reply {
        None => {
            echo(s);
        }
        Some(text) => {
            s.read_all();
            let mut conn = lock(&c);
            if !conn.replied {
                conn.replied = true;
                s.write(text);
                s.disconnect_from_host();
            }
        }
    });
    let state = state.clone();
    socket.on_state_changed(move |s, new| {
        if new != SocketState::UnconnectedState {
            return;
        }
        let encrypted = lock(&conn).encrypted;
        let error = s.error();
        let totals = s.byte_totals();
        let failed = !encrypted;
        let error_json = (error != SocketError::UnknownSocketError).then(|| {
            Json::obj()
                .with("socket_error", error.name())
                .with("text", s.error_string())
        });
        printer.event(
            Json::obj()
                .with("event", "closed")
                .with("id", id)
                .with("handshake_ok", encrypted)
                .with("error", error_json)
                .with("peer_closed_cleanly", s.peer_closed_cleanly())
                .with("byte_totals", totals_json(&totals)),
            || match (failed, error) {
                (true, _) => format!("#{id} handshake failed: {error}: {}", s.error_string()),
                (false, SocketError::RemoteHostClosedError) => format!(
                    "#{id} closed by the client ({}); {}",
                    match s.peer_closed_cleanly() {
                        Some(true) => "close_notify",
                        Some(false) => "without close_notify",
                        None => "connection closed",
                    },
                    totals_text(&totals)
                ),
                (false, SocketError::UnknownSocketError) => {
                    format!("#{id} closed; {}", totals_text(&totals))
                }
                (false, _) => format!(
                    "#{id} closed ({error}: {}); {}",
                    s.error_string(),
                    totals_text(&totals)
                ),
            },
        );
        lock(&state).ended += 1;
    });
}
