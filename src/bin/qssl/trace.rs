//! Slots that report a socket's signals to an [`Events`] log as they fire.

use qsslsocket::SslSocket;

use crate::output::Events;
use crate::show::dn;

/// Connects a reporting slot to each of `socket`'s signals except the data ones (`ready_read`,
/// `bytes_written`, `encrypted_bytes_written`), with `who` as the side ("client", "server").
/// Slots connected afterwards run after these, so a later `ssl_errors` slot that ignores
/// errors is reported after the errors themselves.
pub(crate) fn trace(socket: &mut SslSocket, events: &Events, who: &'static str) {
    let ev = events.clone();
    socket.on_state_changed(move |_, state| ev.signal(who, "state_changed", state.name()));
    let ev = events.clone();
    socket.on_host_found(move |_| ev.signal(who, "host_found", ""));
    let ev = events.clone();
    socket.on_connected(move |_| ev.signal(who, "connected", ""));
    let ev = events.clone();
    socket.on_mode_changed(move |_, mode| ev.signal(who, "mode_changed", mode.name()));
    let ev = events.clone();
    socket.on_peer_verify_error(move |_, e| {
        let subject = e.certificate().map(|c| format!(" [{}]", dn(&c, false)));
        ev.signal(
            who,
            "peer_verify_error",
            format!("{}{}", e.error(), subject.unwrap_or_default()),
        );
    });
    let ev = events.clone();
    socket.on_ssl_errors(move |_, errors| {
        let kinds: Vec<&str> = errors.iter().map(|e| e.error().name()).collect();
        ev.signal(who, "ssl_errors", kinds.join(", "));
    });
    let ev = events.clone();
    socket.on_encrypted(move |s| {
        let cipher = s.session_cipher();
        ev.signal(
            who,
            "encrypted",
            format!("{} {}", s.session_protocol(), cipher.name()),
        );
    });
    let ev = events.clone();
    socket.on_error_occurred(move |s, e| {
        ev.signal(who, "error_occurred", format!("{e}: {}", s.error_string()));
    });
    let ev = events.clone();
    socket.on_disconnected(move |_| ev.signal(who, "disconnected", ""));
}
