//! Turning PEM or DER bytes into an OpenSSL key without ever letting OpenSSL ask for a
//! passphrase on the terminal: PEM framing is parsed here, encrypted PKCS#8 is decrypted through a
//! callback that hands over exactly the given passphrase, and legacy `Proc-Type: 4,ENCRYPTED`
//! PEM is decrypted here (OpenSSL's `EVP_BytesToKey` scheme) before OpenSSL parses the DER.

use openssl::ec::EcKey;
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Rsa;

use super::KeyMaterial;
use crate::certificate::pem::{self, PemBlock};
use crate::{EncodingFormat, KeyType};

/// The longest passphrase OpenSSL's password callbacks accept (`PEM_BUFSIZE`).
const MAX_PASSPHRASE: usize = 1024;

/// Decodes `data` as a key of `key_type`. The error is a readable reason without a prefix.
pub(super) fn decode(
    data: &[u8],
    format: EncodingFormat,
    key_type: KeyType,
    pass_phrase: &[u8],
) -> Result<KeyMaterial, String> {
    if pass_phrase.len() > MAX_PASSPHRASE {
        return Err(format!(
            "the passphrase is longer than {MAX_PASSPHRASE} bytes"
        ));
    }
    match (format, key_type) {
        (EncodingFormat::Pem, KeyType::PrivateKey) => {
            let block = pem::blocks(data)
                .into_iter()
                .find(|b| b.label.ends_with("PRIVATE KEY"))
                .ok_or_else(|| missing_block(data, "private"))?;
            private_from_block(&block, pass_phrase).map(KeyMaterial::Private)
        }
        (EncodingFormat::Pem, KeyType::PublicKey) => {
            let block = pem::blocks(data)
                .into_iter()
                .find(|b| b.label == "PUBLIC KEY" || b.label == "RSA PUBLIC KEY")
                .ok_or_else(|| missing_block(data, "public"))?;
            public_from_der(&block.body, block.label == "RSA PUBLIC KEY").map(KeyMaterial::Public)
        }
        (EncodingFormat::Der, KeyType::PrivateKey) => {
            private_from_der(data, pass_phrase).map(KeyMaterial::Private)
        }
        (EncodingFormat::Der, KeyType::PublicKey) => {
            public_from_der(data, false).map(KeyMaterial::Public)
        }
    }
}

fn missing_block(data: &[u8], kind: &str) -> String {
    let other = if kind == "private" {
        "PUBLIC KEY"
    } else {
        "PRIVATE KEY"
    };
    if pem::blocks(data).iter().any(|b| b.label.ends_with(other)) {
        let found = if kind == "private" {
            "public"
        } else {
            "private"
        };
        format!("the PEM data holds a {found} key, not a {kind} key")
    } else {
        format!("no PEM {kind} key block found")
    }
}

fn private_from_block(block: &PemBlock, pass_phrase: &[u8]) -> Result<PKey<Private>, String> {
    match block.label.as_str() {
        "ENCRYPTED PRIVATE KEY" => encrypted_pkcs8(&block.body, pass_phrase),
        "PRIVATE KEY" => {
            PKey::private_key_from_pkcs8(&block.body).map_err(|e| reason("invalid PKCS#8 key", &e))
        }
        label => {
            let encrypted = block
                .header("Proc-Type")
                .is_some_and(|v| v.contains("ENCRYPTED"));
            let der = if encrypted {
                decrypt_legacy(block, pass_phrase)?
            } else {
                block.body.clone()
            };
            let parsed = match label {
                "RSA PRIVATE KEY" => Rsa::private_key_from_der(&der).and_then(PKey::from_rsa),
                "EC PRIVATE KEY" => EcKey::private_key_from_der(&der).and_then(PKey::from_ec_key),
                // d2i_AutoPrivateKey tells DSA and the rest apart by structure.
                _ => PKey::private_key_from_der(&der),
            };
            parsed.map_err(|e| {
                if encrypted {
                    reason("wrong passphrase or corrupt key", &e)
                } else {
                    reason(&format!("invalid {label}"), &e)
                }
            })
        }
    }
}

fn private_from_der(der: &[u8], pass_phrase: &[u8]) -> Result<PKey<Private>, String> {
    if is_encrypted_pkcs8(der) {
        return encrypted_pkcs8(der, pass_phrase);
    }
    // d2i_AutoPrivateKey: PKCS#1, SEC1, DSA and unencrypted PKCS#8.
    PKey::private_key_from_der(der).map_err(|e| reason("invalid DER private key", &e))
}

fn public_from_der(der: &[u8], pkcs1_first: bool) -> Result<PKey<Public>, String> {
    let pkcs1 = || Rsa::public_key_from_der_pkcs1(der).and_then(PKey::from_rsa);
    let spki = || PKey::public_key_from_der(der);
    let result = if pkcs1_first {
        pkcs1().or_else(|_| spki())
    } else {
        spki().or_else(|_| pkcs1())
    };
    result.map_err(|e| reason("invalid public key", &e))
}

