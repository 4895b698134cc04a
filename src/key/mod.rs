//! `SslKey` (Qt's `QSslKey`): a private or public key, or a null key with the reason it is null.

mod decode;

use std::fmt;

use openssl::pkey::{Id, PKey, PKeyRef, Private, Public};
use openssl::symm::Cipher;

use crate::{EncodingFormat, KeyAlgorithm, KeyType};

/// The key material behind a non-null `SslKey`.
#[derive(Clone)]
pub(crate) enum KeyMaterial {
    Private(PKey<Private>),
    Public(PKey<Public>),
}

/// A private or public key (Qt: `QSslKey`). A key that failed to load is null, and
/// [`error_string`](SslKey::error_string) says why.
///
/// RSA, DSA, EC and DH keys are read from PEM (PKCS#1 / SEC1 / DSA "traditional" blocks, PKCS#8
/// `PRIVATE KEY`, `PUBLIC KEY`, `RSA PUBLIC KEY`) or DER, encrypted ones (legacy
/// `Proc-Type: 4,ENCRYPTED` PEM and PKCS#8 `ENCRYPTED PRIVATE KEY`) with the given passphrase.
/// OpenSSL is never left to prompt for a passphrase on the terminal: an encrypted key with an
/// empty passphrase is simply null.
///
/// Keys of other algorithms (Ed25519, X25519, ...) load only when
/// [`KeyAlgorithm::Opaque`] is requested, which accepts any key: the loaded key then reports its
/// real algorithm when it is one of Qt's, and `Opaque` otherwise (as Qt's `QSslKey(handle)` does).
///
/// Two keys are equal when both are null, or when algorithm, type, length and DER encoding match.
///
/// # Examples
///
/// ```
/// use qsslsocket::{EncodingFormat, KeyAlgorithm, KeyType, SslKey};
///
/// # let generated = openssl::ec::EcKey::generate(
/// #     &openssl::ec::EcGroup::from_curve_name(openssl::nid::Nid::X9_62_PRIME256V1).unwrap(),
/// # ).unwrap();
/// # let pem = generated.private_key_to_pem().unwrap();
/// // `pem` holds "-----BEGIN EC PRIVATE KEY-----" ...
/// let key = SslKey::new(&pem, KeyAlgorithm::Ec, EncodingFormat::Pem, KeyType::PrivateKey, b"");
/// assert!(!key.is_null());
/// assert_eq!(key.length(), 256);
///
/// // Export encrypted, read back with the passphrase; a wrong one gives a null key and a reason.
/// let encrypted = key.to_pem(b"s3cret");
/// let again = SslKey::new(&encrypted, KeyAlgorithm::Ec, EncodingFormat::Pem, KeyType::PrivateKey, b"s3cret");
/// assert_eq!(again, key);
/// let wrong = SslKey::new(&encrypted, KeyAlgorithm::Ec, EncodingFormat::Pem, KeyType::PrivateKey, b"nope");
/// assert!(wrong.is_null());
/// assert!(wrong.error_string().contains("passphrase"));
///
/// // Asking for the wrong algorithm is an error too.
/// let rsa = SslKey::new(&pem, KeyAlgorithm::Rsa, EncodingFormat::Pem, KeyType::PrivateKey, b"");
/// assert!(rsa.is_null());
/// ```
#[derive(Clone)]
#[doc(alias = "QSslKey")]
pub struct SslKey {
    material: Option<KeyMaterial>,
    algorithm: KeyAlgorithm,
    key_type: KeyType,
    error: String,
}

impl Default for SslKey {
    /// A null key: algorithm `Opaque`, type `PublicKey`, as Qt's default `QSslKey`.
    fn default() -> Self {
        SslKey {
            material: None,
            algorithm: KeyAlgorithm::Opaque,
            key_type: KeyType::PublicKey,
            error: String::new(),
        }
    }
}

