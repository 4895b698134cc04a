//! `SslCertificate` (Qt's `QSslCertificate`): an X.509 certificate, or a null one.
//!
//! Submodules: `pem` (PEM/DER framing, shared with keys), `pattern` (`from_path` file selection),
//! `name` (subject/issuer entries, subjectAltName text), `blacklist` (Qt's fraudulent
//! certificates).

mod blacklist;
pub(crate) mod mint;
mod name;
mod pattern;
pub(crate) mod pem;

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use openssl::asn1::{Asn1Time, Asn1TimeRef};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::x509::{X509, X509Ref};

use crate::{
    AlternativeNameEntryType, DigestAlgorithm, EncodingFormat, PatternSyntax, SslKey, SubjectInfo,
};

/// An X.509 certificate (Qt: `QSslCertificate`). A default-constructed certificate is null.
///
/// Certificates are loaded with [`from_data`](SslCertificate::from_data) or
/// [`from_path`](SslCertificate::from_path), or come from a socket (`peer_certificate()`).
/// Every getter of a null certificate returns an empty value, as Qt's do. Equality is OpenSSL's
/// `X509_cmp` (SHA-1 digest, then the encoding); hashing uses the SHA-1 digest.
///
/// # Examples
///
/// ```
/// use qsslsocket::{DigestAlgorithm, EncodingFormat, SslCertificate, SubjectInfo};
///
/// # use openssl::{asn1::Asn1Time, bn::BigNum, hash::MessageDigest, pkey::PKey};
/// # use openssl::x509::{X509Builder, X509NameBuilder};
/// # let key = PKey::ec_gen("prime256v1").unwrap();
/// # let mut name = X509NameBuilder::new().unwrap();
/// # name.append_entry_by_text("CN", "example.org").unwrap();
/// # let name = name.build();
/// # let mut builder = X509Builder::new().unwrap();
/// # builder.set_version(2).unwrap();
/// # builder.set_serial_number(&BigNum::from_u32(1).unwrap().to_asn1_integer().unwrap()).unwrap();
/// # builder.set_subject_name(&name).unwrap();
/// # builder.set_issuer_name(&name).unwrap();
/// # builder.set_pubkey(&key).unwrap();
/// # builder.set_not_before(&Asn1Time::days_from_now(0).unwrap()).unwrap();
/// # builder.set_not_after(&Asn1Time::days_from_now(30).unwrap()).unwrap();
/// # builder.sign(&key, MessageDigest::sha256()).unwrap();
/// # let pem = builder.build().to_pem().unwrap();
/// // `pem` holds one self-signed "-----BEGIN CERTIFICATE-----" block; text around it is skipped.
/// let mut data = b"# my trusted server\n".to_vec();
/// data.extend_from_slice(&pem);
/// let certificates = SslCertificate::from_data(&data, EncodingFormat::Pem);
/// assert_eq!(certificates.len(), 1);
/// let certificate = &certificates[0];
/// assert_eq!(certificate.subject_info(SubjectInfo::CommonName), ["example.org"]);
/// assert_eq!(certificate.version(), b"3");
/// assert_eq!(certificate.serial_number(), b"01");
/// assert!(certificate.is_self_signed());
/// assert_eq!(certificate.digest(DigestAlgorithm::Sha256).len(), 32);
///
/// // Garbage gives an empty list, never a panic.
/// assert!(SslCertificate::from_data(b"\x30\x82garbage", EncodingFormat::Der).is_empty());
/// assert!(SslCertificate::default().is_null());
/// ```
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
        SslCertificate {
            x509: Some(x509.to_owned()),
        }
    }

    /// Parses every certificate in `data`.
    ///
    /// PEM: every `CERTIFICATE` block, in order, skipping text between blocks and blocks that do
    /// not decode (framing as Qt's: scanning stops at a BEGIN line not followed by a line end).
    /// DER: consecutive DER certificates, up to the first bytes that are not one. Garbage gives an
    /// empty list.
    #[doc(alias = "fromData")]
    pub fn from_data(data: &[u8], format: EncodingFormat) -> Vec<SslCertificate> {
        match format {
            EncodingFormat::Pem => pem::certificate_bodies(data)
                .iter()
                .filter_map(|der| X509::from_der(der).ok())
                .map(SslCertificate::from_x509)
                .collect(),
            EncodingFormat::Der => pem::der_elements(data, 0x30)
                .into_iter()
                .map_while(|der| X509::from_der(der).ok())
                .map(SslCertificate::from_x509)
                .collect(),
        }
    }

    /// Loads every certificate from the files that `path` selects (Qt: `QSslCertificate::fromPath`).
    ///
    /// With [`PatternSyntax::FixedString`] `path` must name a file (a directory gives nothing);
    /// all certificates in it are returned. With [`PatternSyntax::Wildcard`] (`*`, `?`, `[...]`,
    /// which do not match `/`) or [`PatternSyntax::RegExp`] (matched against the whole path) the
    /// directory before the first special character is walked recursively, following symbolic
    /// links (each directory once, so link loops end) and skipping hidden entries; every file whose
    /// path matches contributes its certificates. A pattern without a directory walks `.` and
    /// matches relative paths. Unreadable files and directories are skipped.
    ///
    /// Deliberate difference: Qt also walks and regex-matches a `FixedString` path that is not a
    /// file (reading its metacharacters as a regular expression); here it simply selects nothing.
    #[doc(alias = "fromPath")]
    pub fn from_path(
        path: impl AsRef<Path>,
        format: EncodingFormat,
        syntax: PatternSyntax,
    ) -> Vec<SslCertificate> {
        Self::from_path_with_origin(path.as_ref(), format, syntax)
            .into_iter()
            .map(|(certificate, _)| certificate)
            .collect()
    }

    /// Like [`from_path`](Self::from_path), with the file each certificate came from.
    pub(crate) fn from_path_with_origin(
        path: &Path,
        format: EncodingFormat,
        syntax: PatternSyntax,
    ) -> Vec<(SslCertificate, PathBuf)> {
        let mut out = Vec::new();
        for file in pattern::matching_files(path, syntax) {
            let Ok(data) = std::fs::read(&file) else {
                continue;
            };
            for certificate in SslCertificate::from_data(&data, format) {
                out.push((certificate, file.clone()));
            }
        }
        out
    }

    /// Makes this a null certificate.
    pub fn clear(&mut self) {
        self.x509 = None;
    }

    /// The OpenSSL certificate, `None` for a null certificate.
    pub(crate) fn as_x509(&self) -> Option<&X509Ref> {
        self.x509.as_deref()
    }

    /// Whether this is a null certificate (default-constructed or cleared).
    #[doc(alias = "isNull")]
    pub fn is_null(&self) -> bool {
        self.x509.is_none()
    }

    /// The X.509 version as decimal text, `b"3"` for a v3 certificate, `b"1"` for v1; empty for a
    /// null certificate.
    pub fn version(&self) -> Vec<u8> {
        self.x509
            .as_ref()
            .map(|x| (i64::from(x.version()) + 1).to_string().into_bytes())
            .unwrap_or_default()
    }

    /// The serial number as Qt writes it: the bytes of its magnitude in lower-case hex, separated
    /// by colons (`b"01:02:a0"`, `b"11"`); empty for a null certificate.
    #[doc(alias = "serialNumber")]
    pub fn serial_number(&self) -> Vec<u8> {
        let Some(x509) = &self.x509 else {
            return Vec::new();
        };
        let text: Vec<String> = serial_bytes(x509)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        text.join(":").into_bytes()
    }

    /// The `algorithm` digest of the DER encoding (Qt: `digest()`). As in Qt, a null certificate
    /// gives the digest of no bytes.
    pub fn digest(&self, algorithm: DigestAlgorithm) -> Vec<u8> {
        let md = match algorithm {
            DigestAlgorithm::Md5 => MessageDigest::md5(),
            DigestAlgorithm::Sha1 => MessageDigest::sha1(),
            DigestAlgorithm::Sha224 => MessageDigest::sha224(),
            DigestAlgorithm::Sha256 => MessageDigest::sha256(),
            DigestAlgorithm::Sha384 => MessageDigest::sha384(),
            DigestAlgorithm::Sha512 => MessageDigest::sha512(),
        };
        openssl::hash::hash(md, &self.to_der())
            .map(|d| d.to_vec())
            .unwrap_or_default()
    }

    /// The subject's values for `info` (e.g. every CN); empty if absent. Several values of one
    /// attribute come in Qt's order, the last in the certificate first (Qt keeps them in a
    /// `QMultiMap`, which lists a key's values most recent first), so `subject_info(..)[0]` is
    /// what Qt code reading `subjectInfo(..).first()` expects.
    ///
    /// Values are UTF-8 (BMP and other ASN.1 string types converted; embedded NULs kept).
    #[doc(alias = "subjectInfo")]
    pub fn subject_info(&self, info: SubjectInfo) -> Vec<String> {
        self.subject_info_by_attribute(name::attribute_of(info).as_bytes())
    }

    /// The issuer's values for `info`, as [`subject_info`](Self::subject_info).
    #[doc(alias = "issuerInfo")]
    pub fn issuer_info(&self, info: SubjectInfo) -> Vec<String> {
        self.issuer_info_by_attribute(name::attribute_of(info).as_bytes())
    }

    /// The subject's values for an attribute named as OpenSSL's short name (`b"CN"`, `b"O"`,
    /// `b"emailAddress"`, `b"favouriteDrink"`) or, for attributes OpenSSL has no name for, the
    /// dotted OID (`b"1.2.3.4"`). Qt: `subjectInfo(const QByteArray &)`.
    pub fn subject_info_by_attribute(&self, attribute: &[u8]) -> Vec<String> {
        self.x509
            .as_ref()
            .map(|x| name::values_qt_order(x.subject_name(), attribute))
            .unwrap_or_default()
    }

    /// The issuer's values for an attribute, as
    /// [`subject_info_by_attribute`](Self::subject_info_by_attribute).
    pub fn issuer_info_by_attribute(&self, attribute: &[u8]) -> Vec<String> {
        self.x509
            .as_ref()
            .map(|x| name::values_qt_order(x.issuer_name(), attribute))
            .unwrap_or_default()
    }

    /// The attributes present in the subject, each once, sorted bytewise (Qt's order).
    #[doc(alias = "subjectInfoAttributes")]
    pub fn subject_info_attributes(&self) -> Vec<Vec<u8>> {
        self.x509
            .as_ref()
            .map(|x| name::attributes(x.subject_name()))
            .unwrap_or_default()
    }

    /// The attributes present in the issuer, each once, sorted bytewise (Qt's order).
    #[doc(alias = "issuerInfoAttributes")]
    pub fn issuer_info_attributes(&self) -> Vec<Vec<u8>> {
        self.x509
            .as_ref()
            .map(|x| name::attributes(x.issuer_name()))
            .unwrap_or_default()
    }

    /// A name for the subject, as Qt 6 picks it: `subjectInfo(CommonName).first()`, else the
    /// same for O, else for OU, else empty. Qt lists several values of one attribute most recent
    /// first, so with two CNs this is the one that comes **last** in the certificate (the last
    /// element of [`subject_info`](Self::subject_info), which keeps certificate order).
    #[doc(alias = "subjectDisplayName")]
    pub fn subject_display_name(&self) -> String {
        self.x509
            .as_ref()
            .map(|x| name::display_name(x.subject_name()))
            .unwrap_or_default()
    }

    /// A name for the issuer, by the rule of [`subject_display_name`](Self::subject_display_name).
    #[doc(alias = "issuerDisplayName")]
    pub fn issuer_display_name(&self) -> String {
        self.x509
            .as_ref()
            .map(|x| name::display_name(x.issuer_name()))
            .unwrap_or_default()
    }

    /// The DNS, email and IP entries of the subjectAltName extension, in certificate order.
    ///
    /// IP addresses are text as Qt's `QHostAddress::toString()` writes them: `127.0.0.1`, `::1`,
    /// `2001:db8::1`, `::ffff:192.0.2.1`. DNS and email entries are read as Latin-1, as Qt reads
    /// them (a byte 0xE9 is `é`; UTF-8 `é` shows as `Ã©`). Other entry kinds, and entries of
    /// 8 KiB or more, are skipped.
    /// Qt returns a map ordered by kind; this keeps certificate order.
    #[doc(alias = "subjectAlternativeNames")]
    pub fn subject_alternative_names(&self) -> Vec<(AlternativeNameEntryType, String)> {
        self.x509
            .as_ref()
            .map(|x| name::alternative_names(x))
            .unwrap_or_default()
    }

    /// When the certificate becomes valid (notBefore). Dates before 1970 and far in the future are
    /// exact; a null certificate, or a date OpenSSL cannot read, gives `UNIX_EPOCH`.
    #[doc(alias = "effectiveDate")]
    pub fn effective_date(&self) -> SystemTime {
        self.x509
            .as_ref()
            .and_then(|x| system_time(x.not_before()))
            .unwrap_or(UNIX_EPOCH)
    }

    /// When the certificate expires (notAfter), as [`effective_date`](Self::effective_date).
    #[doc(alias = "expiryDate")]
    pub fn expiry_date(&self) -> SystemTime {
        self.x509
            .as_ref()
            .and_then(|x| system_time(x.not_after()))
            .unwrap_or(UNIX_EPOCH)
    }

    /// Whether the certificate is self-signed: its issuer name equals its subject name and its
    /// signature verifies with its own public key (OpenSSL's `X509_self_signed(cert, 1)` test).
    /// False for a null certificate.
    ///
    /// Qt 6 uses `X509_check_issued(cert, cert)`, which does not verify the signature (a
    /// certificate that merely names itself as issuer counts) but rejects a self-issued
    /// certificate whose key usage lacks keyCertSign. This follows the signature instead, so it
    /// agrees with OpenSSL's `SelfSignedCertificate` verification errors.
    #[doc(alias = "isSelfSigned")]
    pub fn is_self_signed(&self) -> bool {
        let Some(x509) = &self.x509 else { return false };
        if !matches!(
            x509.subject_name().try_cmp(x509.issuer_name()),
            Ok(Ordering::Equal)
        ) {
            return false;
        }
        let verified = x509
            .public_key()
            .and_then(|key| x509.verify(&key))
            .unwrap_or(false);
        // A failed X509_verify leaves its reason on the thread's error queue: drop it.
        let _ = ErrorStack::get();
        verified
    }

    /// Whether this is one of the fraudulent certificates Qt lists (Comodo 2011, DigiNotar,
    /// TurkTrust, ANSSI, NIC India, ...): its serial number is listed together with its subject
    /// or issuer CN. False for a null certificate.
    #[doc(alias = "isBlacklisted")]
    pub fn is_blacklisted(&self) -> bool {
        let Some(x509) = &self.x509 else {
            return false;
        };
        blacklist::is_blacklisted(&serial_bytes(x509), || {
            (
                self.subject_info(SubjectInfo::CommonName),
                self.issuer_info(SubjectInfo::CommonName),
            )
        })
    }

    /// The subject's public key, a [`KeyType::PublicKey`](crate::KeyType::PublicKey) key with
    /// its algorithm (RSA, DSA, EC, DH; [`KeyAlgorithm::Opaque`](crate::KeyAlgorithm::Opaque) for
    /// others such as Ed25519). Null for a null certificate or an unreadable key.
    #[doc(alias = "publicKey")]
    pub fn public_key(&self) -> SslKey {
        match self.x509.as_ref().map(|x| x.public_key()) {
            Some(Ok(key)) => SslKey::from_public_pkey(key),
            _ => SslKey::default(),
        }
    }

    /// The certificate as PEM (64-column Base64 between BEGIN/END CERTIFICATE lines, each line
    /// ending in `\n`); empty for a null certificate.
    #[doc(alias = "toPem")]
    pub fn to_pem(&self) -> Vec<u8> {
        self.x509
            .as_ref()
            .and_then(|x| x.to_pem().ok())
            .unwrap_or_default()
    }

    /// The certificate as DER; empty for a null certificate.
    #[doc(alias = "toDer")]
    pub fn to_der(&self) -> Vec<u8> {
        self.x509
            .as_ref()
            .and_then(|x| x.to_der().ok())
            .unwrap_or_default()
    }

    /// OpenSSL's human-readable dump (`X509_print`, as `openssl x509 -text` prints it); empty for
    /// a null certificate. Bytes are read as Latin-1, as Qt does.
    #[doc(alias = "toText")]
    pub fn to_text(&self) -> String {
        let text = self
            .x509
            .as_ref()
            .and_then(|x| x.to_text().ok())
            .unwrap_or_default();
        name::latin1(&text)
    }
}

