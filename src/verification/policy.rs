//! Qt's verification policy as pure functions: which errors a handshake reports, in which order
//! (`peerVerifyError` emissions and the `sslErrors` list), and whether they are fatal given the
//! verify mode and the ignore rules (Qt 6 `TlsCryptographOpenSSL::startHandshake`,
//! `checkSslErrors`, `QSslSocketPrivate::verifyErrorsHaveBeenIgnored`).

use libc::c_int;
use openssl::x509::X509StoreContextRef;

use super::report::{AuditEntry, IgnoreRule, VerificationReport};
use crate::error::kind_from_x509_code;
use crate::ffi::x509::{RawVerifyError, current_error};
use crate::{PeerVerifyMode, SslCertificate, SslError, SslErrorKind, SslMode};

/// One error as OpenSSL's verify callback reports it: the raw `X509_V_ERR_*` code, the depth,
/// and the certificate OpenSSL was looking at.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawChainError {
    pub(crate) code: c_int,
    pub(crate) depth: i32,
    pub(crate) certificate: Option<SslCertificate>,
}

impl From<RawVerifyError> for RawChainError {
    /// One error as the FFI layer's collecting verify callback records it.
    fn from((code, depth, certificate): RawVerifyError) -> RawChainError {
        RawChainError {
            code,
            depth,
            certificate: certificate.map(SslCertificate::from_x509),
        }
    }
}

impl RawChainError {
    /// The current error of a store context, for a verify callback (`ok == 0`).
    pub(crate) fn from_store_ctx(ctx: &X509StoreContextRef) -> RawChainError {
        current_error(ctx).into()
    }

    /// The error as Qt reports it (`openSSLErrorToQSslError`, through the crate's one code
    /// table); `None` for `X509_V_OK`. The certificate is the one OpenSSL reported, which is
    /// Qt's `peerCertificateChain[depth]` whenever the peer sent its chain in order; Qt gives a
    /// null certificate for a depth past the sent chain (a trust anchor from the store), the
    /// crate gives the anchor.
    pub(crate) fn to_entry(&self) -> Option<AuditEntry> {
        let kind = kind_from_x509_code(self.code);
        (kind != SslErrorKind::NoError).then(|| AuditEntry {
            error: SslError::new(kind, self.certificate.clone()),
            depth: self.depth,
            ignored_by: None,
        })
    }
}

/// Whether the verify mode makes errors fatal (Qt's `doVerifyPeer`): `VerifyPeer`, or
/// `AutoVerifyPeer` on a client.
pub(crate) fn verification_required(mode: SslMode, verify_mode: PeerVerifyMode) -> bool {
    verify_mode == PeerVerifyMode::VerifyPeer
        || (verify_mode == PeerVerifyMode::AutoVerifyPeer && mode == SslMode::SslClientMode)
}

/// What a finished handshake (or a stand-alone verification) found.
#[derive(Debug)]
pub(crate) struct Findings<'a> {
    /// Client or server.
    pub(crate) mode: SslMode,
    pub(crate) verify_mode: PeerVerifyMode,
    /// The peer's chain as Qt stores it (leaf first), checked for blacklisted certificates.
    pub(crate) peer_chain: &'a [SslCertificate],
    /// The peer's certificate; `None` when it sent none.
    pub(crate) peer_certificate: Option<&'a SslCertificate>,
    /// Errors from the verify callback, in the order OpenSSL found them. Ignored in
    /// `VerifyNone` mode (Qt installs no callback then).
    pub(crate) chain_errors: &'a [RawChainError],
    /// Result of the host-name check (only consulted for a client with a peer certificate).
    pub(crate) host_name_matches: bool,
    /// Which certificates of `peer_chain` are blacklisted (same length, or shorter = false).
    pub(crate) blacklisted: &'a [bool],
}

/// The errors of one handshake, in both of Qt's orders.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Collected {
    /// Every error in `peerVerifyError` emission order: chain errors, then blacklisted
    /// certificates, then `HostNameMismatch` (depth 0) or `NoPeerCertificate` (depth -1).
    pub(crate) entries: Vec<AuditEntry>,
    /// How many of `entries` (the first ones) are chain errors. The `sslErrors` list has the
    /// others first (blacklist, then host name / no certificate), then these.
    pub(crate) n_chain: usize,
}

impl Collected {
    /// The `sslErrors` list.
    pub(crate) fn errors(&self) -> Vec<SslError> {
        let (chain, rest) = self.entries.split_at(self.n_chain.min(self.entries.len()));
        rest.iter().chain(chain).map(|e| e.error.clone()).collect()
    }

