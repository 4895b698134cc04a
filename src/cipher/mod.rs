//! `SslCipher` (Qt's `QSslCipher`): a cipher suite as Qt describes it from OpenSSL's
//! `SSL_CIPHER_description`, plus cipher-string resolution (`resolve`) and the per-token
//! diagnosis [`SslCipher::report`] (`report`: the public types, `diagnose`: the analysis).

mod diagnose;
mod report;
mod resolve;

use std::collections::HashMap;
use std::sync::Mutex;

use foreign_types::ForeignTypeRef;
use once_cell::sync::Lazy;
use openssl::ssl::SslCipherRef;

use crate::SslProtocol;

pub use report::{
    CipherAvailability, CipherOperator, CipherReport, CipherReportEntry, CipherTokenKind,
};
pub(crate) use resolve::{CipherLists, cipher_lists_for, resolve_cipher_string};

/// A cipher suite (Qt: `QSslCipher`). A cipher built from an unknown name is null.
/// Equality compares name and protocol, as Qt does.
///
/// The fields come from OpenSSL's one-line description of the suite, read exactly as Qt 6
/// reads it: `ECDHE-RSA-AES128-GCM-SHA256` has protocol string `TLSv1.2`, key exchange `ECDH`,
/// authentication `RSA`, encryption `AESGCM(128)` and 128 used and supported bits; TLS 1.3
/// suites say `any` for key exchange and authentication. The protocol is the *lowest* version
/// that defined the suite (`AES256-SHA` says `SSLv3`, which Qt 6 maps to `UnknownProtocol`), not
/// the version a session negotiated; see `SslConfiguration::session_protocol` for that.
///
/// # Examples
/// ```
/// use qsslsocket::{SslCipher, SslProtocol};
///
/// let cipher = SslCipher::new("ECDHE-RSA-AES128-GCM-SHA256");
/// assert!(!cipher.is_null());
/// assert_eq!(cipher.protocol(), SslProtocol::TlsV1_2);
/// assert_eq!(cipher.key_exchange_method(), "ECDH");
/// assert_eq!(cipher.encryption_method(), "AESGCM(128)");
/// assert!(SslCipher::new("NO-SUCH-CIPHER").is_null());
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "QSslCipher")]
pub struct SslCipher {
    pub(crate) name: String,
    pub(crate) protocol: SslProtocol,
    pub(crate) protocol_string: String,
    pub(crate) key_exchange_method: String,
    pub(crate) authentication_method: String,
    pub(crate) encryption_method: String,
    pub(crate) used_bits: i32,
    pub(crate) supported_bits: i32,
}

impl SslCipher {
    /// The first supported cipher (see [`SslSocket::supported_ciphers`](crate::SslSocket::supported_ciphers))
    /// named `name`; a null cipher if there is none. Qt: `QSslCipher(const QString &name)`.
    #[doc(alias = "QSslCipher")]
    pub fn new(name: &str) -> SslCipher {
        crate::defaults::supported_cipher_list()
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .unwrap_or_default()
    }

    /// The supported cipher named `name` whose [`protocol`](Self::protocol) is `protocol`; a
    /// null cipher if there is none. Qt: `QSslCipher(const QString &name, QSsl::SslProtocol)`.
    ///
    /// ```
    /// use qsslsocket::{SslCipher, SslProtocol};
    ///
    /// let tls13 = SslCipher::with_protocol("TLS_AES_128_GCM_SHA256", SslProtocol::TlsV1_3);
    /// assert_eq!(tls13, SslCipher::new("TLS_AES_128_GCM_SHA256"));
    /// assert!(SslCipher::with_protocol("TLS_AES_128_GCM_SHA256", SslProtocol::TlsV1_2).is_null());
    /// ```
    #[doc(alias = "QSslCipher")]
    pub fn with_protocol(name: &str, protocol: SslProtocol) -> SslCipher {
        crate::defaults::supported_cipher_list()
            .iter()
            .find(|c| c.name == name && c.protocol == protocol)
            .cloned()
            .unwrap_or_default()
    }

    /// Describes an OpenSSL cipher the way Qt does (`SSL_CIPHER_description` and
    /// `SSL_CIPHER_get_bits`). Used for session ciphers and resolved cipher lists.
    pub(crate) fn from_openssl(cipher: &SslCipherRef) -> SslCipher {
        // OpenSSL's SSL_CIPHERs live in static tables for the life of the process, so the
        // address identifies the suite; describing it once saves the formatting and parsing on
        // every handshake.
        static DESCRIBED: Lazy<Mutex<HashMap<usize, SslCipher>>> = Lazy::new(Default::default);
        let address = cipher.as_ptr() as usize;
        if let Some(known) = DESCRIBED.lock().ok().and_then(|m| m.get(&address).cloned()) {
            return known;
        }
        let bits = cipher.bits();
        let described =
            SslCipher::from_description(&cipher.description(), bits.secret, bits.algorithm);
        if let Ok(mut m) = DESCRIBED.lock() {
            m.insert(address, described.clone());
        }
        described
    }

    /// Qt's parser of the one-line description: needs more than five space-separated fields
    /// (name, protocol, `Kx=`, `Au=`, `Enc=`, `Mac=`), else the cipher is null.
    fn from_description(description: &str, used_bits: i32, supported_bits: i32) -> SslCipher {
        let fields: Vec<&str> = description.split_whitespace().collect();
        if fields.len() <= 5 {
            return SslCipher::default();
        }
        let field =
            |i: usize, key: &str| fields[i].strip_prefix(key).unwrap_or_default().to_owned();
        SslCipher {
            name: fields[0].to_owned(),
            protocol: protocol_from_string(fields[1]),
            protocol_string: fields[1].to_owned(),
            key_exchange_method: field(2, "Kx="),
            authentication_method: field(3, "Au="),
            encryption_method: field(4, "Enc="),
            used_bits,
            supported_bits,
        }
    }