impl PartialEq for SslCertificate {
    fn eq(&self, other: &Self) -> bool {
        match (&self.x509, &other.x509) {
            (None, None) => true,
            // X509_cmp: the cached SHA-1 digests, then the cached encodings; no re-encoding.
            (Some(a), Some(b)) => a.as_ref() == b.as_ref(),
            _ => false,
        }
    }
}

impl Eq for SslCertificate {}

impl Hash for SslCertificate {
    /// The SHA-1 digest of the certificate, which `eq` (`X509_cmp`) compares first, so equal
    /// certificates hash alike; OpenSSL 3 caches it with the certificate's extensions (after a
    /// comparison or a verification), so hashing does not re-encode the certificate. A null
    /// certificate hashes nothing.
    fn hash<H: Hasher>(&self, state: &mut H) {
        if let Some(Ok(digest)) = self.x509.as_ref().map(|x| x.digest(MessageDigest::sha1())) {
            state.write(&digest);
        }
    }
}

impl fmt::Debug for SslCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_null() {
            return f.write_str("SslCertificate(null)");
        }
        f.debug_struct("SslCertificate")
            .field("subject", &self.subject_display_name())
            .field("issuer", &self.issuer_display_name())
            .field(
                "serial_number",
                &String::from_utf8_lossy(&self.serial_number()),
            )
            .finish()
    }
}

