//! What the `engine_peer` fuzz target drives (feature `fuzzing` only; not a supported API):
//! a fresh client or server engine fed whatever a peer might send.

use std::time::SystemTime;

use super::{Engine, ReadOutcome, Role, Setup, context};
use crate::SslConfiguration;

/// Which engine meets the input.
#[derive(Clone, Copy, Debug)]
pub enum Side {
    /// A client that sent its ClientHello, verifies the peer and collects every error.
    Client,
    /// A server with `config`'s certificate and key.
    Server,
}

/// Feeds `input` to a new engine of `side` in pieces of `chunk` bytes (at least 1), stepping
/// the handshake and, once it is done, reading and writing plaintext after each piece, as the
/// socket's pump does, and maps the verification errors to Qt's as the socket does. Checks the
/// engine's contract on the way: a failure is sticky. `now` decides which CA certificates have
/// expired (a context leaves those out, as Qt's does). Returns whether the handshake completed.
pub fn consume(
    config: &SslConfiguration,
    side: Side,
    input: &[u8],
    chunk: usize,
    now: SystemTime,
) -> bool {
    let role = match side {
        Side::Client => Role::Client,
        Side::Server => Role::Server,
    };
    let Ok(context) = context::shared_context(config, role, now) else {
        return false;
    };
    let setup = Setup {
        server_name: matches!(side, Side::Client).then(|| "localhost".to_owned()),
        verify_peer: matches!(side, Side::Client),
        ..Setup::default()
    };
    let Ok(mut engine) = Engine::new(context, role, setup) else {
        return false;
    };
    let _ = engine.handshake();
    let hello = engine.outgoing().len();
    engine.consume_outgoing(hello);
    let mut plaintext = [0u8; 4096];
    for piece in input.chunks(chunk.max(1)) {
        engine.handle_ciphertext(piece);
        let result = engine.handshake();
        for error in engine.take_verify_errors() {
            let _ = error.to_entry();
        }
        if let Err(failure) = &result {
            assert_eq!(
                engine.handshake().as_ref(),
                Err(failure),
                "failures are sticky"
            );
            assert!(matches!(
                engine.read_plaintext(&mut plaintext),
                ReadOutcome::Failed(_)
            ));
            return false;
        }
        if result == Ok(true) {
            let _ = (engine.peer_certificate(), engine.peer_certificate_chain());
            let _ = (engine.verified_chain(), engine.session_cipher());
            let _ = (engine.session_protocol(), engine.negotiated_protocol());
            while let ReadOutcome::Data(_) = engine.read_plaintext(&mut plaintext) {}
            let _ = engine.write_plaintext(b"reply");
        }
        let sent = engine.outgoing().len();
        engine.consume_outgoing(sent);
        engine.release_buffers();
    }
    engine.handle_transport_eof();
    let done = engine.handshake() == Ok(true);
    let _ = engine.read_plaintext(&mut plaintext);
    done
}
