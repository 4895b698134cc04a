//! Collection of certificate-verification problems during the handshake, Qt's way
//! (`q_X509Callback`): every failed check is recorded with its depth and certificate, and the
//! callback returns "continue" so that the handshake completes and the socket decides afterwards
//! (peer verify mode, ignore rules, the `ssl_errors` slot).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use openssl::x509::X509StoreContextRef;

use crate::verification::RawChainError;

/// The list the verify callback appends to; shared between the callback (owned by OpenSSL's
/// SSL object) and the engine. One allocation, made only for connections that verify the peer.
#[derive(Clone, Debug)]
pub(crate) struct VerifyLog(Arc<Shared>);

#[derive(Debug)]
struct Shared {
    errors: Mutex<Vec<RawChainError>>,
    collecting: AtomicBool,
}

impl Default for VerifyLog {
    fn default() -> Self {
        VerifyLog(Arc::new(Shared {
            errors: Mutex::new(Vec::new()),
            collecting: AtomicBool::new(true),
        }))
    }
}

impl VerifyLog {
    /// The verify callback's body: record a failed check and let OpenSSL continue.
    pub(crate) fn record(&self, preverify_ok: bool, store: &mut X509StoreContextRef) -> bool {
        // After the initial handshake (a renegotiation inside SSL_read) Qt 6 records nothing.
        if !preverify_ok && self.0.collecting.load(Ordering::Relaxed) {
            let error = RawChainError::from_store_ctx(store);
            if let Ok(mut errors) = self.0.errors.lock() {
                errors.push(error);
            }
        }
        true
    }

    /// Everything recorded since the last call.
    pub(crate) fn take(&self) -> Vec<RawChainError> {
        self.0
            .errors
            .lock()
            .map(|mut e| std::mem::take(&mut *e))
            .unwrap_or_default()
    }

    /// Stops recording (the initial handshake is over).
    pub(crate) fn stop_collecting(&self) {
        self.0.collecting.store(false, Ordering::Relaxed);
    }
}
