//! Two engines in conversation, driven by a script of operations: the `engine_pair` fuzz target's
//! body, and a property test. Whatever the order of writes, reads of any size, partial
//! deliveries, close_notify, transport ends, buffer releases and altered bytes, each side reads
//! only what the other wrote, in order and unaltered; close_notify comes after all of it; and
//! once everything is delivered, everything has been read.

use std::time::SystemTime;

use super::{Engine, ReadOutcome, Role, Setup, context};
use crate::SslConfiguration;

/// Byte `i` of what side `s` writes, so that a reader can tell a moved or altered byte.
fn pattern(side: usize, i: u64) -> u8 {
    (i.wrapping_mul(31).wrapping_add(side as u64 * 101) % 251) as u8
}

/// One end of the conversation and what it did.
struct End {
    engine: Engine,
    done: bool,
    /// Plaintext the engine took for sending.
    written: u64,
    /// Plaintext read from the other end.
    read: u64,
    /// `written` when close_notify went out.
    closed_at: Option<u64>,
    /// This end's outgoing stream was cut short: the other end got end of stream.
    cut: bool,
    /// A byte of this end's outgoing stream was altered on the way.
    tampered: bool,
}

/// Runs `ops` (pairs of bytes: operation, argument) on a client and a server engine made from
/// `client` and `server` (the server's certificate is not verified), checking the invariants
/// above with assertions. Returns whether both handshakes completed.
#[cfg_attr(not(feature = "fuzzing"), allow(unreachable_pub))]
pub fn converse(
    client: &SslConfiguration,
    server: &SslConfiguration,
    ops: &[u8],
    now: SystemTime,
) -> bool {
    let (Ok(client_ctx), Ok(server_ctx)) = (
        context::shared_context(client, Role::Client, now),
        context::shared_context(server, Role::Server, now),
    ) else {
        return false;
    };
    let setup = Setup {
        server_name: Some("localhost".to_owned()),
        ..Setup::default()
    };
    let (Ok(c), Ok(s)) = (
        Engine::new(client_ctx, Role::Client, setup),
        Engine::new(server_ctx, Role::Server, Setup::default()),
    ) else {
        return false;
    };
    let mut ends = [End::new(c), End::new(s)];
    step_handshakes(&mut ends);
    for op in ops.chunks(2) {
        let (code, arg) = (op[0], op.get(1).copied().unwrap_or(0));
        let side = usize::from(code / 8 % 2);
        match code % 8 {
            0 => write(&mut ends, side, usize::from(arg) * 80),
            1 => deliver(&mut ends, side, usize::from(arg) * 40, None),
            2 => {
                read(&mut ends, side, usize::from(arg) * 64 + 1);
            }
            3 => {
                if ends[side].engine.shutdown() {
                    ends[side].closed_at = Some(ends[side].written);
                }
            }
            4 => {
                if !ends[side].cut {
                    ends[side].cut = true;
                    ends[1 - side].engine.handle_transport_eof();
                }
            }
            5 => ends[side].engine.release_buffers(),
            6 => deliver(&mut ends, side, usize::MAX, Some(usize::from(arg))),
            _ => {
                deliver(&mut ends, 0, usize::MAX, None);
                deliver(&mut ends, 1, usize::MAX, None);
            }
        }
        step_handshakes(&mut ends);
    }
    if !broken(&ends) {
        finish(&mut ends);
    }
    ends.iter().all(|e| e.done)
}

impl End {
    fn new(engine: Engine) -> End {
        End {
            engine,
            done: false,
            written: 0,
            read: 0,
            closed_at: None,
            cut: false,
            tampered: false,
        }
    }
}

/// Whether anything happened that may make an engine fail: a cut or altered stream.
fn broken(ends: &[End; 2]) -> bool {
    ends.iter().any(|e| e.cut || e.tampered)
}

fn step_handshakes(ends: &mut [End; 2]) {
    let broken = broken(ends);
    for end in ends.iter_mut() {
        if end.done || end.engine.failure().is_some() {
            continue;
        }
        match end.engine.handshake() {
            Ok(done) => end.done = done,
            Err(f) => assert!(broken, "a handshake failed on an intact stream: {f:?}"),
        }
    }
}

fn write(ends: &mut [End; 2], side: usize, len: usize) {
    let broken = broken(ends);
    let end = &mut ends[side];
    if !end.done || end.closed_at.is_some() || end.engine.failure().is_some() {
        return;
    }
    let data: Vec<u8> = (0..len as u64)
        .map(|i| pattern(side, end.written + i))
        .collect();
    match end.engine.write_plaintext(&data) {
        Ok(n) => {
            assert!(n == len, "memory buffers take every byte: {n} of {len}");
            end.written += n as u64;
        }
        Err(f) => assert!(broken, "a write failed on an intact stream: {f:?}"),
    }
}

