//! [`CertificateVerifier`]: the socket's verification on its own, and Qt 5's
//! `QSslCertificate::verify(chain, hostName)` on top of it.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::ssl::{SslContext, SslFiletype, SslMethod};
use openssl::stack::Stack;
use openssl::x509::store::{X509Lookup, X509StoreBuilder};
use openssl::x509::{X509, X509Ref, X509StoreContext};

use super::hostname::matches_host;
use super::policy::{Findings, RawChainError, collect};
use super::report::{AnchorSource, VerificationReport};
use crate::ffi::x509 as ffi;
use crate::{
    PeerVerifyMode, SslCertificate, SslConfiguration, SslError, SslErrorKind, SslMode, SslOption,
};

/// Verifies a certificate chain exactly as the socket does during a client handshake, without
/// a connection (crate extension).
///
/// Chain building and checks are OpenSSL's, with the settings of an OpenSSL TLS client: purpose
/// and trust "SSL server" (`X509_STORE_CTX_set_default(ctx, "ssl_server")`), the authentication
/// level of the library's default TLS security level, no strict or partial-chain flags. Every
/// error is collected (as Qt's verify callback does), then the peer name is checked (RFC
/// 6125/9525 rules, or Qt's with [`SslOption::QtCompatibleHostNameMatching`]) and the chain is
/// checked against Qt's blacklist; the report lists the errors in Qt's order.
///
/// Trusted certificates that have expired (at the verification time) are left out of the trust
/// store, as Qt does (QTBUG-38896), so an expired root shows up as a missing issuer.
///
/// # Examples
/// ```
/// use qsslsocket::{CertificateVerifier, EncodingFormat, SslCertificate, SslErrorKind};
///
/// # fn self_signed_for(name: &str) -> Vec<u8> {
/// #     use openssl::{asn1::Asn1Time, hash::MessageDigest, nid::Nid, pkey::PKey, rsa::Rsa};
/// #     use openssl::x509::{X509Builder, X509NameBuilder, extension::SubjectAlternativeName};
/// #     let key = PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap();
/// #     let mut n = X509NameBuilder::new().unwrap();
/// #     n.append_entry_by_nid(Nid::COMMONNAME, name).unwrap();
/// #     let n = n.build();
/// #     let mut b = X509Builder::new().unwrap();
/// #     b.set_version(2).unwrap();
/// #     b.set_subject_name(&n).unwrap();
/// #     b.set_issuer_name(&n).unwrap();
/// #     b.set_pubkey(&key).unwrap();
/// #     b.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
/// #     b.set_not_after(&Asn1Time::days_from_now(2).unwrap()).unwrap();
/// #     let san = SubjectAlternativeName::new().dns(name).build(&b.x509v3_context(None, None)).unwrap();
/// #     b.append_extension(san).unwrap();
/// #     b.sign(&key, MessageDigest::sha256()).unwrap();
/// #     b.build().to_pem().unwrap()
/// # }
/// // A self-signed certificate for example.test, in PEM.
/// let pem: Vec<u8> = self_signed_for("example.test");
/// let cert = SslCertificate::from_data(&pem, EncodingFormat::Pem).remove(0);
///
/// let mut verifier = CertificateVerifier::new();
/// verifier.set_peer_name("other.test");
/// let report = verifier.verify(&cert);
/// let kinds: Vec<_> = report.errors().iter().map(|e| e.error()).collect();
/// assert_eq!(kinds, [SslErrorKind::HostNameMismatch, SslErrorKind::SelfSignedCertificate]);
///
/// verifier.add_trusted(cert.clone()).set_peer_name("example.test");
/// let report = verifier.verify(&cert);
/// assert!(report.is_trusted());
/// assert_eq!(report.trust_anchor(), Some(cert));
/// ```
#[derive(Clone, Debug, Default)]
pub struct CertificateVerifier {
    trusted: Vec<SslCertificate>,
    untrusted: Vec<SslCertificate>,
    time: Option<SystemTime>,
    max_depth: Option<i32>,
    peer_name: String,
    qt_host_names: bool,
    sources: TrustSources,
    /// Qt's static `QSslCertificate::verify`: a plain store context, with no purpose, trust
    /// setting or security level (a client certificate or a SHA-1 chain verifies as in Qt).
    plain_context: bool,
}

