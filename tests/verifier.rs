//! `CertificateVerifier` and `SslCertificate::verify` on certificates minted at test time: one
//! test per error kind OpenSSL can produce, each checking the kind, the certificate, the depth
//! and Qt's text, plus the built chain, the trust anchor and Qt's list order.
mod common;

use std::time::{Duration, SystemTime};

use SslErrorKind::*;
use common::pki::{Eku, Identity, Spec, mint, pki};
use qsslsocket::{
    AnchorSource, AuditEntry, CertificateVerifier, SslCertificate, SslError, SslErrorKind,
    VerificationReport,
};

fn verifier(trusted: &[&Identity], untrusted: &[&Identity], peer: &str) -> CertificateVerifier {
    let mut v = CertificateVerifier::new();
    for t in trusted {
        v.add_trusted(t.certificate());
    }
    for u in untrusted {
        v.add_untrusted(u.certificate());
    }
    v.set_peer_name(peer);
    v
}

fn kinds(report: &VerificationReport) -> Vec<SslErrorKind> {
    report.errors().iter().map(SslError::error).collect()
}

/// Asserts the report holds exactly one error: `kind` about `cert` at `depth`, with Qt's text.
fn assert_single(
    report: &VerificationReport,
    kind: SslErrorKind,
    cert: &Identity,
    depth: i32,
    text: &str,
) {
    assert_eq!(kinds(report), [kind], "{report:?}");
    let e = &report.errors()[0];
    assert_eq!(
        e.certificate(),
        Some(cert.certificate()),
        "certificate of {kind}"
    );
    assert_eq!(e.error_string(), text);
    assert_eq!(e.to_string(), text);
    assert_eq!(
        report.entries(),
        [AuditEntry {
            error: e.clone(),
            depth,
            ignored_by: None
        }]
    );
    assert!(!report.is_trusted());
}

#[test]
fn trusted_chain_has_no_errors() {
    let p = pki();
    let report =
        verifier(&[&p.root], &[&p.intermediate], "localhost").verify(&p.leaf.certificate());
    assert!(report.is_trusted(), "{report:?}");
    assert!(report.errors().is_empty() && report.entries().is_empty());
    assert_eq!(
        report.chain(),
        [
            p.leaf.certificate(),
            p.intermediate.certificate(),
            p.root.certificate()
        ]
    );
    assert_eq!(report.trust_anchor(), Some(p.root.certificate()));
    assert_eq!(report.trust_anchor_source(), Some(AnchorSource::Added));
    // The IP SANs work too.
    for ip in ["127.0.0.1", "::1"] {
        assert!(
            verifier(&[&p.root], &[&p.intermediate], ip)
                .verify(&p.leaf.certificate())
                .is_trusted()
        );
    }
}

#[test]
fn expired_leaf() {
    let p = pki();
    let report =
        verifier(&[&p.root], &[&p.intermediate], "localhost").verify(&p.expired.certificate());
    assert_single(
        &report,
        CertificateExpired,
        &p.expired,
        0,
        "The certificate has expired",
    );
    // The chain still reached its anchor.
    assert_eq!(report.trust_anchor(), Some(p.root.certificate()));
    assert_eq!(report.chain().len(), 3);
    // At a time inside every validity period it is fine.
    let root = mint(&Spec::ca("long-lived root").validity(-60, 3650), None);
    let leaf = mint(&Spec::leaf("localhost").validity(-30, -1), Some(&root));
    let mut v = verifier(&[&root], &[], "localhost");
    assert_eq!(kinds(&v.verify(&leaf.certificate())), [CertificateExpired]);
    v.set_time(SystemTime::now() - Duration::from_secs(10 * 86_400));
    assert!(v.verify(&leaf.certificate()).is_trusted());
}

#[test]
fn not_yet_valid_leaf() {
    let p = pki();
    let report = verifier(&[&p.root], &[&p.intermediate], "localhost")
        .verify(&p.not_yet_valid.certificate());
    assert_single(
        &report,
        CertificateNotYetValid,
        &p.not_yet_valid,
        0,
        "The certificate is not yet valid",
    );
}