/// Moves up to `limit` bytes of `side`'s ciphertext to the other end (none once `side`'s stream
/// was cut); with `flip`, the byte at `flip` (modulo what moves) arrives with its low bit flipped.
fn deliver(ends: &mut [End; 2], side: usize, limit: usize, flip: Option<usize>) {
    let mut bytes = ends[side].engine.outgoing().to_vec();
    bytes.truncate(limit);
    ends[side].engine.consume_outgoing(bytes.len());
    if ends[side].cut || bytes.is_empty() {
        return;
    }
    if let Some(at) = flip {
        let at = at % bytes.len();
        bytes[at] ^= 1;
        ends[side].tampered = true;
    }
    ends[1 - side].engine.handle_ciphertext(&bytes);
}

/// Reads into a buffer of `size` bytes on `side` and checks what comes out against what the other
/// end wrote. Returns whether plaintext came.
fn read(ends: &mut [End; 2], side: usize, size: usize) -> bool {
    if !ends[side].done {
        return false;
    }
    let broken = broken(ends);
    let [client, server] = ends;
    let (reader, writer) = if side == 0 {
        (client, &*server)
    } else {
        (server, &*client)
    };
    let mut buf = vec![0u8; size];
    match reader.engine.read_plaintext(&mut buf) {
        ReadOutcome::Data(n) => {
            for (i, byte) in buf[..n].iter().enumerate() {
                let at = reader.read + i as u64;
                assert!(
                    *byte == pattern(1 - side, at),
                    "byte {at} read by side {side} is not the one written"
                );
            }
            reader.read += n as u64;
            assert!(reader.read <= writer.written, "more read than written");
            n > 0
        }
        ReadOutcome::CloseNotify => {
            let closed_at = writer.closed_at.expect("close_notify read, none sent");
            assert_eq!(
                reader.read, closed_at,
                "close_notify before the data sent ahead of it"
            );
            false
        }
        ReadOutcome::Truncated => {
            assert!(
                writer.cut,
                "a truncation reported on a stream that was not cut"
            );
            false
        }
        ReadOutcome::Failed(f) => {
            assert!(broken, "a read failed on an intact stream: {f:?}");
            false
        }
        ReadOutcome::NeedInput => false,
    }
}

/// With both streams intact: delivers and reads until nothing moves, then checks that each end
/// read all the other wrote.
fn finish(ends: &mut [End; 2]) {
    for _ in 0..64 {
        let moved = !ends[0].engine.outgoing().is_empty() || !ends[1].engine.outgoing().is_empty();
        deliver(ends, 0, usize::MAX, None);
        deliver(ends, 1, usize::MAX, None);
        step_handshakes(ends);
        let mut got = false;
        for side in 0..2 {
            while read(ends, side, 64 * 1024) {
                got = true;
            }
        }
        if !moved && !got {
            break;
        }
    }
    assert!(
        ends.iter().all(|e| e.done),
        "handshakes incomplete with everything delivered"
    );
    for side in 0..2 {
        assert_eq!(
            ends[side].read,
            ends[1 - side].written,
            "side {side} did not read everything"
        );
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::converse;
    use crate::engine::probe::self_signed;
    use crate::{SslCertificate, SslConfiguration, SslKey, SslProtocol};

    /// 300 random scripts of 60 operations, per protocol version, from a fixed seed.
    #[test]
    fn every_script_keeps_both_streams_intact() {
        let (cert, key) = self_signed("conversation test").expect("certificate");
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut completed = 0;
        for protocol in [SslProtocol::TlsV1_2, SslProtocol::TlsV1_3] {
            let mut server = SslConfiguration::new();
            server.set_protocol(protocol);
            server.set_local_certificate(SslCertificate::from_x509(cert.clone()));
            server.set_private_key(SslKey::from_private_pkey(key.clone()));
            let mut client = SslConfiguration::new();
            client.set_protocol(protocol);
            for _ in 0..300 {
                let mut ops: Vec<u8> = (0..120)
                    .map(|_| {
                        seed ^= seed << 13;
                        seed ^= seed >> 7;
                        seed ^= seed << 17;
                        (seed >> 24) as u8
                    })
                    .collect();
                // Cuts and altered bytes one time in 16 (else most scripts break in the
                // handshake); the others become "deliver everything".
                for i in (0..ops.len()).step_by(2) {
                    if matches!(ops[i] % 8, 4 | 6) && ops[i + 1] % 16 != 0 {
                        ops[i] |= 7;
                    }
                }
                completed += usize::from(converse(&client, &server, &ops, UNIX_EPOCH));
            }
        }
        // Most scripts complete both handshakes; the rest cut or alter a flight first.
        assert!(
            completed > 200,
            "only {completed} of 600 handshakes completed"
        );
    }
}