    /// The `peerVerifyError` emissions, in order.
    pub(crate) fn emission_order(&self) -> Vec<SslError> {
        self.entries.iter().map(|e| e.error.clone()).collect()
    }
}

/// Collects the errors of a handshake in Qt's orders (Qt 6 `startHandshake`).
pub(crate) fn collect(findings: &Findings<'_>) -> Collected {
    let chain: Vec<AuditEntry> = if findings.verify_mode == PeerVerifyMode::VerifyNone {
        Vec::new()
    } else {
        findings
            .chain_errors
            .iter()
            .filter_map(RawChainError::to_entry)
            .collect()
    };
    let blacklist: Vec<AuditEntry> = findings
        .peer_chain
        .iter()
        .zip(findings.blacklisted.iter())
        .enumerate()
        .filter(|(_, (_, listed))| **listed)
        .map(|(depth, (cert, _))| AuditEntry {
            error: SslError::new(SslErrorKind::CertificateBlacklisted, Some(cert.clone())),
            depth: i32::try_from(depth).unwrap_or(i32::MAX),
            ignored_by: None,
        })
        .collect();
    let identity = match findings.peer_certificate {
        Some(cert) if findings.mode == SslMode::SslClientMode && !findings.host_name_matches => {
            Some(AuditEntry {
                error: SslError::new(SslErrorKind::HostNameMismatch, Some(cert.clone())),
                depth: 0,
                ignored_by: None,
            })
        }
        None if verification_required(findings.mode, findings.verify_mode) => Some(AuditEntry {
            error: SslError::new(SslErrorKind::NoPeerCertificate, None),
            depth: -1,
            ignored_by: None,
        }),
        _ => None,
    };
    let n_chain = chain.len();
    let mut entries = chain;
    entries.extend(blacklist);
    entries.extend(identity);
    Collected { entries, n_chain }
}

/// The outcome of Qt's post-handshake check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decision {
    /// Whether the handshake fails (`SslHandshakeFailedError`).
    pub(crate) fatal: bool,
    /// Per entry of [`Collected::entries`]: the rule that ignored it (all `None` when fatal).
    pub(crate) ignored_by: Vec<Option<IgnoreRule>>,
}

/// Qt's decision: with a non-empty ignore list every error must equal (kind and certificate)
/// some list entry, and the ignore-all flag is not consulted; with an empty list the flag
/// decides. Errors are fatal only when the verify mode requires verification. No errors: not
/// fatal.
pub(crate) fn decide(
    collected: &Collected,
    required: bool,
    ignore_all: bool,
    ignore_list: &[SslError],
) -> Decision {
    let n = collected.entries.len();
    if n == 0 {
        return Decision {
            fatal: false,
            ignored_by: Vec::new(),
        };
    }
    let list_hits: Vec<Option<usize>> = collected
        .entries
        .iter()
        .map(|e| ignore_list.iter().position(|x| *x == e.error))
        .collect();
    let ignored = if ignore_list.is_empty() {
        ignore_all
    } else {
        list_hits.iter().all(Option::is_some)
    };
    if !required {
        return Decision {
            fatal: false,
            ignored_by: vec![Some(IgnoreRule::VerifyMode); n],
        };
    }
    if !ignored {
        return Decision {
            fatal: true,
            ignored_by: vec![None; n],
        };
    }
    let ignored_by = if ignore_list.is_empty() {
        vec![Some(IgnoreRule::IgnoreAll); n]
    } else {
        list_hits
            .into_iter()
            .map(|hit| hit.map(IgnoreRule::ListEntry))
            .collect()
    };
    Decision {
        fatal: false,
        ignored_by,
    }
}

impl VerificationReport {
    /// A report from collected errors (no chain yet; see [`VerificationReport::set_chain`]).
    pub(crate) fn from_collected(collected: Collected) -> VerificationReport {
        VerificationReport {
            collected,
            ..Default::default()
        }
    }

    /// Records the built chain (leaf first), its trust anchor and where that came from.
    pub(crate) fn set_chain(
        &mut self,
        chain: Vec<SslCertificate>,
        anchor: Option<SslCertificate>,
        source: Option<super::AnchorSource>,
    ) {
        self.chain = chain;
        self.anchor = anchor;
        self.anchor_source = source;
    }

