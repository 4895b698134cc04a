//! The handshake as the socket sees it (Qt 6 `TlsCryptographOpenSSL::startHandshake` and
//! `checkSslErrors`): each step's new verification errors become `peer_verify_error`; at the end
//! the peer's chain is stored, the blacklist and host-name checks run, `ssl_errors` is emitted
//! once in Qt's order, and the verify mode plus the ignore rules decide between `encrypted` and
//! `SslHandshakeFailedError`. The policy itself lives in `crate::verification`.

use crate::engine::Failure;
use crate::verification::{
    AnchorSource, Findings, RawChainError, VerificationReport, collect, decide,
    hashed_directory_of, matches_host, verification_required,
};
use crate::{PauseMode, SocketError, SslCertificate, SslMode, SslOption};

use super::SslSocket;

impl SslSocket {
    /// Advances the handshake. Returns whether anything happened.
    ///
    /// The step's slots (`peer_verify_error`, `ssl_errors`, `error_occurred`) may drive the
    /// socket (`flush()`, `wait_for_*`): such a nested drive does not step the handshake again
    /// (it would complete it on a partial error list and report it twice).
    pub(super) fn step_handshake(&mut self) -> bool {
        if self.handshake_step == Some(self.generation) {
            return false;
        }
        let Some(engine) = self.engine.as_mut() else {
            return false;
        };
        let result = engine.handshake();
        let found = engine.take_verify_errors();
        let progressed = !found.is_empty();
        // All of this step's errors are recorded before the first is reported.
        let first_new = self.chain_errors.len();
        self.chain_errors.extend(found);
        let new_errors: Vec<_> = self.chain_errors[first_new..]
            .iter()
            .filter_map(RawChainError::to_entry)
            .collect();
        self.in_handshake_step(|s| {
            let generation = s.generation;
            for entry in &new_errors {
                s.emit_peer_verify_error(&entry.error);
                if s.generation != generation {
                    return true;
                }
            }
            match result {
                Ok(false) => progressed,
                Ok(true) => {
                    s.handshake_finished();
                    true
                }
                Err(failure) => {
                    s.handshake_failed(failure);
                    true
                }
            }
        })
    }

    /// Runs `f` as part of a handshake step or decision of the current connection (see
    /// `step_handshake`). A connection started from one of its slots is not affected.
    fn in_handshake_step<R>(&mut self, f: impl FnOnce(&mut SslSocket) -> R) -> R {
        let outer = self.handshake_step.replace(self.generation);
        let r = f(self);
        self.handshake_step = outer;
        r
    }

    /// The OpenSSL handshake completed: Qt's post-handshake checks.
    fn handshake_finished(&mut self) {
        let Some(engine) = self.engine.as_ref() else {
            return;
        };
        let peer_certificate = engine.peer_certificate();
        let peer_chain = engine.peer_certificate_chain();
        let verified_chain = engine.verified_chain();
        self.config.session.peer_certificate = peer_certificate.clone();
        self.config.session.peer_certificate_chain = peer_chain.clone();
        self.config.session.session_cipher = engine.session_cipher();
        self.config.session.session_protocol = engine.session_protocol();
        self.config.session.next_negotiated_protocol = engine.negotiated_protocol();
        self.config.session.next_protocol_negotiation_status = engine.negotiation_status();
        self.session_resumed = engine.session_reused();

        let host_name_matches = self.mode != SslMode::SslClientMode
            || peer_certificate.is_null()
            || matches_host(
                &peer_certificate,
                &self.verification_name(),
                self.config
                    .test_ssl_option(SslOption::QtCompatibleHostNameMatching),
            );
        let blacklisted: Vec<bool> = peer_chain
            .iter()
            .map(SslCertificate::is_blacklisted)
            .collect();
        let collected = collect(&Findings {
            mode: self.mode,
            verify_mode: self.config.peer_verify_mode,
            peer_chain: &peer_chain,
            peer_certificate: (!peer_certificate.is_null()).then_some(&peer_certificate),
            chain_errors: &self.chain_errors,
            host_name_matches,
            blacklisted: &blacklisted,
        });
        // Chain errors were emitted as they were found; the blacklist and identity errors are
        // emitted now, as in Qt.
        let already = self
            .chain_errors
            .iter()
            .filter_map(RawChainError::to_entry)
            .count();
        let late: Vec<_> = collected
            .emission_order()
            .into_iter()
            .skip(already)
            .collect();
        self.ssl_errors = collected.errors();
        let (anchor, source) = verified_chain
            .last()
            .and_then(|last| Some((last.clone(), self.trust_anchor_source(last)?)))
            .unzip();
        let mut report = VerificationReport::from_collected(collected.clone());
        report.set_chain(verified_chain, anchor, source);
        self.report = Some(report);
        self.collected = Some(collected);

        let generation = self.generation;
        for error in &late {
            self.emit_peer_verify_error(error);
            if self.generation != generation {
                return;
            }
        }
        if !self.ssl_errors.is_empty() {
            let errors = self.ssl_errors.clone();
            self.emit_ssl_errors(&errors);
            if self.generation != generation {
                return;
            }
        }
        self.apply_verification_decision(true);
    }

