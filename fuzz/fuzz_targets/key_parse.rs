//! Keys from untrusted bytes (a file, a configuration value, a wrong passphrase): `SslKey::new`
//! and every accessor never panic; a key that loads survives its own DER and PEM.
//!
//! Input layout: `flags (1 byte) | passphrase length (1 byte) | passphrase | data`. `flags`
//! picks the algorithm (bits 0-2), the encoding (bit 3: DER) and the key type (bit 4: public).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qsslsocket::{EncodingFormat, KeyAlgorithm, KeyType, SslKey};

fuzz_target!(|input: &[u8]| {
    let [flags, pass_len, rest @ ..] = input else {
        return;
    };
    let (passphrase, data) = rest.split_at(usize::from(*pass_len).min(rest.len()));
    let algorithm = KeyAlgorithm::ALL[usize::from(flags & 7) % KeyAlgorithm::ALL.len()];
    let format = if flags & 8 == 8 {
        EncodingFormat::Der
    } else {
        EncodingFormat::Pem
    };
    let key_type = if flags & 16 == 16 {
        KeyType::PublicKey
    } else {
        KeyType::PrivateKey
    };
    let key = SslKey::new(data, algorithm, format, key_type, passphrase);
    let _ = (
        key.error_string(),
        key.length(),
        key.algorithm(),
        key.key_type(),
    );
    if key.is_null() {
        assert!(key.to_der().is_empty() && key.to_pem(b"").is_empty());
        return;
    }
    // Its own encodings load again (DER: to the same bytes).
    let reload = |bytes: &[u8], format: EncodingFormat, passphrase: &[u8]| {
        let again = SslKey::new(bytes, key.algorithm(), format, key.key_type(), passphrase);
        assert!(
            !again.is_null(),
            "{format:?} of a loaded key: {}",
            again.error_string()
        );
        again
    };
    let der = key.to_der();
    if !der.is_empty() {
        assert_eq!(reload(&der, EncodingFormat::Der, b"").to_der(), der);
    }
    let pem = key.to_pem(passphrase);
    if !pem.is_empty() {
        reload(&pem, EncodingFormat::Pem, passphrase);
    }
});