    /// Whether this is a null cipher (unknown name or default-constructed).
    #[doc(alias = "isNull")]
    pub fn is_null(&self) -> bool {
        self.name.is_empty()
    }

    /// The suite's OpenSSL name, e.g. `ECDHE-RSA-AES128-GCM-SHA256` or `TLS_AES_128_GCM_SHA256`;
    /// empty for a null cipher.
    pub fn name(&self) -> String {
        self.name.clone()
    }

    /// The protocol of [`protocol_string`](Self::protocol_string) as Qt 6 maps it: `TLSv1.3`,
    /// `TLSv1.2`, `TLSv1.1` and `TLSv1` to the TLS values, anything else (`SSLv3`) to
    /// `UnknownProtocol`.
    pub fn protocol(&self) -> SslProtocol {
        self.protocol
    }

    /// The lowest protocol version that defined the suite, as OpenSSL writes it (`TLSv1.2`).
    #[doc(alias = "protocolString")]
    pub fn protocol_string(&self) -> String {
        self.protocol_string.clone()
    }

    /// The key exchange (OpenSSL's `Kx=`): `ECDH`, `DH`, `RSA`, `PSK`, ...; `any` for TLS 1.3.
    #[doc(alias = "keyExchangeMethod")]
    pub fn key_exchange_method(&self) -> String {
        self.key_exchange_method.clone()
    }

    /// The server authentication (OpenSSL's `Au=`): `RSA`, `ECDSA`, `DSS`, ...; `any` for TLS 1.3.
    #[doc(alias = "authenticationMethod")]
    pub fn authentication_method(&self) -> String {
        self.authentication_method.clone()
    }

    /// The bulk encryption (OpenSSL's `Enc=`), with its key size: `AESGCM(128)`, `AES(256)`,
    /// `CHACHA20/POLY1305(256)`.
    #[doc(alias = "encryptionMethod")]
    pub fn encryption_method(&self) -> String {
        self.encryption_method.clone()
    }

    /// The security strength in bits (`SSL_CIPHER_get_bits`' return value).
    #[doc(alias = "usedBits")]
    pub fn used_bits(&self) -> i32 {
        self.used_bits
    }

    /// The key size of the encryption algorithm in bits (`SSL_CIPHER_get_bits`' out-parameter).
    #[doc(alias = "supportedBits")]
    pub fn supported_bits(&self) -> i32 {
        self.supported_bits
    }

    /// Whether this is a TLS 1.3 suite, which OpenSSL configures with `SSL_CTX_set_ciphersuites`
    /// instead of the cipher list (Qt also treats `TlsV1_3OrLater` this way).
    pub(crate) fn is_tls13(&self) -> bool {
        matches!(
            self.protocol,
            SslProtocol::TlsV1_3 | SslProtocol::TlsV1_3OrLater
        )
    }
}

impl Default for SslCipher {
    /// A null cipher: empty strings, no bits, `UnknownProtocol`.
    fn default() -> Self {
        SslCipher {
            name: String::new(),
            protocol: SslProtocol::UnknownProtocol,
            protocol_string: String::new(),
            key_exchange_method: String::new(),
            authentication_method: String::new(),
            encryption_method: String::new(),
            used_bits: 0,
            supported_bits: 0,
        }
    }
}

impl PartialEq for SslCipher {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.protocol == other.protocol
    }
}

impl Eq for SslCipher {}

impl std::hash::Hash for SslCipher {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.name.hash(state);
        self.protocol.hash(state);
    }
}

/// Qt 6's reading of OpenSSL's protocol field (`QTlsBackend::createCiphersuite`).
fn protocol_from_string(s: &str) -> SslProtocol {
    match s {
        "TLSv1.3" => SslProtocol::TlsV1_3,
        "TLSv1.2" => SslProtocol::TlsV1_2,
        "TLSv1.1" => SslProtocol::TlsV1_1,
        "TLSv1" => SslProtocol::TlsV1_0,
        _ => SslProtocol::UnknownProtocol,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_is_read_like_qt() {
        let d =
            "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 Kx=ECDH     Au=RSA   Enc=AESGCM(128)  Mac=AEAD\n";
        let c = SslCipher::from_description(d, 128, 128);
        assert_eq!(c.name, "ECDHE-RSA-AES128-GCM-SHA256");
        assert_eq!(c.protocol, SslProtocol::TlsV1_2);
        assert_eq!(c.key_exchange_method, "ECDH");
        assert_eq!(c.authentication_method, "RSA");
        assert_eq!(c.encryption_method, "AESGCM(128)");
        assert!(SslCipher::from_description("TOO SHORT Kx=A Au=B Enc=C", 1, 1).is_null());
        let sslv3 = SslCipher::from_description(
            "AES256-SHA SSLv3 Kx=RSA Au=RSA Enc=AES(256) Mac=SHA1",
            256,
            256,
        );
        assert_eq!(sslv3.protocol, SslProtocol::UnknownProtocol);
        assert_eq!(protocol_from_string("TLSv1"), SslProtocol::TlsV1_0);
        assert_eq!(protocol_from_string("TLSv1.1"), SslProtocol::TlsV1_1);
    }
}
