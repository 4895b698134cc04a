//! `SslError` (Qt's `QSslError`): a verification problem's kind and the certificate it concerns,
//! with Qt's exact English texts, and the one table that maps OpenSSL's `X509_V_ERR_*` codes to
//! [`SslErrorKind`].

use std::fmt;
use std::hash::{Hash, Hasher};

use libc::c_int;

use crate::{SslCertificate, SslErrorKind};

/// A TLS verification error: a [`SslErrorKind`] and, usually, the certificate it is about.
///
/// Qt: `QSslError`. Two errors are equal when both the kind and the certificate are equal (a
/// missing certificate only equals a missing certificate), which is what
/// [`ignore_ssl_errors_list`](crate::SslSocket::ignore_ssl_errors_list) matches on.
///
/// # Examples
/// ```
/// use qsslsocket::{SslError, SslErrorKind};
///
/// let e = SslError::new(SslErrorKind::CertificateExpired, None);
/// assert_eq!(e.error_string(), "The certificate has expired");
/// assert_eq!(e.to_string(), "The certificate has expired");
/// assert_ne!(e, SslError::new(SslErrorKind::SelfSignedCertificate, None));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Default)]
#[doc(alias = "QSslError")]
pub struct SslError {
    kind: SslErrorKind,
    certificate: Option<SslCertificate>,
}

// `qt_enum!` does not derive Default (most Qt enums have no natural default).
#[allow(clippy::derivable_impls)]
impl Default for SslErrorKind {
    fn default() -> Self {
        SslErrorKind::NoError
    }
}

impl SslError {
    /// An error of `kind` about `certificate` (`None` for errors that concern no certificate).
    /// A null certificate is stored as `None`.
    pub fn new(kind: SslErrorKind, certificate: Option<SslCertificate>) -> SslError {
        SslError {
            kind,
            certificate: certificate.filter(|c| !c.is_null()),
        }
    }

    /// The kind of error. Qt: `error()`.
    pub fn error(&self) -> SslErrorKind {
        self.kind
    }

    /// Qt's English description of the error kind (`QSslError::errorString()`, Qt 6 texts).
    pub fn error_string(&self) -> String {
        error_text(self.kind).to_owned()
    }

    /// The certificate the error is about, if any.
    pub fn certificate(&self) -> Option<SslCertificate> {
        self.certificate.clone()
    }
}

impl Hash for SslError {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
        self.certificate.hash(state);
    }
}

impl fmt::Display for SslError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(error_text(self.kind))
    }
}

impl std::error::Error for SslError {}

/// Qt 6's `QSslError::errorString()` text for each kind. Kinds without a case in Qt
/// (`CertificateRevoked`, `CertificateStatusUnknown`, `UnspecifiedError`) say "Unknown error", and
/// `NoSslSupport` is empty, exactly as in Qt.
pub(crate) fn error_text(kind: SslErrorKind) -> &'static str {
    use SslErrorKind::*;
    match kind {
        NoError => "No error",
        UnableToGetIssuerCertificate => "The issuer certificate could not be found",
        UnableToDecryptCertificateSignature => "The certificate signature could not be decrypted",
        UnableToDecodeIssuerPublicKey => "The public key in the certificate could not be read",
        CertificateSignatureFailed => "The signature of the certificate is invalid",
        CertificateNotYetValid => "The certificate is not yet valid",
        CertificateExpired => "The certificate has expired",
        InvalidNotBeforeField => "The certificate's notBefore field contains an invalid time",
        InvalidNotAfterField => "The certificate's notAfter field contains an invalid time",
        SelfSignedCertificate => "The certificate is self-signed, and untrusted",
        SelfSignedCertificateInChain => {
            "The root certificate of the certificate chain is self-signed, and untrusted"
        }
        UnableToGetLocalIssuerCertificate => {
            "The issuer certificate of a locally looked up certificate could not be found"
        }
        UnableToVerifyFirstCertificate => "No certificates could be verified",
        InvalidCaCertificate => "One of the CA certificates is invalid",
        PathLengthExceeded => "The basicConstraints path length parameter has been exceeded",
        InvalidPurpose => "The supplied certificate is unsuitable for this purpose",
        CertificateUntrusted => "The root CA certificate is not trusted for this purpose",
        CertificateRejected => "The root CA certificate is marked to reject the specified purpose",
        SubjectIssuerMismatch => {
            "The current candidate issuer certificate was rejected because its subject name did \
             not match the issuer name of the current certificate"
        }
        AuthorityIssuerSerialNumberMismatch => {
            "The current candidate issuer certificate was rejected because its issuer name and \
             serial number was present and did not match the authority key identifier of the \
             current certificate"
        }
        NoPeerCertificate => "The peer did not present any certificate",
        HostNameMismatch => {
            "The host name did not match any of the valid hosts for this certificate"
        }
        NoSslSupport => "",
        CertificateBlacklisted => "The peer certificate is blacklisted",
        OcspNoResponseFound => "No OCSP status response found",
        OcspMalformedRequest => "The OCSP status request had invalid syntax",
        OcspMalformedResponse => {
            "OCSP response contains an unexpected number of SingleResponse structures"
        }
        OcspInternalError => "OCSP responder reached an inconsistent internal state",
        OcspTryLater => {
            "OCSP responder was unable to return a status for the requested certificate"
        }
        OcspSigRequred => {
            "The server requires the client to sign the OCSP request in order to construct a \
             response"
        }
        OcspUnauthorized => "The client is not authorized to request OCSP status from this server",
        OcspResponseCannotBeTrusted => "OCSP responder's identity cannot be verified",
        OcspResponseCertIdUnknown => {
            "The identity of a certificate in an OCSP response cannot be established"
        }
        OcspResponseExpired => "The certificate status response has expired",
        OcspStatusUnknown => "The certificate's status is unknown",
        CertificateRevoked | CertificateStatusUnknown | UnspecifiedError => "Unknown error",
    }
}

