//! What the linked OpenSSL can really do, found out once per process by running an in-memory
//! handshake between two engines pinned to each protocol (no network). Compile-time facts from
//! build.rs only say what is compiled in; the security level and the system's openssl.cnf decide
//! what actually handshakes.

use std::collections::HashMap;
use std::sync::Mutex;

use once_cell::sync::Lazy;
use openssl::pkey::{PKey, Private};
use openssl::x509::X509;

use crate::certificate::mint;
use crate::{SslCertificate, SslConfiguration, SslKey, SslProtocol};

use super::{Engine, Role, Setup, context};

/// Whether the SSLv3 method is compiled into the linked OpenSSL (`OPENSSL_NO_SSL3_METHOD`).
pub(crate) fn ssl3_compiled_in() -> bool {
    !cfg!(osslconf = "OPENSSL_NO_SSL3_METHOD")
}

static RESULTS: Lazy<Mutex<HashMap<SslProtocol, bool>>> = Lazy::new(Default::default);

/// Whether a client and a server both set to `protocol` complete a handshake with this OpenSSL.
/// Probed on first use, then cached for the process.
pub(crate) fn is_protocol_supported(protocol: SslProtocol) -> bool {
    if let Some(known) = RESULTS.lock().ok().and_then(|r| r.get(&protocol).copied()) {
        return known;
    }
    let supported = probe(protocol);
    if let Ok(mut results) = RESULTS.lock() {
        results.insert(protocol, supported);
    }
    supported
}

fn probe(protocol: SslProtocol) -> bool {
    if context::protocol_range(protocol).is_err() {
        return false;
    }
    let Some((cert, key)) = self_signed("qsslsocket protocol probe") else {
        return false;
    };
    let mut server_config = SslConfiguration::new();
    server_config.set_protocol(protocol);
    server_config.set_local_certificate(SslCertificate::from_x509(cert));
    server_config.set_private_key(SslKey::from_private_pkey(key));
    let mut client_config = SslConfiguration::new();
    client_config.set_protocol(protocol);
    client_config.allow_root_cert_on_demand_loading = false;
    // Built directly: a fresh certificate per probe means these never match another
    // configuration, so caching them would only push shared contexts out of the cache.
    let (Ok(server_ctx), Ok(client_ctx)) = (
        context::uncached_context(&server_config, Role::Server, std::time::UNIX_EPOCH),
        context::uncached_context(&client_config, Role::Client, std::time::UNIX_EPOCH),
    ) else {
        return false;
    };
    let (Ok(mut client), Ok(mut server)) = (
        Engine::new(client_ctx, Role::Client, Setup::default()),
        Engine::new(server_ctx, Role::Server, Setup::default()),
    ) else {
        return false;
    };
    handshake_in_memory(&mut client, &mut server)
}

/// Runs both engines until both finish the handshake, one fails, or nothing moves.
pub(crate) fn handshake_in_memory(client: &mut Engine, server: &mut Engine) -> bool {
    for _ in 0..32 {
        let c = client.handshake();
        shuttle(client, server);
        let s = server.handshake();
        shuttle(server, client);
        match (c, s) {
            (Err(_), _) | (_, Err(_)) => return false,
            (Ok(true), Ok(true)) => return true,
            _ => {}
        }
    }
    false
}

/// Moves everything `from` wants to send into `to`.
pub(crate) fn shuttle(from: &mut Engine, to: &mut Engine) {
    let out = from.outgoing().to_vec();
    from.consume_outgoing(out.len());
    to.handle_ciphertext(&out);
}

/// A throwaway self-signed P-256 certificate and key (no network, nothing written to disk).
pub(crate) fn self_signed(cn: &str) -> Option<(X509, PKey<Private>)> {
    let key = mint::p256_key().ok()?;
    let subject = mint::common_name(cn).ok()?;
    let cert = mint::self_signed(&subject, &key, 1, []).ok()?;
    Some((cert, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modern_protocols_handshake_and_impossible_ones_do_not() {
        assert!(is_protocol_supported(SslProtocol::TlsV1_2));
        assert!(is_protocol_supported(SslProtocol::TlsV1_3));
        assert!(is_protocol_supported(SslProtocol::SecureProtocols));
        assert!(!is_protocol_supported(SslProtocol::SslV2));
        assert!(!is_protocol_supported(SslProtocol::DtlsV1_2));
        assert!(!is_protocol_supported(SslProtocol::UnknownProtocol));
        assert_eq!(
            is_protocol_supported(SslProtocol::SslV3),
            ssl3_compiled_in() && probe(SslProtocol::SslV3)
        );
    }
}