/// PKCS#8 `EncryptedPrivateKeyInfo`, decrypted with exactly `pass_phrase` (one callback call).
fn encrypted_pkcs8(der: &[u8], pass_phrase: &[u8]) -> Result<PKey<Private>, String> {
    if pass_phrase.is_empty() {
        return Err("the key is encrypted and no passphrase was given".to_owned());
    }
    PKey::private_key_from_pkcs8_callback(der, |buffer| {
        let target = buffer
            .get_mut(..pass_phrase.len())
            .ok_or_else(ErrorStack::get)?;
        target.copy_from_slice(pass_phrase);
        Ok(pass_phrase.len())
    })
    .map_err(|e| reason("wrong passphrase or corrupt key", &e))
}

/// Whether `der` has the shape of an `EncryptedPrivateKeyInfo`:
/// `SEQUENCE { SEQUENCE { OID, ... }, OCTET STRING }` (Qt's test, without the OID list).
fn is_encrypted_pkcs8(der: &[u8]) -> bool {
    let Some((outer, _)) = pem::der_element(der, 0x30) else {
        return false;
    };
    let body = pem::der_contents(outer);
    let Some((algorithm, rest)) = pem::der_element(body, 0x30) else {
        return false;
    };
    let Some((_, rest)) = pem::der_element(rest, 0x04) else {
        return false;
    };
    rest.is_empty() && pem::der_element(pem::der_contents(algorithm), 0x06).is_some()
}

/// Decrypts a `Proc-Type: 4,ENCRYPTED` block: `DEK-Info: <cipher>,<hex IV>`, key from
/// `EVP_BytesToKey(cipher, MD5, salt = IV[..8], pass_phrase, 1 round)`.
fn decrypt_legacy(block: &PemBlock, pass_phrase: &[u8]) -> Result<Vec<u8>, String> {
    if pass_phrase.is_empty() {
        return Err("the key is encrypted and no passphrase was given".to_owned());
    }
    let dek = block
        .header("DEK-Info")
        .ok_or("an encrypted PEM key without a DEK-Info header")?;
    let (name, iv_hex) = dek.split_once(',').ok_or("a malformed DEK-Info header")?;
    let name = name.trim();
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err("a malformed DEK-Info header".to_owned());
    }
    let iv = hex(iv_hex.trim()).ok_or("a malformed DEK-Info IV")?;
    let cipher = openssl::cipher::Cipher::fetch(None, name, None)
        .map_err(|e| reason(&format!("unsupported PEM cipher {name}"), &e))?;
    if iv.len() != cipher.iv_length() || iv.len() < 8 {
        return Err(format!("a DEK-Info IV of the wrong length for {name}"));
    }
    // EVP_BytesToKey wants the cipher as the built-in table has it (the same NID).
    let legacy = openssl::symm::Cipher::from_nid(cipher.nid())
        .ok_or_else(|| format!("unsupported PEM cipher {name}"))?;
    if i32::try_from(pass_phrase.len()).is_err() {
        return Err("the passphrase is too long".to_owned());
    }
    let key =
        openssl::pkcs5::bytes_to_key(legacy, MessageDigest::md5(), pass_phrase, Some(&iv[..8]), 1)
            .map_err(|e| reason("key derivation failed", &e))?
            .key;
    let mut ctx =
        openssl::cipher_ctx::CipherCtx::new().map_err(|e| reason("cipher setup failed", &e))?;
    let mut plain = Vec::with_capacity(block.body.len() + cipher.block_size());
    ctx.decrypt_init(Some(&cipher), Some(&key), Some(&iv))
        .and_then(|()| ctx.cipher_update_vec(&block.body, &mut plain))
        .and_then(|_| ctx.cipher_final_vec(&mut plain))
        .map_err(|e| reason("wrong passphrase or corrupt key", &e))?;
    Ok(plain)
}

fn hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// `what` followed by OpenSSL's reasons, e.g. "wrong passphrase or corrupt key (bad decrypt)".
fn reason(what: &str, errors: &ErrorStack) -> String {
    let reasons: Vec<&str> = errors.errors().iter().filter_map(|e| e.reason()).collect();
    if reasons.is_empty() {
        what.to_owned()
    } else {
        format!("{what} ({})", reasons.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_parsing() {
        assert_eq!(hex("00ff10"), Some(vec![0, 255, 16]));
        assert_eq!(hex("0"), None);
        assert_eq!(hex("zz"), None);
        assert_eq!(hex("é1"), None);
    }

    #[test]
    fn encrypted_pkcs8_shape() {
        let key = PKey::ec_gen("prime256v1").expect("ec");
        let encrypted = key
            .private_key_to_pkcs8_passphrase(openssl::symm::Cipher::aes_128_cbc(), b"pw")
            .expect("pkcs8");
        assert!(is_encrypted_pkcs8(&encrypted));
        assert!(!is_encrypted_pkcs8(
            &key.private_key_to_pkcs8().expect("pkcs8")
        ));
        assert!(!is_encrypted_pkcs8(b""));
    }
}