#[test]
fn self_signed_leaf_with_wrong_host() {
    let p = pki();
    let ss = p.self_signed.certificate();
    // Qt's S10/S11: verification order SelfSigned, HostNameMismatch; Qt's list the reverse.
    let report = verifier(&[], &[], "localhost").verify(&ss);
    assert_eq!(kinds(&report), [HostNameMismatch, SelfSignedCertificate]);
    let order: Vec<_> = report
        .entries()
        .iter()
        .map(|e| (e.error.error(), e.depth))
        .collect();
    assert_eq!(order, [(SelfSignedCertificate, 0), (HostNameMismatch, 0)]);
    assert!(
        report
            .errors()
            .iter()
            .all(|e| e.certificate() == Some(ss.clone()))
    );
    assert_eq!(
        report.errors()[0].error_string(),
        "The host name did not match any of the valid hosts for this certificate"
    );
    assert_eq!(report.trust_anchor(), None);
    assert_eq!(report.trust_anchor_source(), None);
    assert_eq!(report.chain(), std::slice::from_ref(&ss));

    let report = verifier(&[], &[], "").verify(&ss);
    assert_single(
        &report,
        SelfSignedCertificate,
        &p.self_signed,
        0,
        "The certificate is self-signed, and untrusted",
    );

    // Trusted, it is its own anchor.
    let report = verifier(&[&p.self_signed], &[], "").verify(&ss);
    assert!(report.is_trusted(), "{report:?}");
    assert_eq!(report.trust_anchor(), Some(ss.clone()));
    assert_eq!(report.chain(), [ss]);
}

#[test]
fn self_signed_root_in_chain() {
    let p = pki();
    let report =
        verifier(&[], &[&p.intermediate, &p.root], "localhost").verify(&p.leaf.certificate());
    assert_single(
        &report,
        SelfSignedCertificateInChain,
        &p.root,
        2,
        "The root certificate of the certificate chain is self-signed, and untrusted",
    );
    assert_eq!(report.trust_anchor(), None);
    assert_eq!(report.chain().len(), 3);
}

#[test]
fn missing_intermediate() {
    let p = pki();
    // Qt's S19: the server sends only its leaf; the client trusts the root.
    let report = verifier(&[&p.root], &[], "localhost").verify(&p.leaf.certificate());
    assert_eq!(
        kinds(&report),
        [
            UnableToGetLocalIssuerCertificate,
            UnableToVerifyFirstCertificate
        ]
    );
    for e in report.entries() {
        assert_eq!(e.error.certificate(), Some(p.leaf.certificate()));
        assert_eq!(e.depth, 0);
    }
    assert_eq!(
        report.errors()[0].error_string(),
        "The issuer certificate of a locally looked up certificate could not be found"
    );
    assert_eq!(
        report.errors()[1].error_string(),
        "No certificates could be verified"
    );
    assert_eq!(report.chain(), [p.leaf.certificate()]);
    assert_eq!(report.trust_anchor(), None);
}

#[test]
fn untrusted_root() {
    let p = pki();
    // The peer sends leaf and intermediate; the client trusts nothing.
    let report = verifier(&[], &[&p.intermediate], "localhost").verify(&p.leaf.certificate());
    assert_single(
        &report,
        UnableToGetLocalIssuerCertificate,
        &p.intermediate,
        1,
        "The issuer certificate of a locally looked up certificate could not be found",
    );
}

#[test]
fn wrong_host() {
    let p = pki();
    let report =
        verifier(&[&p.root], &[&p.intermediate], "localhost").verify(&p.wrong_host.certificate());
    assert_single(
        &report,
        HostNameMismatch,
        &p.wrong_host,
        0,
        "The host name did not match any of the valid hosts for this certificate",
    );
    // Only the name is wrong: the chain is anchored.
    assert_eq!(report.trust_anchor(), Some(p.root.certificate()));
    assert!(
        verifier(&[&p.root], &[&p.intermediate], "wrong.example")
            .verify(&p.wrong_host.certificate())
            .is_trusted()
    );
}

