//! A client and a server engine in conversation, in memory, as the input scripts it: writes,
//! reads of any size, partial deliveries, close_notify, cut streams, buffer releases and altered
//! bytes, in any order. Each side must read only what the other wrote, in order and unaltered,
//! close_notify only after all of it, and everything once all is delivered (checked inside
//! `converse`, which `src/engine/conversation.rs` also runs as a property test).
//!
//! Input layout: `version (1 byte) | (operation, argument)*`. `version & 1`: TLS 1.3, else 1.2.
#![no_main]

use std::sync::OnceLock;
use std::time::SystemTime;

use libfuzzer_sys::fuzz_target;
use qsslsocket::fuzzing::converse;
use qsslsocket::{SslConfiguration, SslProtocol};

mod common;

/// (server, client) for TLS 1.2 and for TLS 1.3.
fn versions() -> &'static [(SslConfiguration, SslConfiguration); 2] {
    static VERSIONS: OnceLock<[(SslConfiguration, SslConfiguration); 2]> = OnceLock::new();
    VERSIONS.get_or_init(|| {
        [SslProtocol::TlsV1_2, SslProtocol::TlsV1_3].map(|protocol| {
            let (mut server, mut client) = common::configs().clone();
            server.set_protocol(protocol);
            client.set_protocol(protocol);
            (server, client)
        })
    })
}

fuzz_target!(|input: &[u8]| {
    let [version, ops @ ..] = input else {
        return;
    };
    let (server, client) = &versions()[usize::from(version & 1)];
    converse(client, server, ops, SystemTime::now());
});