impl SslKey {
    /// Loads a key of `algorithm` and `key_type` from `data` in `format`, decrypting it with
    /// `pass_phrase` if it is encrypted (Qt: `QSslKey(encoded, algorithm, encoding, type,
    /// passPhrase)`).
    ///
    /// In PEM, the first block of the requested type is used (so a file holding a certificate and
    /// its key works); text around blocks is skipped. A passphrase given for an unencrypted key is
    /// ignored.
    ///
    /// # Errors
    ///
    /// Corrupt data, a missing, wrong or unneeded-but-required passphrase, or a key of another
    /// algorithm than requested give a null key whose [`error_string`](SslKey::error_string)
    /// starts with what failed ("Cannot load RSA private key: ...") and continues with why
    /// ("wrong passphrase or corrupt key (bad decrypt)"). Like Qt, a failed key keeps the requested
    /// algorithm and type (except for empty `data`, which gives a default null key).
    pub fn new(
        data: &[u8],
        algorithm: KeyAlgorithm,
        format: EncodingFormat,
        key_type: KeyType,
        pass_phrase: &[u8],
    ) -> SslKey {
        let what = match algorithm {
            KeyAlgorithm::Opaque => String::new(),
            other => format!("{} ", algorithm_name(other)),
        };
        let kind = if key_type == KeyType::PrivateKey {
            "private"
        } else {
            "public"
        };
        let failed = |reason: String| SslKey {
            material: None,
            algorithm,
            key_type,
            error: format!("Cannot load {what}{kind} key: {reason}"),
        };
        if data.is_empty() {
            return SslKey {
                error: format!("Cannot load {what}{kind} key: no data"),
                ..SslKey::default()
            };
        }
        let material = match decode::decode(data, format, key_type, pass_phrase) {
            Ok(material) => material,
            Err(reason) => return failed(reason),
        };
        let loaded = match material {
            KeyMaterial::Private(key) => SslKey::from_private_pkey(key),
            KeyMaterial::Public(key) => SslKey::from_public_pkey(key),
        };
        if algorithm != KeyAlgorithm::Opaque && loaded.algorithm != algorithm {
            return failed(format!(
                "the data holds {} key, not {} key",
                with_article(loaded.algorithm),
                with_article(algorithm)
            ));
        }
        loaded
    }

    /// Wraps an OpenSSL private key; the algorithm is read from the key.
    pub(crate) fn from_private_pkey(key: PKey<Private>) -> SslKey {
        SslKey {
            algorithm: algorithm_of(key.id()),
            key_type: KeyType::PrivateKey,
            material: Some(KeyMaterial::Private(key)),
            error: String::new(),
        }
    }

    /// Wraps an OpenSSL public key; the algorithm is read from the key.
    pub(crate) fn from_public_pkey(key: PKey<Public>) -> SslKey {
        SslKey {
            algorithm: algorithm_of(key.id()),
            key_type: KeyType::PublicKey,
            material: Some(KeyMaterial::Public(key)),
            error: String::new(),
        }
    }

    /// Makes this a null key (algorithm `Opaque`, type `PublicKey`, no error).
    pub fn clear(&mut self) {
        *self = SslKey::default();
    }

    /// The private key, if this is a non-null private key.
    pub(crate) fn private_pkey(&self) -> Option<&PKeyRef<Private>> {
        match &self.material {
            Some(KeyMaterial::Private(k)) => Some(k),
            _ => None,
        }
    }

    /// Whether the key is null (default-constructed, cleared, or loading failed).
    #[doc(alias = "isNull")]
    pub fn is_null(&self) -> bool {
        self.material.is_none()
    }

    /// Why the key is null: empty for a loaded key or a default-constructed one. (Not in Qt.)
    pub fn error_string(&self) -> String {
        self.error.clone()
    }

    /// The key size in bits, as Qt counts it: the modulus for RSA, the prime `p` for DSA and DH,
    /// the curve degree for EC (256 for P-256, 521 for P-521). -1 for a null key and, as in Qt,
    /// for an `Opaque` key.
    pub fn length(&self) -> i32 {
        let Some(material) = &self.material else {
            return -1;
        };
        let bits = match (self.algorithm, material) {
            (KeyAlgorithm::Opaque, _) => return -1,
            (KeyAlgorithm::Ec, KeyMaterial::Private(k)) => {
                k.ec_key().map(|ec| ec.group().degree()).unwrap_or(k.bits())
            }
            (KeyAlgorithm::Ec, KeyMaterial::Public(k)) => {
                k.ec_key().map(|ec| ec.group().degree()).unwrap_or(k.bits())
            }
            (_, KeyMaterial::Private(k)) => k.bits(),
            (_, KeyMaterial::Public(k)) => k.bits(),
        };
        i32::try_from(bits).unwrap_or(-1)
    }

    /// The key's algorithm; `Opaque` for a default-constructed key or one whose algorithm Qt does
    /// not model. A key that failed to load reports the requested algorithm, as in Qt.
    pub fn algorithm(&self) -> KeyAlgorithm {
        self.algorithm
    }