    /// Qt's `checkSslErrors` decision, right after `ssl_errors` or at `resume()`.
    fn apply_verification_decision(&mut self, may_pause: bool) {
        let Some(collected) = self.collected.as_ref() else {
            return;
        };
        let required = verification_required(self.mode, self.config.peer_verify_mode);
        let decision = decide(collected, required, self.ignore_all, &self.ignore_list);
        if let Some(report) = self.report.as_mut() {
            report.apply(&decision);
        }
        if !decision.fatal {
            self.finish_encrypted();
            return;
        }
        if may_pause && self.pause_mode == PauseMode::PauseOnSslErrors {
            self.paused = true;
            return;
        }
        self.fail_verification();
    }

    /// Qt 5+: continues a handshake paused after `ssl_errors` (`PauseOnSslErrors`). As in Qt the
    /// call is queued: when the socket is next driven, the handshake completes if the errors are
    /// ignored by then, and fails otherwise.
    pub fn resume(&mut self) {
        if self.paused {
            self.paused = false;
            self.resume_requested = true;
        }
    }

    /// Runs a queued `resume()` (at the start of a drive).
    pub(super) fn run_queued_resume(&mut self) {
        if std::mem::take(&mut self.resume_requested) {
            self.in_handshake_step(|s| s.apply_verification_decision(false));
        }
    }

    fn finish_encrypted(&mut self) {
        self.encrypted = true;
        self.send_deferred = true;
        self.keep_new_session();
        let generation = self.generation;
        self.emit_encrypted();
        if self.generation != generation {
            return;
        }
        self.send_handshake_tail();
        if self.pending_close && self.write_buf.is_empty() {
            self.pending_close = false;
            self.begin_close();
        }
    }

    /// Verification errors not ignored: Qt reports the first error's text, then closes TCP
    /// gracefully without sending the rest of the handshake.
    fn fail_verification(&mut self) {
        let text = self
            .ssl_errors
            .first()
            .map(|e| e.error_string())
            .unwrap_or_default();
        let generation = self.generation;
        self.set_error_and_emit(SocketError::SslHandshakeFailedError, text);
        if self.generation != generation {
            return;
        }
        if let Some(engine) = self.engine.as_mut() {
            let pending = engine.outgoing().len();
            engine.consume_outgoing(pending);
        }
        self.close_tcp_gracefully();
    }

    /// OpenSSL failed the handshake: report its reasons, send its alert, abort.
    fn handshake_failed(&mut self, failure: Failure) {
        let generation = self.generation;
        self.set_error_and_emit(
            SocketError::SslHandshakeFailedError,
            format!("Error during SSL handshake: {}", failure.reasons),
        );
        if self.generation != generation {
            return;
        }
        self.abort_after_error();
    }

    /// Where `cert` (the end of the built chain) came from if it is in this socket's trust
    /// store, for the audit record: a file, a CA certificate of the configuration (`Added`; see
    /// `verification_report` for the default store's), or a hashed system directory, which is
    /// looked at once per handshake and only when the certificate is not a configured CA.
    fn trust_anchor_source(&self, cert: &SslCertificate) -> Option<AnchorSource> {
        let listed = self.config.ca_certificates.contains(cert);
        let hashed_dir = if listed {
            None
        } else if self.config.allows_on_demand_roots() {
            Some(hashed_directory_of(
                cert,
                crate::defaults::on_demand_root_dirs(),
            )?)
        } else {
            return None;
        };
        if let Some(path) = self.config.ca_files.get(cert) {
            return Some(AnchorSource::File(path.clone()));
        }
        match hashed_dir {
            Some(dir) => Some(AnchorSource::HashedDirectory(dir)),
            None if listed => Some(AnchorSource::Added),
            None => None,
        }
    }
}
