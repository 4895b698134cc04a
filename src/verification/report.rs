//! The audit record of one verification: [`VerificationReport`], [`AuditEntry`],
//! [`IgnoreRule`] and [`AnchorSource`].

use std::path::PathBuf;

use super::policy::Collected;
use crate::{SslCertificate, SslError};

/// Why an error did not fail the handshake (crate extension).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum IgnoreRule {
    /// `ignore_ssl_errors()` was in force and no ignore list was set.
    IgnoreAll,
    /// This entry (index) of the list given to `ignore_ssl_errors_list` matched the error by
    /// kind and certificate (and every other error matched an entry too).
    ListEntry(usize),
    /// The peer verify mode does not require verification (`VerifyNone`, `QueryPeer`, or
    /// `AutoVerifyPeer` on a server), so errors are reported but never fatal.
    VerifyMode,
}

/// One error found during verification (crate extension).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// The error, as `peer_verify_error` / `ssl_errors` report it.
    pub error: SslError,
    /// Where in the chain it was found: 0 is the leaf (also for `HostNameMismatch`), 1 its
    /// issuer, and so on; `-1` for errors about no certificate (`NoPeerCertificate`).
    pub depth: i32,
    /// Why the error did not fail the handshake; `None` when it was not ignored (or when the
    /// handshake failed, or for [`CertificateVerifier`](crate::CertificateVerifier), which has no
    /// ignore rules).
    pub ignored_by: Option<IgnoreRule>,
}

/// Where the trust anchor of a verified chain came from (crate extension).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum AnchorSource {
    /// A CA certificate loaded from this file (`add_ca_certificates_from_path` and friends).
    File(PathBuf),
    /// Looked up on demand by subject hash in this system directory (Qt's on-demand roots).
    HashedDirectory(PathBuf),
    /// A CA certificate added as a value (`add_ca_certificate`, `set_ca_certificates`,
    /// [`CertificateVerifier::add_trusted`](crate::CertificateVerifier::add_trusted)).
    Added,
    /// The process-wide default CA store, origin otherwise unknown.
    DefaultStore,
}

/// The outcome of verifying a peer's certificate chain: every error with its depth, in Qt's
/// order and in verification order, the chain OpenSSL built and its trust anchor (crate
/// extension; returned by [`CertificateVerifier::verify`](crate::CertificateVerifier::verify)
/// and kept by the socket for its last handshake).
///
/// # Examples
/// ```
/// use qsslsocket::{CertificateVerifier, SslCertificate, SslErrorKind};
///
/// // A null certificate cannot be verified.
/// let report = CertificateVerifier::new().verify(&SslCertificate::default());
/// assert!(!report.is_trusted());
/// assert_eq!(report.errors()[0].error(), SslErrorKind::UnspecifiedError);
/// assert!(report.chain().is_empty());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerificationReport {
    /// Every error, in verification order (= `peer_verify_error` emission order) and in Qt's
    /// `ssl_errors` order.
    pub(crate) collected: Collected,
    pub(crate) chain: Vec<SslCertificate>,
    pub(crate) anchor: Option<SslCertificate>,
    pub(crate) anchor_source: Option<AnchorSource>,
}

impl VerificationReport {
    /// The errors in Qt's `sslErrors` order: `CertificateBlacklisted` first, then
    /// `HostNameMismatch` or `NoPeerCertificate`, then the chain errors in the order OpenSSL found
    /// them. Empty when the chain is trusted and the name matches.
    #[doc(alias = "sslHandshakeErrors")]
    pub fn errors(&self) -> Vec<SslError> {
        self.collected.errors()
    }

    /// Whether the chain was verified up to a trust anchor and verification found no error at
    /// all (a matching name, nothing blacklisted). Ignored errors still make this `false`, and so
    /// does a handshake in `VerifyNone` mode, where the chain is not verified.
    pub fn is_trusted(&self) -> bool {
        self.collected.entries.is_empty() && self.anchor.is_some()
    }

    /// The chain OpenSSL built, leaf first, ending with the trust anchor when one was found
    /// (otherwise with the last certificate it could place).
    pub fn chain(&self) -> Vec<SslCertificate> {
        self.chain.clone()
    }

    /// The trusted certificate the chain ends in, if it reached one (also when other errors,
    /// such as an expired leaf, make the chain untrusted).
    pub fn trust_anchor(&self) -> Option<SslCertificate> {
        self.anchor.clone()
    }

    /// Every error found, in verification order (the order of `peer_verify_error`: chain errors
    /// as OpenSSL found them, then blacklist, then host name / missing certificate), each with
    /// its depth and the rule that ignored it.
    pub fn entries(&self) -> Vec<AuditEntry> {
        self.collected.entries.clone()
    }

    /// Where the trust anchor came from, when there is one.
    pub fn trust_anchor_source(&self) -> Option<AnchorSource> {
        self.anchor_source.clone()
    }
}