#[test]
fn ip_address_without_ip_san() {
    let p = pki();
    // Qt's e5 trace: a certificate for a DNS name, reached by IP.
    let report =
        verifier(&[&p.root], &[&p.intermediate], "127.0.0.1").verify(&p.wrong_host.certificate());
    assert_single(
        &report,
        HostNameMismatch,
        &p.wrong_host,
        0,
        "The host name did not match any of the valid hosts for this certificate",
    );
}

#[test]
fn path_length_exceeded() {
    let root = mint(&Spec::ca("pathlen 0 root").pathlen(0), None);
    let intermediate = mint(&Spec::ca("pathlen intermediate"), Some(&root));
    let leaf = mint(&Spec::leaf("localhost"), Some(&intermediate));
    let report = verifier(&[&root], &[&intermediate], "localhost").verify(&leaf.certificate());
    // OpenSSL reports it on the certificate whose constraint is exceeded: the root.
    assert_single(
        &report,
        PathLengthExceeded,
        &root,
        2,
        "The basicConstraints path length parameter has been exceeded",
    );
}

#[test]
fn client_certificate_used_as_server_certificate() {
    let p = pki();
    // EKU clientAuth only: unsuitable for the "SSL server" purpose.
    let leaf = mint(
        &Spec::leaf("localhost").eku(&[Eku::ClientAuth]),
        Some(&p.intermediate),
    );
    let report = verifier(&[&p.root], &[&p.intermediate], "localhost").verify(&leaf.certificate());
    assert_single(
        &report,
        InvalidPurpose,
        &leaf,
        0,
        "The supplied certificate is unsuitable for this purpose",
    );
}

#[test]
fn non_ca_certificate_as_issuer() {
    let p = pki();
    // A leaf (CA:FALSE) signing another certificate.
    let child = mint(&Spec::leaf("child.localhost"), Some(&p.leaf));
    let report = verifier(&[&p.root], &[&p.leaf, &p.intermediate], "child.localhost")
        .verify(&child.certificate());
    // OpenSSL also finds the leaf unsuitable as a CA for the SSL-server purpose and without
    // keyCertSign (X509_V_ERR_KEYUSAGE_NO_CERTSIGN: no Qt kind).
    assert_eq!(
        kinds(&report),
        [InvalidCaCertificate, InvalidPurpose, UnspecifiedError]
    );
    for e in report.entries() {
        assert_eq!(
            (e.error.certificate(), e.depth),
            (Some(p.leaf.certificate()), 1)
        );
    }
    assert_eq!(
        report.errors()[0].error_string(),
        "One of the CA certificates is invalid"
    );
    assert_eq!(report.trust_anchor(), Some(p.root.certificate()));
}

#[test]
fn tampered_signature() {
    let p = pki();
    let mut der = p.leaf.cert_der();
    let last = der.len() - 1;
    der[last] ^= 0x01;
    let tampered = SslCertificate::from_data(&der, qsslsocket::EncodingFormat::Der).remove(0);
    let report = verifier(&[&p.root], &[&p.intermediate], "localhost").verify(&tampered);
    assert_eq!(kinds(&report), [CertificateSignatureFailed]);
    let e = &report.errors()[0];
    assert_eq!(e.certificate(), Some(tampered));
    assert_eq!(
        e.error_string(),
        "The signature of the certificate is invalid"
    );
    assert_eq!(report.entries()[0].depth, 0);
}

#[test]
fn expired_trusted_ca_is_left_out() {
    // Qt's S20 / QTBUG-38896: an expired CA is not put in the trust store at all.
    let root = mint(&Spec::ca("expired root").validity(-30, -1), None);
    let intermediate = mint(
        &Spec::ca("under expired root").validity(-30, 3650),
        Some(&root),
    );
    let leaf = mint(
        &Spec::leaf("localhost").validity(-30, 365),
        Some(&intermediate),
    );
    let report = verifier(&[&root], &[&intermediate], "localhost").verify(&leaf.certificate());
    assert_single(
        &report,
        UnableToGetLocalIssuerCertificate,
        &intermediate,
        1,
        "The issuer certificate of a locally looked up certificate could not be found",
    );
    assert_eq!(report.trust_anchor(), None);
    // Verified at a time when the root was valid, it is used.
    let mut v = verifier(&[&root], &[&intermediate], "localhost");
    v.set_time(SystemTime::now() - Duration::from_secs(2 * 86_400));
    let report = v.verify(&leaf.certificate());
    assert!(report.is_trusted(), "{report:?}");
}

