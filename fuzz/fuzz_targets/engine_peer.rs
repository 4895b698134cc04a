//! What a peer sends, as the engine meets it: a client that has sent its ClientHello and
//! verifies the server (so a replayed server flight with mutated certificates reaches the verify
//! callback and the mapping of its errors), or a server reading a ClientHello. Never panics; a
//! failure stays the same on every later call (checked inside `consume`).
//!
//! Input layout: `flags (1 byte) | chunk (1 byte) | bytes from the peer`. `flags & 1`: the
//! server side, else the client. The bytes arrive in pieces of `chunk + 1` bytes (255: at once).
#![no_main]

use std::time::SystemTime;

use libfuzzer_sys::fuzz_target;
use qsslsocket::fuzzing::{Side, consume};

mod common;

fuzz_target!(|input: &[u8]| {
    let [flags, chunk, data @ ..] = input else {
        return;
    };
    let (server, client) = common::configs();
    let chunk = if *chunk == 255 {
        usize::MAX
    } else {
        usize::from(*chunk) + 1
    };
    if flags & 1 == 1 {
        consume(server, Side::Server, data, chunk, SystemTime::now());
    } else {
        consume(client, Side::Client, data, chunk, SystemTime::now());
    }
});
