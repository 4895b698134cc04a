//! `SslKey` (Qt's `QSslKey`): a private or public key, or a null key with the reason it is null.

use openssl::pkey::{PKey, PKeyRef, Private, Public};

use crate::{KeyAlgorithm, KeyType};

/// The key material behind a non-null `SslKey`.
#[derive(Clone)]
pub(crate) enum KeyMaterial {
    Private(PKey<Private>),
    Public(PKey<Public>),
}

/// A private or public key (Qt: `QSslKey`). A key that failed to load is null, and
/// [`error_string`](SslKey::error_string) says why.
#[derive(Clone)]
#[doc(alias = "QSslKey")]
pub struct SslKey {
    material: Option<KeyMaterial>,
    algorithm: KeyAlgorithm,
    key_type: KeyType,
    error: String,
}

impl Default for SslKey {
    fn default() -> Self {
        SslKey { material: None, algorithm: KeyAlgorithm::Opaque, key_type: KeyType::PrivateKey, error: String::new() }
    }
}

impl SslKey {
    /// The private key, if this is a non-null private key.
    pub(crate) fn private_pkey(&self) -> Option<&PKeyRef<Private>> {
        match &self.material {
            Some(KeyMaterial::Private(k)) => Some(k),
            _ => None,
        }
    }

    /// Whether the key is null (default-constructed, or loading failed).
    pub fn is_null(&self) -> bool {
        self.material.is_none()
    }

    /// Why the key is null: empty for a loaded key or a default-constructed one.
    pub fn error_string(&self) -> String {
        self.error.clone()
    }
}

impl std::fmt::Debug for SslKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SslKey")
            .field("algorithm", &self.algorithm)
            .field("key_type", &self.key_type)
            .field("null", &self.is_null())
            .finish()
    }
}

impl PartialEq for SslKey {
    /// Qt compares algorithm, type, length and DER encoding.
    fn eq(&self, other: &Self) -> bool {
        fn der(k: &SslKey) -> Option<Vec<u8>> {
            match &k.material {
                None => None,
                Some(KeyMaterial::Private(p)) => p.private_key_to_der().ok(),
                Some(KeyMaterial::Public(p)) => p.public_key_to_der().ok(),
            }
        }
        self.algorithm == other.algorithm && self.key_type == other.key_type && der(self) == der(other)
    }
}

impl Eq for SslKey {}

impl SslKey {
    /// Loads a key. (Skeleton: unencrypted PEM private keys; the key issue completes it.)
    pub fn new(
        data: &[u8],
        algorithm: KeyAlgorithm,
        _format: crate::EncodingFormat,
        key_type: KeyType,
        _pass_phrase: &[u8],
    ) -> SslKey {
        match PKey::private_key_from_pem(data) {
            Ok(k) => SslKey { material: Some(KeyMaterial::Private(k)), algorithm, key_type, error: String::new() },
            Err(e) => SslKey { error: e.to_string(), ..SslKey::default() },
        }
    }
}
