//! ALPN (`set_allowed_next_protocols`, `next_negotiated_protocol`,
//! `next_protocol_negotiation_status`) against peers on the `openssl` crate, as Qt 6 behaves
//! (checked with PyQt6 6.11 on this OpenSSL):
//! - a server picks the first protocol of the *client's* list that it allows (Qt hands the
//!   client's list to `SSL_select_next_proto` as the preferred one);
//! - a server whose client offers nothing it allows reports `NextProtocolNegotiationUnsupported`.
//!   Qt's server then answers with a protocol the client never offered and the client aborts;
//!   the crate answers without ALPN and the handshake goes on (README: differences from Qt);
//! - a client reports `NextProtocolNegotiationNone` whenever the server chose nothing.

mod common;

use std::net::TcpStream;

use common::interop::{STEP, STEP_MS, accept_within, crate_server_on, listener, trusting_client};
use common::peer::{PEER_TIMEOUT, Peer, acceptor, tls_accept};
use common::pki::pki;
use openssl::ssl::{AlpnError, SslConnector, SslMethod, SslVerifyMode};
use qsslsocket::*;

use NextProtocolNegotiationStatus::*;

/// ALPN wire format.
fn wire(protocols: &[&str]) -> Vec<u8> {
    protocols
        .iter()
        .flat_map(|p| std::iter::once(p.len() as u8).chain(p.bytes()))
        .collect()
}

fn owned(protocols: &[&str]) -> Vec<Vec<u8>> {
    protocols.iter().map(|p| p.as_bytes().to_vec()).collect()
}

/// A crate server allowing `server`, an `openssl` client offering `client`: what each side
/// reports, `(server's protocol, server's status, client's protocol)`.
fn crate_server(
    server: &[&str],
    client: &[&str],
) -> (String, NextProtocolNegotiationStatus, String) {
    let (l, port) = listener();
    let offer = wire(client);
    let peer = std::thread::spawn(move || {
        let tcp = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        tcp.set_read_timeout(Some(PEER_TIMEOUT)).expect("timeout");
        let mut b = SslConnector::builder(SslMethod::tls()).expect("connector");
        b.set_verify(SslVerifyMode::NONE);
        if !offer.is_empty() {
            b.set_alpn_protos(&offer).expect("ALPN list");
        }
        let tls = b
            .build()
            .connect("localhost", tcp)
            .expect("client handshake");
        let chosen = tls.ssl().selected_alpn_protocol().unwrap_or_default();
        String::from_utf8_lossy(chosen).into_owned()
    });
    let mut s = crate_server_on(accept_within(&l, STEP));
    let mut config = s.ssl_configuration();
    config.set_allowed_next_protocols(owned(server));
    s.set_ssl_configuration(config);
    s.start_server_encryption();
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    s.flush();
    let client_saw = peer.join().expect("client thread");
    let config = s.ssl_configuration();
    let protocol = String::from_utf8_lossy(&config.next_negotiated_protocol()).into_owned();
    (
        protocol,
        config.next_protocol_negotiation_status(),
        client_saw,
    )
}

/// The entries of an ALPN list in wire format.
fn entries(wire: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = wire;
    while let Some((&len, tail)) = rest.split_first() {
        let (entry, tail) = tail.split_at(usize::from(len).min(tail.len()));
        out.push(entry);
        rest = tail;
    }
    out
}

/// A crate client offering `client`, an `openssl` server choosing the first of `server` that the
/// client offers (the server's preference, as most servers do; nothing when they share nothing,
/// or when it has no list).
fn crate_client(server: &[&str], client: &[&str]) -> (String, NextProtocolNegotiationStatus) {
    let p = pki();
    let allowed = wire(server);
    let acc = acceptor(&p.leaf, &[&p.intermediate], move |b| {
        if !allowed.is_empty() {
            b.set_alpn_select_callback(move |_, offered| {
                let offered_entries = entries(offered);
                entries(&allowed)
                    .into_iter()
                    .find_map(|wanted| offered_entries.iter().copied().find(|o| *o == wanted))
                    .ok_or(AlpnError::NOACK)
            });
        }
    });
    let peer = Peer::spawn(move |tcp, log| {
        if let Some(mut tls) = tls_accept(&acc, tcp, log) {
            let _ = std::io::Read::read(&mut tls, &mut [0u8; 1]);
        }
    });
    let mut s = trusting_client();
    let mut config = s.ssl_configuration();
    config.set_allowed_next_protocols(owned(client));
    s.set_ssl_configuration(config);
    s.connect_to_host_encrypted("localhost", peer.port);
    assert!(s.wait_for_encrypted(STEP_MS), "{}", s.error_string());
    let config = s.ssl_configuration();
    let result = (
        String::from_utf8_lossy(&config.next_negotiated_protocol()).into_owned(),
        config.next_protocol_negotiation_status(),
    );
    s.disconnect_from_host();
    peer.join();
    result
}

#[test]
fn a_server_follows_the_clients_preference() {
    let got = crate_server(&["http/1.1", "h2"], &["h2", "http/1.1"]);
    assert_eq!(
        got,
        ("h2".into(), NextProtocolNegotiationNegotiated, "h2".into())
    );
    let got = crate_server(&["h2", "http/1.1"], &["http/1.1", "h2"]);
    assert_eq!(
        got,
        (
            "http/1.1".into(),
            NextProtocolNegotiationNegotiated,
            "http/1.1".into()
        )
    );
    // Entries Qt skips: empty, and longer than the 255 bytes a length byte can say.
    let long = "x".repeat(300);
    let got = crate_server(&["", long.as_str(), "h2"], &["h2"]);
    assert_eq!(
        got,
        ("h2".into(), NextProtocolNegotiationNegotiated, "h2".into())
    );
}

#[test]
fn a_server_with_nothing_in_common_goes_on_without_alpn() {
    let got = crate_server(&["h2"], &["spdy/3"]);
    assert_eq!(
        got,
        (
            String::new(),
            NextProtocolNegotiationUnsupported,
            String::new()
        )
    );
}

#[test]
fn no_alpn_on_either_side_is_none() {
    assert_eq!(
        crate_server(&[], &["h2"]),
        (String::new(), NextProtocolNegotiationNone, String::new())
    );
    assert_eq!(
        crate_server(&["h2"], &[]),
        (String::new(), NextProtocolNegotiationNone, String::new())
    );
}

#[test]
fn a_client_reports_what_the_server_chose() {
    assert_eq!(
        crate_client(&["http/1.1"], &["h2", "http/1.1"]),
        ("http/1.1".into(), NextProtocolNegotiationNegotiated)
    );
    // The server chose nothing: None on the client, as in Qt, whether or not it has a list.
    assert_eq!(
        crate_client(&["spdy/3"], &["h2"]),
        (String::new(), NextProtocolNegotiationNone)
    );
    assert_eq!(
        crate_client(&[], &["h2"]),
        (String::new(), NextProtocolNegotiationNone)
    );
    assert_eq!(
        crate_client(&["h2"], &[]),
        (String::new(), NextProtocolNegotiationNone)
    );
}