    /// Records which rule ignored each entry (after [`decide`]).
    pub(crate) fn apply(&mut self, decision: &Decision) {
        let entries = self.collected.entries.iter_mut();
        for (entry, rule) in entries.zip(decision.ignored_by.iter()) {
            entry.ignored_by = *rule;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openssl_sys as sys;

    fn raw(code: c_int, depth: i32) -> RawChainError {
        RawChainError {
            code,
            depth,
            certificate: None,
        }
    }

    fn kinds(errors: &[SslError]) -> Vec<SslErrorKind> {
        errors.iter().map(SslError::error).collect()
    }

    #[test]
    fn qt_orders_for_a_self_signed_wrong_host() {
        let chain_errors = [raw(sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, 0)];
        let c = collect(&Findings {
            mode: SslMode::SslClientMode,
            verify_mode: PeerVerifyMode::AutoVerifyPeer,
            peer_chain: &[],
            peer_certificate: None,
            chain_errors: &chain_errors,
            host_name_matches: false,
            blacklisted: &[],
        });
        // No peer certificate: NoPeerCertificate instead of a host check.
        use SslErrorKind::*;
        assert_eq!(
            kinds(&c.emission_order()),
            [SelfSignedCertificate, NoPeerCertificate]
        );
        assert_eq!(
            kinds(&c.errors()),
            [NoPeerCertificate, SelfSignedCertificate]
        );
        assert_eq!(c.entries[1].depth, -1);
    }

    #[test]
    fn verify_none_drops_chain_errors_and_never_fails() {
        let chain_errors = [raw(sys::X509_V_ERR_CERT_HAS_EXPIRED, 0)];
        let c = collect(&Findings {
            mode: SslMode::SslServerMode,
            verify_mode: PeerVerifyMode::VerifyNone,
            peer_chain: &[],
            peer_certificate: None,
            chain_errors: &chain_errors,
            host_name_matches: false,
            blacklisted: &[],
        });
        assert!(c.entries.is_empty());
        assert!(!decide(&c, false, false, &[]).fatal);
    }

    #[test]
    fn decision_rules() {
        let e = |k| AuditEntry {
            error: SslError::new(k, None),
            depth: 0,
            ignored_by: None,
        };
        let c = Collected {
            entries: vec![
                e(SslErrorKind::SelfSignedCertificate),
                e(SslErrorKind::HostNameMismatch),
            ],
            n_chain: 1,
        };
        let ss = SslError::new(SslErrorKind::SelfSignedCertificate, None);
        let hm = SslError::new(SslErrorKind::HostNameMismatch, None);
        assert!(decide(&c, true, false, &[]).fatal);
        let d = decide(&c, true, true, &[]);
        assert_eq!(d.ignored_by, [Some(IgnoreRule::IgnoreAll); 2]);
        // A list that misses one error is fatal even with the flag set.
        assert!(decide(&c, true, true, std::slice::from_ref(&ss)).fatal);
        let d = decide(&c, true, false, &[hm.clone(), ss.clone()]);
        assert!(!d.fatal);
        assert_eq!(
            d.ignored_by,
            [
                Some(IgnoreRule::ListEntry(1)),
                Some(IgnoreRule::ListEntry(0))
            ]
        );
        let d = decide(&c, false, false, &[]);
        assert!(!d.fatal);
        assert_eq!(d.ignored_by, [Some(IgnoreRule::VerifyMode); 2]);
        assert!(!decide(&Collected::default(), true, false, &[]).fatal);
    }

    #[test]
    fn required_modes() {
        use PeerVerifyMode::*;
        use SslMode::*;
        assert!(verification_required(SslClientMode, AutoVerifyPeer));
        assert!(!verification_required(SslServerMode, AutoVerifyPeer));
        assert!(verification_required(SslServerMode, VerifyPeer));
        assert!(!verification_required(SslClientMode, QueryPeer));
        assert!(!verification_required(SslClientMode, VerifyNone));
    }

    /// The recorded Qt 6.11 traces (shared/qtref): each scenario's findings give Qt's
    /// `peerVerifyError` emissions, `sslErrors` list and outcome.
    #[test]
    fn recorded_qt_traces() {
        use crate::verification::test_support::self_signed_ca;
        use PeerVerifyMode::*;
        use SslErrorKind::*;
        use SslMode::*;
        let cert = self_signed_ca("localhost");
        let chain = [cert.clone()];
        let self_signed = [RawChainError {
            code: sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
            depth: 0,
            certificate: Some(cert.clone()),
        }];
        let ss = SslError::new(SelfSignedCertificate, Some(cert.clone()));
        let hm = SslError::new(HostNameMismatch, Some(cert.clone()));
        let run = |mode,
                   verify_mode,
                   peer: Option<&SslCertificate>,
                   errors: &[RawChainError],
                   host_ok| {
            collect(&Findings {
                mode,
                verify_mode,
                peer_chain: if peer.is_some() { &chain } else { &[] },
                peer_certificate: peer,
                chain_errors: errors,
                host_name_matches: host_ok,
                blacklisted: &[false],
            })
        };
        let required = |mode, verify_mode| verification_required(mode, verify_mode);

        // b_selfsigned / b3: self-signed leaf for "localhost", client default mode, no ignore.
        let c = run(
            SslClientMode,
            AutoVerifyPeer,
            Some(&cert),
            &self_signed,
            true,
        );
        assert_eq!(c.emission_order(), std::slice::from_ref(&ss));
        assert_eq!(c.errors(), std::slice::from_ref(&ss));
        assert!(decide(&c, required(SslClientMode, AutoVerifyPeer), false, &[]).fatal);
        // c, c2, c3, d5: ignoreSslErrors() (in a slot, before resume, or right after connecting).
        let d = decide(&c, true, true, &[]);
        assert_eq!(
            (d.fatal, d.ignored_by.clone()),
            (false, vec![Some(IgnoreRule::IgnoreAll)])
        );
        // c4: resume() without ignoring.
        assert!(decide(&c, true, false, &[]).fatal);
        // d1: the exact error pre-ignored.
        let d = decide(&c, true, false, std::slice::from_ref(&ss));
        assert_eq!(
            (d.fatal, d.ignored_by),
            (false, vec![Some(IgnoreRule::ListEntry(0))])
        );
        // d3: right certificate, wrong kind.
        assert!(decide(&c, true, false, std::slice::from_ref(&hm)).fatal);
        // An entry without the certificate never matches (Qt's "SSL-failure-wrong-error").
        assert!(
            decide(
                &c,
                true,
                false,
                &[SslError::new(SelfSignedCertificate, None)]
            )
            .fatal
        );

        // e1 / e5: trusted chain, wrong name (or an IP without IP SAN).
        let c = run(SslClientMode, AutoVerifyPeer, Some(&cert), &[], false);
        assert_eq!(c.errors(), std::slice::from_ref(&hm));
        assert_eq!(c.entries[0].depth, 0);
        assert!(decide(&c, true, false, &[]).fatal);
        // e2 / e3: the peer name matches: nothing at all.
        let c = run(SslClientMode, AutoVerifyPeer, Some(&cert), &[], true);
        assert!(c.entries.is_empty() && !decide(&c, true, false, &[]).fatal);

        // Qt's S10/S17: self-signed and wrong name: emissions SelfSigned, HostNameMismatch; list
        // HostNameMismatch first; QueryPeer reports them without failing.
        let c = run(SslClientMode, QueryPeer, Some(&cert), &self_signed, false);
        assert_eq!(c.emission_order(), [ss.clone(), hm.clone()]);
        assert_eq!(c.errors(), [hm.clone(), ss.clone()]);
        let d = decide(&c, required(SslClientMode, QueryPeer), false, &[]);
        assert_eq!(
            (d.fatal, d.ignored_by),
            (false, vec![Some(IgnoreRule::VerifyMode); 2])
        );
        // S16: VerifyNone collects no chain errors but still reports the name.
        let c = run(SslClientMode, VerifyNone, Some(&cert), &self_signed, false);
        assert_eq!(c.errors(), [hm]);

        // k0: server, default mode, client sent no certificate: nothing.
        assert!(
            run(SslServerMode, AutoVerifyPeer, None, &[], false)
                .entries
                .is_empty()
        );
        // k1 / k1b: server VerifyPeer, no client certificate.
        let c = run(SslServerMode, VerifyPeer, None, &[], false);
        assert_eq!(c.errors(), [SslError::new(NoPeerCertificate, None)]);
        assert_eq!(c.entries[0].depth, -1);
        assert!(decide(&c, required(SslServerMode, VerifyPeer), false, &[]).fatal);
        // k3: server VerifyPeer, self-signed client certificate: no host check on a server.
        let c = run(SslServerMode, VerifyPeer, Some(&cert), &self_signed, false);
        assert_eq!(c.errors(), [ss]);
        assert!(decide(&c, true, false, &[]).fatal);
    }
}