#[test]
fn depth_limit() {
    // Qt's S23: leaf, int2, int1, root.
    let root = mint(&Spec::ca("depth root"), None);
    let int1 = mint(&Spec::ca("depth int1"), Some(&root));
    let int2 = mint(&Spec::ca("depth int2"), Some(&int1));
    let leaf = mint(&Spec::leaf("localhost"), Some(&int2));
    let mut v = verifier(&[&root], &[&int2, &int1], "localhost");
    assert!(v.verify(&leaf.certificate()).is_trusted());
    v.set_max_depth(2);
    assert!(v.verify(&leaf.certificate()).is_trusted());
    v.set_max_depth(1);
    let report = v.verify(&leaf.certificate());
    // X509_V_ERR_CERT_CHAIN_TOO_LONG has no Qt kind.
    assert!(kinds(&report).contains(&UnspecifiedError), "{report:?}");
    assert_eq!(report.errors()[0].error_string(), "Unknown error");
    v.set_max_depth(-1);
    assert!(
        v.verify(&leaf.certificate()).is_trusted(),
        "negative: no limit"
    );
}

#[test]
fn null_certificate() {
    let report = CertificateVerifier::new().verify(&SslCertificate::default());
    assert_eq!(kinds(&report), [UnspecifiedError]);
    assert!(report.errors()[0].certificate().is_none());
    assert!(report.chain().is_empty());
    assert_eq!(report.trust_anchor(), None);
}

#[test]
fn blacklisted_certificate_comes_first() {
    // One of Qt's blacklisted (serial, CN) pairs: a fraudulent login.live.com certificate.
    let serial = [
        0xb0, 0xb7, 0x13, 0x3e, 0xd0, 0x96, 0xf9, 0xb5, 0x6f, 0xae, 0x91, 0xc8, 0x74, 0xbd, 0x3a,
        0xc0,
    ];
    let fake = mint(&Spec::self_signed("login.live.com").serial(&serial), None);
    let report = verifier(&[], &[], "example.com").verify(&fake.certificate());
    assert_eq!(
        kinds(&report),
        [
            CertificateBlacklisted,
            HostNameMismatch,
            SelfSignedCertificate
        ]
    );
    assert_eq!(
        report.errors()[0].error_string(),
        "The peer certificate is blacklisted"
    );
    let order: Vec<_> = report.entries().iter().map(|e| e.error.error()).collect();
    assert_eq!(
        order,
        [
            SelfSignedCertificate,
            CertificateBlacklisted,
            HostNameMismatch
        ]
    );
}

#[test]
fn qt5_static_verify() {
    let p = pki();
    // An empty chain is an error of its own.
    assert_eq!(
        SslCertificate::verify(&[], "localhost"),
        [SslError::new(UnspecifiedError, None)]
    );
    // A self-signed certificate is not in the default store; no host name: no name check.
    let ss = p.self_signed.certificate();
    assert_eq!(
        SslCertificate::verify(std::slice::from_ref(&ss), ""),
        [SslError::new(SelfSignedCertificate, Some(ss.clone()))]
    );
    assert_eq!(
        SslCertificate::verify(std::slice::from_ref(&ss), "localhost"),
        [
            SslError::new(HostNameMismatch, Some(ss.clone())),
            SslError::new(SelfSignedCertificate, Some(ss))
        ]
    );
    // The test root is not a system root: the chain stops at the intermediate.
    let errors = SslCertificate::verify(&p.server_chain(), "localhost");
    assert_eq!(
        errors,
        [SslError::new(
            UnableToGetLocalIssuerCertificate,
            Some(p.intermediate.certificate())
        )]
    );
}
