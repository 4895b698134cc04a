//! `SslCertificate` (Qt's `QSslCertificate`): an X.509 certificate, or a null one.

use std::fmt;
use std::hash::{Hash, Hasher};

use openssl::x509::{X509, X509Ref};

/// An X.509 certificate (Qt: `QSslCertificate`). A default-constructed certificate is null.
/// Equality and hashing compare the DER encoding.
#[derive(Clone, Default)]
#[doc(alias = "QSslCertificate")]
pub struct SslCertificate {
    x509: Option<X509>,
}

impl SslCertificate {
    /// Wraps an OpenSSL certificate.
    pub(crate) fn from_x509(x509: X509) -> SslCertificate {
        SslCertificate { x509: Some(x509) }
    }

    /// Copies (reference-counts) a borrowed OpenSSL certificate.
    pub(crate) fn from_x509_ref(x509: &X509Ref) -> SslCertificate {
        SslCertificate { x509: Some(x509.to_owned()) }
    }

    /// The OpenSSL certificate, `None` for a null certificate.
    pub(crate) fn as_x509(&self) -> Option<&X509Ref> {
        self.x509.as_deref()
    }

    /// Whether this is a null certificate (default-constructed or parsed from garbage).
    pub fn is_null(&self) -> bool {
        self.x509.is_none()
    }

    fn der(&self) -> Vec<u8> {
        self.x509.as_ref().and_then(|x| x.to_der().ok()).unwrap_or_default()
    }
}

impl PartialEq for SslCertificate {
    fn eq(&self, other: &Self) -> bool {
        self.der() == other.der()
    }
}

impl Eq for SslCertificate {}

impl Hash for SslCertificate {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.der().hash(state);
    }
}

impl fmt::Debug for SslCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.x509 {
            None => f.write_str("SslCertificate(null)"),
            Some(x) => write!(f, "SslCertificate({:?})", x.subject_name()),
        }
    }
}

impl SslCertificate {
    /// Loads every certificate found under `path` with the file each came from.
    /// (Skeleton: FixedString PEM only; the certificate issue completes it.)
    pub(crate) fn from_path_with_origin(
        path: &std::path::Path,
        _format: crate::EncodingFormat,
        _syntax: crate::PatternSyntax,
    ) -> Vec<(SslCertificate, std::path::PathBuf)> {
        let Ok(data) = std::fs::read(path) else { return Vec::new() };
        X509::stack_from_pem(&data)
            .unwrap_or_default()
            .into_iter()
            .map(|x| (SslCertificate::from_x509(x), path.to_path_buf()))
            .collect()
    }
}

impl SslCertificate {
    /// Parses every certificate in `data` (several for PEM, one for DER). Garbage gives an
    /// empty list. (Skeleton; the certificate issue completes it.)
    pub fn from_data(data: &[u8], format: crate::EncodingFormat) -> Vec<SslCertificate> {
        match format {
            crate::EncodingFormat::Pem => X509::stack_from_pem(data).unwrap_or_default(),
            crate::EncodingFormat::Der => X509::from_der(data).into_iter().collect(),
        }
        .into_iter()
        .map(SslCertificate::from_x509)
        .collect()
    }
}
