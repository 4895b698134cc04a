//! `qssl probe HOST:PORT`: which protocol versions (SSL 3.0 .. TLS 1.3) and which ciphers the
//! peer accepts, each next to this build's ability to speak it
//! (`SslSocket::is_protocol_supported`) and the reason when it cannot. Versions this build
//! cannot speak are still asked about, with a hand-made ClientHello (`rawhello`).

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use clap::Args;
use qsslsocket::{CipherTokenKind, PeerVerifyMode, SocketError, SslCipher, SslProtocol, SslSocket};

use crate::options::{
    CipherCheck, VERSIONS, check_cipher_string, parse_target, protocol_label, protocol_problem,
};
use crate::output::Json;
use crate::rawhello;
use crate::{Failure, Outcome};

#[derive(Args, Debug)]
pub(crate) struct ProbeArgs {
    /// The peer: HOST:PORT.
    #[arg(value_name = "HOST:PORT")]
    target: String,

    /// The name to send as SNI (default: HOST).
    #[arg(long, value_name = "NAME")]
    peer_name: Option<String>,

    /// The ciphers to try, as an OpenSSL cipher string (default: the default ciphers).
    #[arg(long, value_name = "STRING")]
    ciphers: Option<String>,

    /// Only the protocol versions, no ciphers.
    #[arg(long)]
    no_ciphers: bool,

    /// Bound for each attempt, in milliseconds (1 or more).
    #[arg(long, value_name = "MS", default_value_t = 5_000,
          value_parser = clap::value_parser!(u64).range(1..=i32::MAX as u64))]
    timeout: u64,
}

/// One connection attempt's outcome.
enum Tried {
    Accepted(String),
    Refused(String),
}

/// The peer cannot be reached at all.
struct Unreachable(String);

pub(crate) fn run(args: &ProbeArgs, json: bool) -> Outcome {
    let (host, port) = parse_target(&args.target)?;
    let report = match &args.ciphers {
        Some(ciphers) => Some(check_cipher_string(ciphers, CipherCheck::KnownNames)?),
        None => None,
    };
    let addresses: Vec<SocketAddr> = (host.as_str(), port)
        .to_socket_addrs()
        .map_err(|e| Failure::failed(format!("cannot resolve {host}: {e}")))?
        .collect();
    let timeout = Duration::from_millis(args.timeout);
    let unreachable =
        |u: Unreachable| Failure::failed(format!("cannot reach {host}:{port}: {}", u.0));
    if !json {
        outln!(
            "Probing {host}:{port} with {}",
            SslSocket::ssl_library_version_string()
        );
        outln!("  {:8} {:11} {:8} detail", "version", "this build", "peer");
    }

    let mut protocols = Vec::new();
    let mut accepted = Vec::new();
    for protocol in VERSIONS {
        let problem = protocol_problem(protocol);
        let (peer, method, detail) = match &problem {
            None => match attempt(args, &host, port, protocol, None).map_err(unreachable)? {
                Tried::Accepted(d) => (Some(true), "handshake", d),
                Tried::Refused(d) => (Some(false), "handshake", d),
            },
            Some(_) => match raw_version(protocol) {
                Some(version) => match rawhello::probe(&addresses, version, timeout) {
                    Ok(answer) => (
                        Some(answer.accepts(version)),
                        "client_hello",
                        answer.describe(),
                    ),
                    Err(e) => return Err(unreachable(Unreachable(e.to_string()))),
                },
                None => (
                    None,
                    "none",
                    "not tried: this build cannot speak it".to_owned(),
                ),
            },
        };
        if peer == Some(true) && problem.is_none() {
            accepted.push(protocol);
        }
        if !json {
            let peer_text = match peer {
                Some(true) => "accepts",
                Some(false) => "refuses",
                None => "unknown",
            };
            let build = if problem.is_none() {
                "can speak"
            } else {
                "cannot"
            };
            outln!(
                "  {:8} {build:11} {peer_text:8} {detail}",
                protocol_label(protocol)
            );
            if let Some(why) = &problem {
                outln!("  {:8} {:11} why: {why}", "", "");
            }
        }
        protocols.push(
            Json::obj()
                .with("protocol", protocol.name())
                .with("label", protocol_label(protocol))
                .with("build_supported", problem.is_none())
                .with("build_reason", problem.clone())
                .with("peer_accepts", peer)
                .with("method", method)
                .with("detail", detail),
        );
    }

    let mut ciphers = Vec::new();
    if !args.no_ciphers {
        let list = match &report {
            Some(report) => report.ciphers().to_vec(),
            None => SslSocket::default_ciphers(),
        };
        // Suites named in --ciphers that this build cannot offer, with the reason.
        let unavailable: Vec<(String, String)> = report
            .iter()
            .flat_map(|r| r.entries())
            .filter(|e| {
                !e.is_provided()
                    && matches!(e.kind, CipherTokenKind::Suite | CipherTokenKind::Tls13Suite)
            })
            .map(|e| (e.token.clone(), e.availability.to_string()))
            .collect();
        let best12 = [
            SslProtocol::TlsV1_2,
            SslProtocol::TlsV1_1,
            SslProtocol::TlsV1_0,
        ]
        .into_iter()
        .find(|p| accepted.contains(p));
        let tls13 = accepted
            .contains(&SslProtocol::TlsV1_3)
            .then_some(SslProtocol::TlsV1_3);
        if !json {
            outln!("Ciphers ({}):", list.len() + unavailable.len());
        }
        for (name, why) in &unavailable {
            if !json {
                outln!(
                    "  {:8} {name:36} this build cannot offer it: {why}",
                    "skipped"
                );
            }
            ciphers.push(
                Json::obj()
                    .with("name", name.as_str())
                    .with("build_supported", false)
                    .with("build_reason", why.as_str())
                    .with("over", Json::Null)
                    .with("accepted", Json::Null)
                    .with("detail", format!("this build cannot offer it: {why}")),
            );
        }
        for cipher in list {
            let over = match cipher.protocol() {
                SslProtocol::TlsV1_3 => tls13,
                SslProtocol::TlsV1_2 => best12.filter(|p| *p == SslProtocol::TlsV1_2),
                _ => best12,
            };
            let kx = cipher.key_exchange_method();
            let credentials = ["PSK", "SRP"].into_iter().find(|k| kx.contains(k));
            let (result, detail) = match (over, credentials) {
                (_, Some(kind)) => (
                    None,
                    format!("not tried: {kind} suites need credentials the probe does not have"),
                ),
                (None, _) => (
                    None,
                    format!(
                        "not tried: the peer accepts no protocol version this suite can use ({})",
                        cipher.protocol_string()
                    ),
                ),
                (Some(p), None) => {
                    match attempt(args, &host, port, p, Some(&cipher)).map_err(unreachable)? {
                        Tried::Accepted(d) => (Some(true), d),
                        Tried::Refused(d) => (Some(false), d),
                    }
                }
            };
            if !json {
                let mark = match result {
                    Some(true) => "accepted",
                    Some(false) => "refused",
                    None => "skipped",
                };
                outln!("  {mark:8} {:36} {detail}", cipher.name());
            }
            ciphers.push(
                Json::obj()
                    .with("name", cipher.name())
                    .with("build_supported", true)
                    .with("build_reason", Json::Null)
                    .with("over", over.map(|p| p.name()))
                    .with("accepted", result)
                    .with("detail", detail),
            );
        }
    }
    Ok(Some(
        Json::obj()
            .with("ok", true)
            .with(
                "target",
                Json::obj().with("host", host.as_str()).with("port", port),
            )
            .with("openssl", SslSocket::ssl_library_version_string())
            .with("protocols", protocols)
            .with("ciphers", ciphers),
    ))
}