/// Where trusted certificates come from besides [`CertificateVerifier::add_trusted`]: the
/// process-wide default CA list (with the files some came from) and hashed directories looked
/// up on demand.
#[derive(Clone, Debug, Default)]
pub(crate) struct TrustSources {
    /// Certificates of the default CA list.
    pub(crate) certificates: Vec<SslCertificate>,
    /// The file each of them was loaded from, where known.
    pub(crate) files: HashMap<SslCertificate, PathBuf>,
    /// Directories with OpenSSL hash links (`<subject hash>.N`), searched on demand.
    pub(crate) hashed_dirs: Vec<PathBuf>,
}

/// The OpenSSL TLS security level of a default client context (the authentication level an
/// OpenSSL TLS client verifies with: 2 on Debian 12).
fn default_security_level() -> i32 {
    static LEVEL: OnceLock<i32> = OnceLock::new();
    *LEVEL.get_or_init(|| {
        SslContext::builder(SslMethod::tls_client())
            .map(|b| i32::try_from(b.build().security_level()).unwrap_or(1))
            .unwrap_or(1)
    })
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Whether `cert` is still valid at `at` (its notAfter is not before it). An unknown time, or a
/// notAfter OpenSSL cannot compare, counts as valid.
fn not_expired(cert: &X509Ref, at: Option<&Asn1TimeRef>) -> bool {
    at.and_then(|at| cert.not_after().compare(at).ok())
        .is_none_or(|ord| ord != Ordering::Less)
}

impl CertificateVerifier {
    /// A verifier with no trusted certificates, the current time, no depth limit and no peer
    /// name (no host-name check).
    pub fn new() -> CertificateVerifier {
        CertificateVerifier::default()
    }

    /// Trusts `certificate` as an anchor (skipped if null, or expired at verification time).
    pub fn add_trusted(&mut self, certificate: SslCertificate) -> &mut CertificateVerifier {
        if !certificate.is_null() {
            self.trusted.push(certificate);
        }
        self
    }

    /// Offers `certificate` as an intermediate for chain building (as if the peer had sent it).
    pub fn add_untrusted(&mut self, certificate: SslCertificate) -> &mut CertificateVerifier {
        if !certificate.is_null() {
            self.untrusted.push(certificate);
        }
        self
    }

    /// Verifies as of `time` instead of now (validity periods, and which trusted certificates
    /// count as expired).
    pub fn set_time(&mut self, time: SystemTime) -> &mut CertificateVerifier {
        self.time = Some(time);
        self
    }

    /// Limits the chain to `depth` intermediates (OpenSSL's verify depth: 0 means the leaf must
    /// be issued by a trust anchor directly). A longer chain gives `UnspecifiedError`
    /// (`X509_V_ERR_CERT_CHAIN_TOO_LONG`). Negative: no limit (the default). Unlike
    /// [`set_peer_verify_depth`](crate::SslConfiguration::set_peer_verify_depth), 0 is a limit.
    pub fn set_max_depth(&mut self, depth: i32) -> &mut CertificateVerifier {
        self.max_depth = (depth >= 0).then_some(depth);
        self
    }

    /// The name the leaf must be valid for (DNS name or IP literal); empty: no host-name check.
    #[doc(alias = "setPeerVerifyName")]
    pub fn set_peer_name(&mut self, name: &str) -> &mut CertificateVerifier {
        self.peer_name = name.to_owned();
        self
    }

    /// Sets an option; only [`SslOption::QtCompatibleHostNameMatching`] affects verification
    /// (the others concern connections and are accepted without effect).
    pub fn set_ssl_option(&mut self, option: SslOption, on: bool) -> &mut CertificateVerifier {
        if option == SslOption::QtCompatibleHostNameMatching {
            self.qt_host_names = on;
        }
        self
    }

    /// Adds trust sources besides the explicitly trusted certificates.
    pub(crate) fn set_trust_sources(&mut self, sources: TrustSources) -> &mut CertificateVerifier {
        self.sources = sources;
        self
    }

    /// Verifies `leaf` (with the untrusted certificates as intermediates) and reports every
    /// error in Qt's order. A null leaf gives a single `UnspecifiedError`.
    pub fn verify(&self, leaf: &SslCertificate) -> VerificationReport {
        let Some(leaf_x509) = leaf.as_x509() else {
            return unspecified();
        };
        let at = self.time.map(unix_seconds);
        let now = at.unwrap_or_else(|| unix_seconds(SystemTime::now()));
        // Once per verification, not once per trusted certificate.
        let now = Asn1Time::from_unix(now).ok();

        let Ok(mut store) = X509StoreBuilder::new() else {
            return unspecified();
        };
        let explicit = self.trusted.iter().chain(&self.sources.certificates);
        for cert in explicit.filter_map(SslCertificate::as_x509) {
            if not_expired(cert, now.as_deref()) {
                // A duplicate is not an error worth reporting.
                let _ = store.add_cert(cert.to_owned());
            }
        }
        for dir in &self.sources.hashed_dirs {
            if let (Ok(lookup), Some(dir)) =
                (store.add_lookup(X509Lookup::hash_dir()), dir.to_str())
            {
                let _ = lookup.add_dir(dir, SslFiletype::PEM);
            }
        }
        let store = store.build();
        let Ok(mut intermediates) = Stack::new() else {
            return unspecified();
        };
        for cert in self.untrusted.iter().filter_map(SslCertificate::as_x509) {
            if intermediates.push(cert.to_owned()).is_err() {
                return unspecified();
            }
        }

        let Ok(mut ctx) = X509StoreContext::new() else {
            return unspecified();
        };
        let outcome = ctx.init(&store, leaf_x509, &intermediates, |c| {
            if !self.plain_context {
                ffi::set_ssl_server_defaults(c);
                ffi::param_mut(c).set_auth_level(default_security_level());
            }
            let param = ffi::param_mut(c);
            if let Some(t) = at {
                param.set_time(t as _);
            }
            if let Some(depth) = self.max_depth {
                param.set_depth(depth);
            }
            let (result, mut raw) = ffi::verify_collecting(c);
            if result.is_err() {
                raw.push((openssl_sys::X509_V_ERR_UNSPECIFIED, 0, None));
            }
            let chain: Vec<X509> = c
                .chain()
                .map(|s| s.iter().map(|x| x.to_owned()).collect())
                .unwrap_or_default();
            let untrusted = ffi::num_untrusted(c);
            Ok((raw, chain, untrusted))
        });
        let Ok((raw, chain, num_untrusted)) = outcome else {
            return unspecified();
        };

        let chain_errors: Vec<RawChainError> = raw.into_iter().map(RawChainError::from).collect();
        let chain: Vec<SslCertificate> = chain.into_iter().map(SslCertificate::from_x509).collect();
        let anchor = chain
            .last()
            .filter(|_| chain.len() > num_untrusted)
            .cloned();
        let source = anchor.as_ref().map(|a| self.anchor_source(a));

        let mut peer_chain = vec![leaf.clone()];
        peer_chain.extend(self.untrusted.iter().cloned());
        let blacklisted: Vec<bool> = peer_chain
            .iter()
            .map(SslCertificate::is_blacklisted)
            .collect();
        let host_name_matches =
            self.peer_name.is_empty() || matches_host(leaf, &self.peer_name, self.qt_host_names);
        let collected = collect(&Findings {
            mode: SslMode::SslClientMode,
            verify_mode: PeerVerifyMode::VerifyPeer,
            peer_chain: &peer_chain,
            peer_certificate: Some(leaf),
            chain_errors: &chain_errors,
            host_name_matches,
            blacklisted: &blacklisted,
        });
        let mut report = VerificationReport::from_collected(collected);
        report.set_chain(chain, anchor, source);
        report
    }

    fn anchor_source(&self, anchor: &SslCertificate) -> AnchorSource {
        if self.trusted.contains(anchor) {
            return AnchorSource::Added;
        }
        let s = &self.sources;
        anchor_source(
            anchor,
            &s.certificates,
            &s.files,
            &s.hashed_dirs,
            AnchorSource::DefaultStore,
        )
    }
}

/// Where `anchor` came from: the file it was loaded from (`files`), `listed_as` when it is one of
/// the `listed` CA certificates without a known file, the hashed directory holding it, or else
/// the default store (e.g. OpenSSL's default paths).
pub(crate) fn anchor_source(
    anchor: &SslCertificate,
    listed: &[SslCertificate],
    files: &HashMap<SslCertificate, PathBuf>,
    hashed_dirs: &[PathBuf],
    listed_as: AnchorSource,
) -> AnchorSource {
    if let Some(path) = files.get(anchor) {
        return AnchorSource::File(path.clone());
    }
    if listed.contains(anchor) {
        return listed_as;
    }
    hashed_directory_of(anchor, hashed_dirs)
        .map_or(AnchorSource::DefaultStore, AnchorSource::HashedDirectory)
}

/// The first of `dirs` holding `<subject hash>.N` with exactly this certificate.
pub(crate) fn hashed_directory_of(anchor: &SslCertificate, dirs: &[PathBuf]) -> Option<PathBuf> {
    let x509 = anchor.as_x509()?;
    let hash = x509.subject_name_hash();
    dirs.iter()
        .find(|dir| {
            (0..16)
                .map(|n| dir.join(format!("{hash:08x}.{n}")))
                .take_while(|p| p.exists())
                .any(|p| {
                    std::fs::read(&p)
                        .ok()
                        .and_then(|pem| X509::from_pem(&pem).ok())
                        // X509_cmp: the cached SHA-1 digests, no re-encoding.
                        .is_some_and(|c| c.as_ref() == x509)
                })
        })
        .cloned()
}

fn unspecified() -> VerificationReport {
    let collected = super::policy::Collected {
        entries: vec![super::AuditEntry {
            error: SslError::new(SslErrorKind::UnspecifiedError, None),
            depth: -1,
            ignored_by: None,
        }],
        n_chain: 0,
    };
    VerificationReport::from_collected(collected)
}

/// The process-wide trust (the default CA list, and the system roots on demand unless
/// `set_default_ca_certificates` turned that off).
pub(crate) fn default_trust_sources() -> TrustSources {
    let trust = crate::defaults::default_trust();
    TrustSources {
        certificates: trust.certificates,
        files: trust.files,
        hashed_dirs: trust.on_demand_dirs.to_vec(),
    }
}

impl SslCertificate {
    /// Verifies a certificate chain against the process's default CA store (the default
    /// configuration's CA certificates and the system roots), as Qt 5's static
    /// `QSslCertificate::verify(chain, hostName)` does; the defaults are not modified.
    ///
    /// `chain[0]` is the certificate to verify and the rest are untrusted intermediates. A
    /// non-empty `host_name` is matched against it (RFC 6125/9525 rules, or Qt's when the default
    /// configuration has [`SslOption::QtCompatibleHostNameMatching`]). The errors come in Qt's
    /// order: blacklist, host name, then chain errors. An empty chain gives one
    /// `UnspecifiedError`. As in Qt, no purpose and no security level is checked: a chain meant
    /// for clients verifies too (use [`CertificateVerifier`] to verify as a TLS client does).
    ///
    /// # Examples
    /// ```
    /// use qsslsocket::{SslCertificate, SslError, SslErrorKind};
    ///
    /// let errors = SslCertificate::verify(&[], "example.com");
    /// assert_eq!(errors, [SslError::new(SslErrorKind::UnspecifiedError, None)]);
    /// ```
    #[doc(alias = "QSslCertificate::verify")]
    pub fn verify(chain: &[SslCertificate], host_name: &str) -> Vec<SslError> {
        let Some((leaf, intermediates)) = chain.split_first() else {
            return vec![SslError::new(SslErrorKind::UnspecifiedError, None)];
        };
        let mut verifier = CertificateVerifier::new();
        for cert in intermediates {
            verifier.add_untrusted(cert.clone());
        }
        let qt_host_names = SslConfiguration::default_configuration()
            .test_ssl_option(SslOption::QtCompatibleHostNameMatching);
        verifier
            .set_trust_sources(default_trust_sources())
            .set_peer_name(host_name)
            .set_ssl_option(SslOption::QtCompatibleHostNameMatching, qt_host_names);
        verifier.plain_context = true;
        verifier.verify(leaf).errors()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verification::test_support::self_signed_ca;

    #[test]
    fn anchors_found_in_hashed_directories_and_files() {
        let ca = self_signed_ca("hashed dir CA");
        let x509 = ca.as_x509().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let other = tempfile::tempdir().unwrap();
        let link = dir
            .path()
            .join(format!("{:08x}.0", x509.subject_name_hash()));
        std::fs::write(&link, x509.to_pem().unwrap()).unwrap();
        let dirs = vec![other.path().to_path_buf(), dir.path().to_path_buf()];
        assert_eq!(
            hashed_directory_of(&ca, &dirs),
            Some(dir.path().to_path_buf())
        );
        assert_eq!(
            hashed_directory_of(&self_signed_ca("elsewhere"), &dirs),
            None
        );

        // Looked up on demand during verification.
        let mut v = CertificateVerifier::new();
        v.set_trust_sources(TrustSources {
            hashed_dirs: dirs.clone(),
            ..Default::default()
        });
        let report = v.verify(&ca);
        assert!(report.is_trusted(), "{report:?}");
        assert_eq!(
            report.trust_anchor_source(),
            Some(AnchorSource::HashedDirectory(dir.path().to_path_buf()))
        );

        // From the default list: its file if known, else the default store.
        let file = PathBuf::from("/some/ca.pem");
        let files = HashMap::from([(ca.clone(), file.clone())]);
        let listed = [ca.clone()];
        assert_eq!(
            anchor_source(&ca, &listed, &files, &[], AnchorSource::Added),
            AnchorSource::File(file)
        );
        assert_eq!(
            anchor_source(&ca, &listed, &HashMap::new(), &[], AnchorSource::Added),
            AnchorSource::Added
        );
        assert_eq!(
            anchor_source(&ca, &[], &HashMap::new(), &[], AnchorSource::Added),
            AnchorSource::DefaultStore
        );
        let mut v = CertificateVerifier::new();
        v.set_trust_sources(TrustSources {
            certificates: vec![ca.clone()],
            ..Default::default()
        });
        assert_eq!(
            v.verify(&ca).trust_anchor_source(),
            Some(AnchorSource::DefaultStore)
        );
    }

    #[test]
    fn qt5_verify_reads_the_default_store_without_changing_it() {
        let before = crate::defaults::default_ca_certificates();
        let ca = self_signed_ca("not a system root");
        let errors = SslCertificate::verify(std::slice::from_ref(&ca), "");
        assert_eq!(
            errors,
            [SslError::new(SslErrorKind::SelfSignedCertificate, Some(ca))]
        );
        assert_eq!(crate::defaults::default_ca_certificates(), before);
    }
}