    /// Whether this is a private or a public key (Qt: `type()`); `PublicKey` for a
    /// default-constructed key.
    #[doc(alias = "type")]
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The key as PEM (Qt: `toPem(passPhrase)`); empty for a null key.
    ///
    /// A public key is a `PUBLIC KEY` block, never encrypted. A private key without a passphrase
    /// is written in its traditional format, as Qt writes it (`RSA PRIVATE KEY`, `DSA PRIVATE
    /// KEY`, `EC PRIVATE KEY`; PKCS#8 `PRIVATE KEY` for DH and other algorithms). With a
    /// non-empty passphrase it is an `ENCRYPTED PRIVATE KEY` (PKCS#8, PBES2 with PBKDF2 and
    /// AES-256-CBC), where Qt writes legacy PEM encryption with DES-EDE3-CBC and an MD5-based key
    /// derivation; both Qt and this crate read either form.
    #[doc(alias = "toPem")]
    pub fn to_pem(&self, pass_phrase: &[u8]) -> Vec<u8> {
        let result = match &self.material {
            None => return Vec::new(),
            Some(KeyMaterial::Public(key)) => key.public_key_to_pem(),
            Some(KeyMaterial::Private(key)) if !pass_phrase.is_empty() => {
                key.private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), pass_phrase)
            }
            Some(KeyMaterial::Private(key)) => match self.algorithm {
                KeyAlgorithm::Rsa => key.rsa().and_then(|k| k.private_key_to_pem()),
                KeyAlgorithm::Dsa => key.dsa().and_then(|k| k.private_key_to_pem()),
                KeyAlgorithm::Ec => key.ec_key().and_then(|k| k.private_key_to_pem()),
                KeyAlgorithm::Dh | KeyAlgorithm::Opaque => key.private_key_to_pem_pkcs8(),
            },
        };
        result.unwrap_or_default()
    }

    /// The key as DER (Qt: `toDer()`); empty for a null key.
    ///
    /// Public keys are `SubjectPublicKeyInfo`; private keys use the traditional structure of
    /// [`to_pem`](Self::to_pem) (PKCS#1, DSA, SEC1; PKCS#8 for DH and others). DER is never
    /// encrypted: Qt returns nothing for an encrypted DER export (QTBUG-41038), so this takes no
    /// passphrase; use [`to_pem`](Self::to_pem) for an encrypted export.
    #[doc(alias = "toDer")]
    pub fn to_der(&self) -> Vec<u8> {
        let result = match &self.material {
            None => return Vec::new(),
            Some(KeyMaterial::Public(key)) => key.public_key_to_der(),
            Some(KeyMaterial::Private(key)) => match self.algorithm {
                KeyAlgorithm::Rsa => key.rsa().and_then(|k| k.private_key_to_der()),
                KeyAlgorithm::Dsa => key.dsa().and_then(|k| k.private_key_to_der()),
                KeyAlgorithm::Ec => key.ec_key().and_then(|k| k.private_key_to_der()),
                KeyAlgorithm::Dh | KeyAlgorithm::Opaque => key.private_key_to_pkcs8(),
            },
        };
        result.unwrap_or_default()
    }
}

impl fmt::Debug for SslKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("SslKey");
        s.field("algorithm", &self.algorithm)
            .field("key_type", &self.key_type);
        if self.is_null() {
            s.field("null", &true);
            if !self.error.is_empty() {
                s.field("error", &self.error);
            }
        } else {
            s.field("length", &self.length());
        }
        s.finish()
    }
}

impl PartialEq for SslKey {
    /// Qt's rule: both null, or equal algorithm, type, length and DER encoding.
    fn eq(&self, other: &Self) -> bool {
        match (self.is_null(), other.is_null()) {
            (true, true) => true,
            (false, false) => {
                self.algorithm == other.algorithm
                    && self.key_type == other.key_type
                    && self.length() == other.length()
                    && self.to_der() == other.to_der()
            }
            _ => false,
        }
    }
}

impl Eq for SslKey {}

/// Qt's algorithm for an OpenSSL key type.
fn algorithm_of(id: Id) -> KeyAlgorithm {
    match id {
        Id::RSA => KeyAlgorithm::Rsa,
        Id::DSA => KeyAlgorithm::Dsa,
        Id::EC => KeyAlgorithm::Ec,
        Id::DH | Id::DHX => KeyAlgorithm::Dh,
        _ => KeyAlgorithm::Opaque,
    }
}

fn algorithm_name(algorithm: KeyAlgorithm) -> &'static str {
    match algorithm {
        KeyAlgorithm::Rsa => "RSA",
        KeyAlgorithm::Dsa => "DSA",
        KeyAlgorithm::Ec => "EC",
        KeyAlgorithm::Dh => "DH",
        KeyAlgorithm::Opaque => "opaque",
    }
}

fn with_article(algorithm: KeyAlgorithm) -> String {
    let name = algorithm_name(algorithm);
    let article = if matches!(
        algorithm,
        KeyAlgorithm::Rsa | KeyAlgorithm::Ec | KeyAlgorithm::Opaque
    ) {
        "an"
    } else {
        "a"
    };
    format!("{article} {name}")
}
