//! `SslCipher` (Qt's `QSslCipher`): a cipher suite as Qt describes it from OpenSSL's
//! `SSL_CIPHER_description`.

use crate::SslProtocol;

/// A cipher suite (Qt: `QSslCipher`). A cipher built from an unknown name is null.
/// Equality compares name and protocol, as Qt does.
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

impl Default for SslCipher {
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

impl SslCipher {
    /// Whether this is a null cipher (unknown name or default-constructed).
    pub fn is_null(&self) -> bool {
        self.name.is_empty()
    }
}

/// What a cipher string resolved to: the cipher list `ciphers()` reports, and the string the
/// SSL_CTX is given (None when nothing resolved: the defaults stay).
#[derive(Clone, Debug, Default)]
pub(crate) struct ResolvedCiphers {
    pub(crate) ciphers: Vec<SslCipher>,
    pub(crate) openssl_string: Option<String>,
}

/// Resolves a `set_ciphers_str` string. (Skeleton; the cipher issue completes it.)
pub(crate) fn resolve_cipher_string(s: &str) -> ResolvedCiphers {
    ResolvedCiphers { ciphers: Vec::new(), openssl_string: Some(s.to_owned()).filter(|s| !s.is_empty()) }
}