/// The one mapping from OpenSSL's verification result codes to Qt's kinds (Qt:
/// `openSSLErrorToQSslError`). Matched by symbol, never by number: `X509_V_ERR_INVALID_CA` is 24
/// before OpenSSL 3.0 and 79 from 3.0 on, where 24 became `NO_ISSUER_PUBLIC_KEY`.
/// `X509_V_OK` yields `NoError`; every code Qt does not name yields `UnspecifiedError`.
pub(crate) fn kind_from_x509_code(code: c_int) -> SslErrorKind {
    use SslErrorKind::*;
    use openssl_sys as sys;
    const TABLE: &[(c_int, SslErrorKind)] = &[
        (sys::X509_V_OK, NoError),
        (
            sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
            UnableToGetIssuerCertificate,
        ),
        (
            sys::X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE,
            UnableToDecryptCertificateSignature,
        ),
        (
            sys::X509_V_ERR_UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY,
            UnableToDecodeIssuerPublicKey,
        ),
        (
            sys::X509_V_ERR_CERT_SIGNATURE_FAILURE,
            CertificateSignatureFailed,
        ),
        (sys::X509_V_ERR_CERT_NOT_YET_VALID, CertificateNotYetValid),
        (sys::X509_V_ERR_CERT_HAS_EXPIRED, CertificateExpired),
        (
            sys::X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD,
            InvalidNotBeforeField,
        ),
        (
            sys::X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD,
            InvalidNotAfterField,
        ),
        (
            sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
            SelfSignedCertificate,
        ),
        (
            sys::X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
            SelfSignedCertificateInChain,
        ),
        (
            sys::X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
            UnableToGetLocalIssuerCertificate,
        ),
        (
            sys::X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE,
            UnableToVerifyFirstCertificate,
        ),
        (sys::X509_V_ERR_CERT_REVOKED, CertificateRevoked),
        (sys::X509_V_ERR_INVALID_CA, InvalidCaCertificate),
        (sys::X509_V_ERR_PATH_LENGTH_EXCEEDED, PathLengthExceeded),
        (sys::X509_V_ERR_INVALID_PURPOSE, InvalidPurpose),
        (sys::X509_V_ERR_CERT_UNTRUSTED, CertificateUntrusted),
        (sys::X509_V_ERR_CERT_REJECTED, CertificateRejected),
    ];
    TABLE
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(UnspecifiedError, |(_, k)| *k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_qt_s_text() {
        assert_eq!(error_text(SslErrorKind::NoError), "No error");
        assert_eq!(error_text(SslErrorKind::UnspecifiedError), "Unknown error");
        assert_eq!(error_text(SslErrorKind::NoSslSupport), "");
        for kind in SslErrorKind::ALL {
            let text = error_text(*kind);
            if *kind != SslErrorKind::NoSslSupport {
                assert!(!text.is_empty(), "{kind}");
            }
        }
    }

    #[test]
    fn x509_codes_map_by_symbol() {
        use openssl_sys as sys;
        assert_eq!(
            kind_from_x509_code(sys::X509_V_ERR_INVALID_CA),
            SslErrorKind::InvalidCaCertificate
        );
        assert_eq!(
            kind_from_x509_code(sys::X509_V_ERR_CERT_CHAIN_TOO_LONG),
            SslErrorKind::UnspecifiedError
        );
        assert_eq!(
            kind_from_x509_code(sys::X509_V_ERR_HOSTNAME_MISMATCH),
            SslErrorKind::UnspecifiedError
        );
        #[cfg(ossl300)]
        assert_eq!(kind_from_x509_code(24), SslErrorKind::UnspecifiedError);
        assert_eq!(kind_from_x509_code(sys::X509_V_OK), SslErrorKind::NoError);
    }
}
