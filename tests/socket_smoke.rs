mod common;

use common::peer::{Peer, acceptor, echo_lines, tls_accept};
use common::pki::pki;
use common::recorder::{Recorder, qt_signals};
use qsslsocket::*;

#[test]
fn valid_chain_echo_matches_qt() {
    let p = pki();
    let acc = acceptor(&p.leaf, &[&p.intermediate], |_| {});
    let peer = Peer::spawn(move |tcp, log| {
        if let Some(s) = tls_accept(&acc, tcp, log) {
            echo_lines(s, log);
        }
    });
    let mut socket = SslSocket::new();
    socket.set_ca_certificates(vec![p.root.certificate()]);
    let rec = Recorder::attach(&mut socket);
    socket.on_encrypted(|s| {
        s.write(b"hello\n");
    });
    socket.on_ready_read(|s| {
        if s.can_read_line() && s.read_line().starts_with(b"echo:") {
            s.disconnect_from_host();
        }
    });
    socket.connect_to_host_encrypted("localhost", peer.port);
    assert!(
        socket.wait_for_disconnected(5000),
        "{}",
        socket.error_string()
    );
    let log = peer.join();
    eprintln!("{:?}", log.events);
    assert_eq!(rec.signals(), qt_signals("a_valid_chain"));
}