/// The (major, minor) of the versions a hand-made ClientHello can ask about.
fn raw_version(protocol: SslProtocol) -> Option<(u8, u8)> {
    match protocol {
        SslProtocol::SslV3 => Some((3, 0)),
        SslProtocol::TlsV1_0 => Some((3, 1)),
        SslProtocol::TlsV1_1 => Some((3, 2)),
        _ => None,
    }
}

/// One handshake pinned to `protocol` (and `cipher`), verification off: does the peer agree?
fn attempt(
    args: &ProbeArgs,
    host: &str,
    port: u16,
    protocol: SslProtocol,
    cipher: Option<&SslCipher>,
) -> Result<Tried, Unreachable> {
    let mut socket = SslSocket::new();
    socket.set_protocol(protocol);
    socket.set_peer_verify_mode(PeerVerifyMode::VerifyNone);
    if let Some(cipher) = cipher {
        socket.set_ciphers(vec![cipher.clone()]);
    }
    match &args.peer_name {
        Some(name) => socket.connect_to_host_encrypted_with_peer_name(host, port, name),
        None => socket.connect_to_host_encrypted(host, port),
    }
    let msecs = i32::try_from(args.timeout).unwrap_or(i32::MAX);
    let encrypted = socket.wait_for_encrypted(msecs);
    let result = if encrypted {
        Ok(Tried::Accepted(format!(
            "{} {}",
            socket.session_protocol(),
            socket.session_cipher().name()
        )))
    } else {
        match socket.error() {
            SocketError::ConnectionRefusedError
            | SocketError::HostNotFoundError
            | SocketError::NetworkError
            | SocketError::SocketAddressNotAvailableError => {
                Err(Unreachable(socket.error_string()))
            }
            SocketError::SocketTimeoutError
                if socket.state() != qsslsocket::SocketState::ConnectedState =>
            {
                Err(Unreachable(socket.error_string()))
            }
            _ => Ok(Tried::Refused(socket.error_string())),
        }
    };
    socket.abort();
    result
}