/// The serial number's magnitude, big-endian, as Qt reads it (at least one byte: zero is `[0]`).
fn serial_bytes(x509: &X509Ref) -> Vec<u8> {
    let bytes = x509
        .serial_number()
        .to_bn()
        .map(|bn| bn.to_vec())
        .unwrap_or_default();
    if bytes.is_empty() { vec![0] } else { bytes }
}

/// An ASN.1 time as `SystemTime`, through its distance from the epoch (so dates before 1970 and
/// after 2038 work); `None` if OpenSSL cannot read it.
fn system_time(time: &Asn1TimeRef) -> Option<SystemTime> {
    let epoch = Asn1Time::from_unix(0).ok()?;
    let diff = epoch.diff(time).ok()?;
    let seconds = i64::from(diff.days) * 86_400 + i64::from(diff.secs);
    if seconds >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_secs(seconds.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_secs(seconds.unsigned_abs()))
    }
}

#[cfg(test)]
mod tests {
    use std::hash::{BuildHasher, RandomState};

    use super::*;
    use crate::verification::test_support::self_signed_ca;

    #[test]
    fn hash_agrees_with_equality_before_and_after_openssl_caches_the_digest() {
        let hasher = RandomState::new();
        let der = self_signed_ca("hashed").to_der();
        let parse = || SslCertificate::from_data(&der, EncodingFormat::Der).remove(0);
        let (a, b) = (parse(), parse());
        // Fresh parses: the digest may not be cached yet.
        let (fresh_a, fresh_b) = (hasher.hash_one(&a), hasher.hash_one(&b));
        assert_eq!(fresh_a, fresh_b);
        // X509_cmp caches the extensions and the digest with them.
        assert_eq!(a, b);
        assert_eq!(hasher.hash_one(&a), fresh_a);
        assert_ne!(hasher.hash_one(self_signed_ca("other")), fresh_a);
        assert_eq!(
            hasher.hash_one(SslCertificate::default()),
            hasher.hash_one(SslCertificate::default())
        );
    }
}
