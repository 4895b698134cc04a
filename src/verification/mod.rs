//! Peer verification with Qt's semantics: host-name matching, the blacklist, Qt's error order
//! and ignore rules, the audit record, and `CertificateVerifier`.
//!
//! Layout:
//! - `hostname`: RFC 6125/9525 matching through OpenSSL, or Qt's matcher (`ace`: Qt's IDNA and
//!   IP-literal parsing);
//! - `policy`: pure functions for Qt's error orders and the fatal/ignored decision;
//! - `report`: the public audit types;
//! - `verifier`: [`CertificateVerifier`] and `SslCertificate::verify`.
//!
//! What the socket engine calls (all `pub(crate)`):
//! - in the verify callback (`SslContextBuilder::set_verify_callback`, not in `VerifyNone`):
//!   `RawChainError::from_store_ctx(ctx)` for each `ok == false`, then return `true`;
//! - after the handshake: `matches_host(&peer_cert, peer_name, qt_option)` (client only), the
//!   blacklist flags of the peer chain, then `collect(&Findings { .. })` -> `Collected` (its
//!   `emission_order()` for `peer_verify_error`, `errors()` for `ssl_errors`);
//! - after the `ssl_errors` slots ran (or at `resume()`): `decide(&collected,
//!   verification_required(mode, verify_mode), ignore_all, &ignore_list)` -> `Decision { fatal,
//!   .. }`, and `VerificationReport::from_collected` + `set_chain` + `apply(&decision)` for
//!   `verification_report()`.

mod ace;
mod hostname;
mod policy;
mod report;
mod verifier;

pub(crate) use ace::to_ace;
#[allow(unused_imports)]
pub(crate) use hostname::matches_host;
#[allow(unused_imports)]
pub(crate) use policy::{
    Collected, Decision, Findings, RawChainError, collect, decide, verification_required,
};
pub use report::{AnchorSource, AuditEntry, IgnoreRule, VerificationReport};
pub use verifier::CertificateVerifier;
#[allow(unused_imports)]
pub(crate) use verifier::{
    TrustSources, anchor_source, default_trust_sources, hashed_directory_of,
};

/// The matchers the fuzz targets in `fuzz/` call (see `crate::fuzzing`).
#[cfg(feature = "fuzzing")]
pub(crate) mod fuzzing {
    use std::net::IpAddr;

    use crate::SslCertificate;

    /// Qt's pattern rule: `pattern` (a CN or DNS SAN) against an ACE host name.
    pub fn qt_match_pattern(pattern: &str, host: &str) -> bool {
        super::hostname::qt_match_pattern(pattern, host)
    }

    /// Qt's `QUrl::toAce`; `None` where Qt returns an empty string.
    pub fn to_ace(domain: &str) -> Option<String> {
        super::ace::to_ace(domain)
    }

    /// Qt's `QHostAddress(QString)`: the address, and whether it had a scope.
    pub fn parse_host_address(s: &str) -> Option<(IpAddr, bool)> {
        super::ace::parse_host_address(s).map(|a| (a.ip, a.scoped))
    }

    /// The certificate-level matcher, RFC mode or Qt mode.
    pub fn matches_host(cert: &SslCertificate, name: &str, qt_compatible: bool) -> bool {
        super::hostname::matches_host(cert, name, qt_compatible)
    }
}

#[cfg(test)]
pub(crate) mod test_support {
    use openssl::x509::extension::BasicConstraints;

    use crate::SslCertificate;
    use crate::certificate::mint;

    /// A self-signed CA certificate for `cn`, valid from now for two days.
    pub(crate) fn self_signed_ca(cn: &str) -> SslCertificate {
        let key = mint::p256_key().unwrap();
        let ca = BasicConstraints::new().critical().ca().build().unwrap();
        let subject = mint::common_name(cn).unwrap();
        let cert = mint::self_signed(&subject, &key, 2, [ca]).unwrap();
        SslCertificate::from_x509(cert)
    }
}
