//! `SslKey`: every algorithm in every encoding, encrypted PEM in both schemes, round trips,
//! lengths, and the null key with its reason for bad input.
mod common;

use std::sync::OnceLock;

use common::pki::{KeyKind, key, pki};
use openssl::dh::Dh;
use openssl::dsa::Dsa;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::symm::Cipher;
use qsslsocket::{EncodingFormat, KeyAlgorithm, KeyType, SslKey};

use EncodingFormat::{Der, Pem};
use KeyType::{PrivateKey, PublicKey};

fn load(
    data: &[u8],
    algorithm: KeyAlgorithm,
    format: EncodingFormat,
    key_type: KeyType,
    pass: &[u8],
) -> SslKey {
    SslKey::new(data, algorithm, format, key_type, pass)
}

/// One generated key of each algorithm Qt models, with the length Qt reports for it.
struct Sample {
    algorithm: KeyAlgorithm,
    key: PKey<Private>,
    length: i32,
}

fn samples() -> &'static [Sample] {
    static SAMPLES: OnceLock<Vec<Sample>> = OnceLock::new();
    SAMPLES.get_or_init(|| {
        let ec = |nid| {
            PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(nid).unwrap()).unwrap())
                .unwrap()
        };
        let dh = Dh::get_2048_256().unwrap().generate_key().unwrap();
        vec![
            Sample {
                algorithm: KeyAlgorithm::Rsa,
                key: key(KeyKind::Rsa2048, false),
                length: 2048,
            },
            Sample {
                algorithm: KeyAlgorithm::Rsa,
                key: key(KeyKind::Rsa1024, false),
                length: 1024,
            },
            Sample {
                algorithm: KeyAlgorithm::Dsa,
                key: PKey::from_dsa(Dsa::generate(1024).unwrap()).unwrap(),
                length: 1024,
            },
            Sample {
                algorithm: KeyAlgorithm::Ec,
                key: key(KeyKind::EcP256, false),
                length: 256,
            },
            Sample {
                algorithm: KeyAlgorithm::Ec,
                key: ec(Nid::SECP384R1),
                length: 384,
            },
            Sample {
                algorithm: KeyAlgorithm::Ec,
                key: ec(Nid::SECP521R1),
                length: 521,
            },
            Sample {
                algorithm: KeyAlgorithm::Dh,
                key: PKey::from_dh(dh).unwrap(),
                length: 2048,
            },
        ]
    })
}

/// The key's traditional PEM and DER (PKCS#1, DSA, SEC1; PKCS#8 for DH), as OpenSSL writes them.
fn traditional(s: &Sample) -> (Vec<u8>, Vec<u8>) {
    match s.algorithm {
        KeyAlgorithm::Rsa => {
            let k = s.key.rsa().unwrap();
            (
                k.private_key_to_pem().unwrap(),
                k.private_key_to_der().unwrap(),
            )
        }
        KeyAlgorithm::Dsa => {
            let k = s.key.dsa().unwrap();
            (
                k.private_key_to_pem().unwrap(),
                k.private_key_to_der().unwrap(),
            )
        }
        KeyAlgorithm::Ec => {
            let k = s.key.ec_key().unwrap();
            (
                k.private_key_to_pem().unwrap(),
                k.private_key_to_der().unwrap(),
            )
        }
        _ => (
            s.key.private_key_to_pem_pkcs8().unwrap(),
            s.key.private_key_to_pkcs8().unwrap(),
        ),
    }
}

#[test]
fn private_keys_in_every_encoding() {
    for s in samples() {
        let (pem, der) = traditional(s);
        let encodings: [(&str, Vec<u8>, EncodingFormat); 4] = [
            ("traditional PEM", pem.clone(), Pem),
            ("traditional DER", der.clone(), Der),
            ("PKCS#8 PEM", s.key.private_key_to_pem_pkcs8().unwrap(), Pem),
            ("PKCS#8 DER", s.key.private_key_to_pkcs8().unwrap(), Der),
        ];
        let reference = load(&pem, s.algorithm, Pem, PrivateKey, b"");
        for (what, data, format) in encodings {
            let k = load(&data, s.algorithm, format, PrivateKey, b"");
            let tag = format!("{:?} {} {what}", s.algorithm, s.length);
            assert!(!k.is_null(), "{tag}: {}", k.error_string());
            assert_eq!(k.error_string(), "", "{tag}");
            assert_eq!(k.algorithm(), s.algorithm, "{tag}");
            assert_eq!(k.key_type(), PrivateKey, "{tag}");
            assert_eq!(k.length(), s.length, "{tag}");
            assert_eq!(k, reference, "{tag}");
            // Qt writes the traditional form back (PKCS#8 for DH).
            assert_eq!(k.to_pem(b""), pem, "{tag}");
            assert_eq!(k.to_der(), der, "{tag}");
            let debug = format!("{k:?}");
            assert!(
                debug.contains(&format!("{:?}", s.algorithm))
                    && debug.contains(&s.length.to_string()),
                "{debug}"
            );
        }
    }
}

#[test]
fn public_keys_in_every_encoding() {
    for s in samples() {
        let spki_pem = s.key.public_key_to_pem().unwrap();
        let spki_der = s.key.public_key_to_der().unwrap();
        let tag = format!("{:?} {}", s.algorithm, s.length);
        for (data, format) in [(&spki_pem, Pem), (&spki_der, Der)] {
            let k = load(data, s.algorithm, format, PublicKey, b"");
            assert!(!k.is_null(), "{tag}: {}", k.error_string());
            assert_eq!(
                (k.algorithm(), k.key_type(), k.length()),
                (s.algorithm, PublicKey, s.length),
                "{tag}"
            );
            assert_eq!(k.to_pem(b""), spki_pem, "{tag}");
            // A passphrase never encrypts a public key.
            assert_eq!(k.to_pem(b"secret"), spki_pem, "{tag}");
            assert_eq!(k.to_der(), spki_der, "{tag}");
        }
        let private = load(&traditional(s).0, s.algorithm, Pem, PrivateKey, b"");
        let public = load(&spki_pem, s.algorithm, Pem, PublicKey, b"");
        assert_ne!(
            private, public,
            "{tag}: a private key never equals a public key"
        );
    }
    // PKCS#1 "RSA PUBLIC KEY", in PEM and DER.
    let rsa = key(KeyKind::Rsa2048, false).rsa().unwrap();
    let from_pkcs1 = load(
        &rsa.public_key_to_pem_pkcs1().unwrap(),
        KeyAlgorithm::Rsa,
        Pem,
        PublicKey,
        b"",
    );
    let from_der = load(
        &rsa.public_key_to_der_pkcs1().unwrap(),
        KeyAlgorithm::Rsa,
        Der,
        PublicKey,
        b"",
    );
    let expected = pki().leaf.certificate().public_key();
    assert_eq!(from_pkcs1, expected);
    assert_eq!(from_der, expected);
}

#[test]
fn legacy_encrypted_pem() {
    let ciphers = [
        Cipher::des_ede3_cbc(),
        Cipher::aes_128_cbc(),
        Cipher::aes_192_cbc(),
        Cipher::aes_256_cbc(),
    ];
    for s in samples().iter().filter(|s| s.algorithm != KeyAlgorithm::Dh) {
        for (i, cipher) in ciphers.iter().enumerate() {
            let pass: &[u8] = if i % 2 == 0 {
                b"s3cret"
            } else {
                b"pass phrase with \0 NUL"
            };
            let pem = match s.algorithm {
                KeyAlgorithm::Rsa => s
                    .key
                    .rsa()
                    .unwrap()
                    .private_key_to_pem_passphrase(*cipher, pass),
                KeyAlgorithm::Dsa => s
                    .key
                    .dsa()
                    .unwrap()
                    .private_key_to_pem_passphrase(*cipher, pass),
                _ => s
                    .key
                    .ec_key()
                    .unwrap()
                    .private_key_to_pem_passphrase(*cipher, pass),
            }
            .unwrap();
            assert!(
                pem.windows(9).any(|w| w == b"Proc-Type"),
                "legacy encryption expected"
            );
            check_encrypted(s, &pem, Pem, pass);
        }
    }
}

#[test]
fn pkcs8_encrypted_pem_and_der() {
    for s in samples() {
        let pem = s
            .key
            .private_key_to_pem_pkcs8_passphrase(Cipher::aes_256_cbc(), b"1234")
            .unwrap();
        check_encrypted(s, &pem, Pem, b"1234");
        let der = s
            .key
            .private_key_to_pkcs8_passphrase(Cipher::aes_128_cbc(), b"1234")
            .unwrap();
        check_encrypted(s, &der, Der, b"1234");
    }
}

fn check_encrypted(s: &Sample, data: &[u8], format: EncodingFormat, pass: &[u8]) {
    let tag = format!("{:?} {} {format:?}", s.algorithm, s.length);
    let reference = load(&traditional(s).0, s.algorithm, Pem, PrivateKey, b"");
    let good = load(data, s.algorithm, format, PrivateKey, pass);
    assert!(!good.is_null(), "{tag}: {}", good.error_string());
    assert_eq!(good, reference, "{tag}");

    let wrong = load(data, s.algorithm, format, PrivateKey, b"WRONG!");
    assert!(wrong.is_null(), "{tag}");
    assert!(
        wrong.error_string().contains("passphrase"),
        "{tag}: {}",
        wrong.error_string()
    );
    // Qt keeps the requested algorithm and type on a failed key.
    assert_eq!(
        (wrong.algorithm(), wrong.key_type(), wrong.length()),
        (s.algorithm, PrivateKey, -1)
    );

    // No passphrase: a null key and a reason, never a terminal prompt.
    let empty = load(data, s.algorithm, format, PrivateKey, b"");
    assert!(empty.is_null(), "{tag}");
    assert!(
        empty.error_string().contains("no passphrase"),
        "{tag}: {}",
        empty.error_string()
    );
}

#[test]
fn encrypted_export_round_trips() {
    for s in samples() {
        let k = load(&traditional(s).0, s.algorithm, Pem, PrivateKey, b"");
        let encrypted = k.to_pem(b"qwerty");
        let text = String::from_utf8(encrypted.clone()).unwrap();
        assert!(
            text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
            "{text}"
        );
        let back = load(&encrypted, s.algorithm, Pem, PrivateKey, b"qwerty");
        assert_eq!(back, k, "{:?}", s.algorithm);
        assert_eq!(back.to_pem(b""), k.to_pem(b""));
        assert!(load(&encrypted, s.algorithm, Pem, PrivateKey, b"qwertz").is_null());
        // OpenSSL reads it too.
        PKey::private_key_from_pem_passphrase(&encrypted, b"qwerty").unwrap();
    }
    // A passphrase with NUL bytes and one of the maximum length work.
    let k = load(
        &traditional(&samples()[3]).0,
        KeyAlgorithm::Ec,
        Pem,
        PrivateKey,
        b"",
    );
    for pass in [b"a\0b".to_vec(), vec![b'x'; 1024]] {
        let back = load(&k.to_pem(&pass), KeyAlgorithm::Ec, Pem, PrivateKey, &pass);
        assert_eq!(back, k);
    }
    let too_long = vec![b'x'; 1025];
    let rejected = load(
        &k.to_pem(&too_long),
        KeyAlgorithm::Ec,
        Pem,
        PrivateKey,
        &too_long,
    );
    assert!(rejected.is_null());
    assert!(
        rejected.error_string().contains("longer than 1024"),
        "{}",
        rejected.error_string()
    );
}

#[test]
fn unneeded_passphrase_is_ignored() {
    let pem = pki().leaf.key_pem();
    for pass in [&b""[..], b"xxx"] {
        assert!(!load(&pem, KeyAlgorithm::Rsa, Pem, PrivateKey, pass).is_null());
    }
}

#[test]
fn wrong_algorithm_or_type_is_null_with_a_reason() {
    let ec_pem = key(KeyKind::EcP256, false)
        .private_key_to_pem_pkcs8()
        .unwrap();
    let as_rsa = load(&ec_pem, KeyAlgorithm::Rsa, Pem, PrivateKey, b"");
    assert!(as_rsa.is_null());
    assert_eq!(
        as_rsa.error_string(),
        "Cannot load RSA private key: the data holds an EC key, not an RSA key"
    );
    assert_eq!(as_rsa.algorithm(), KeyAlgorithm::Rsa);
    assert!(load(&ec_pem, KeyAlgorithm::Dsa, Pem, PrivateKey, b"").is_null());
    let rsa_der = key(KeyKind::Rsa2048, false).private_key_to_der().unwrap();
    assert!(
        load(&rsa_der, KeyAlgorithm::Ec, Der, PrivateKey, b"")
            .error_string()
            .contains("holds an RSA key")
    );

    let as_public = load(&ec_pem, KeyAlgorithm::Ec, Pem, PublicKey, b"");
    assert!(as_public.is_null());
    assert!(
        as_public.error_string().contains("holds a private key"),
        "{}",
        as_public.error_string()
    );
    let public_pem = key(KeyKind::EcP256, false).public_key_to_pem().unwrap();
    let as_private = load(&public_pem, KeyAlgorithm::Ec, Pem, PrivateKey, b"");
    assert!(
        as_private.error_string().contains("holds a public key"),
        "{}",
        as_private.error_string()
    );
    assert!(load(&public_pem, KeyAlgorithm::Ec, Der, PublicKey, b"").is_null());
    assert!(load(&rsa_der, KeyAlgorithm::Rsa, Pem, PrivateKey, b"").is_null());
}

#[test]
fn opaque_accepts_any_algorithm() {
    let ed = PKey::generate_ed25519().unwrap();
    let pem = ed.private_key_to_pem_pkcs8().unwrap();
    assert!(
        load(&pem, KeyAlgorithm::Rsa, Pem, PrivateKey, b"")
            .error_string()
            .contains("opaque")
    );
    let k = load(&pem, KeyAlgorithm::Opaque, Pem, PrivateKey, b"");
    assert!(!k.is_null(), "{}", k.error_string());
    assert_eq!(
        (k.algorithm(), k.key_type(), k.length()),
        (KeyAlgorithm::Opaque, PrivateKey, -1)
    );
    assert_eq!(k.to_pem(b""), pem);
    assert_eq!(
        load(
            &k.to_pem(b"pw"),
            KeyAlgorithm::Opaque,
            Pem,
            PrivateKey,
            b"pw"
        ),
        k
    );
    let public = load(
        &ed.public_key_to_der().unwrap(),
        KeyAlgorithm::Opaque,
        Der,
        PublicKey,
        b"",
    );
    assert_eq!(
        (public.algorithm(), public.key_type()),
        (KeyAlgorithm::Opaque, PublicKey)
    );

    // Opaque requested, RSA found: the key reports its real algorithm (Qt's QSslKey(handle)).
    let rsa = load(
        &pki().leaf.key_pem(),
        KeyAlgorithm::Opaque,
        Pem,
        PrivateKey,
        b"",
    );
    assert_eq!((rsa.algorithm(), rsa.length()), (KeyAlgorithm::Rsa, 2048));
}

#[test]
fn pem_blocks_around_the_key() {
    let p = pki();
    // Certificate first, then the key: the key block is found.
    let mut combined = p.leaf.cert_pem();
    combined.extend(b"\n# comment\n");
    combined.extend(p.leaf.key_pem());
    let k = load(&combined, KeyAlgorithm::Rsa, Pem, PrivateKey, b"");
    assert_eq!(k, p.leaf.ssl_key());
    // `openssl ecparam -genkey` output: an EC PARAMETERS block before the key.
    let ec = key(KeyKind::EcP256, false).ec_key().unwrap();
    let mut with_params =
        b"-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n".to_vec();
    with_params.extend(ec.private_key_to_pem().unwrap());
    assert_eq!(
        load(&with_params, KeyAlgorithm::Ec, Pem, PrivateKey, b"").length(),
        256
    );
    // CRLF line ends.
    let crlf = String::from_utf8(p.leaf.key_pem())
        .unwrap()
        .replace('\n', "\r\n");
    assert_eq!(
        load(crlf.as_bytes(), KeyAlgorithm::Rsa, Pem, PrivateKey, b""),
        k
    );
}

#[test]
fn garbage_gives_a_null_key_with_a_reason() {
    let pem = pki().leaf.key_pem();
    let der = key(KeyKind::Rsa2048, false).private_key_to_der().unwrap();
    let cases: Vec<(Vec<u8>, EncodingFormat)> = vec![
        (b"garbage".to_vec(), Pem),
        (b"garbage".to_vec(), Der),
        (pem[..pem.len() / 2].to_vec(), Pem),
        (pem[..pem.len() - 10].to_vec(), Pem),
        (b"-----BEGIN PRIVATE KEY-----\n!!!!\n-----END PRIVATE KEY-----\n".to_vec(), Pem),
        (b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec(), Pem),
        (b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\nAAAA\n-----END RSA PRIVATE KEY-----\n".to_vec(), Pem),
        (
            b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: NO-SUCH-CIPHER,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n".to_vec(),
            Pem,
        ),
        (
            b"-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,0011\n\nAAAA\n-----END RSA PRIVATE KEY-----\n".to_vec(),
            Pem,
        ),
        (der[..der.len() / 2].to_vec(), Der),
    ];
    for (data, format) in cases {
        for pass in [&b""[..], b"pw"] {
            let k = load(&data, KeyAlgorithm::Rsa, format, PrivateKey, pass);
            assert!(k.is_null());
            assert!(
                k.error_string()
                    .starts_with("Cannot load RSA private key: "),
                "{}",
                k.error_string()
            );
        }
    }

    let empty = load(b"", KeyAlgorithm::Rsa, Pem, PrivateKey, b"");
    assert!(empty.is_null() && !empty.error_string().is_empty());
    // Empty data leaves Qt's default algorithm and type.
    assert_eq!(
        (empty.algorithm(), empty.key_type()),
        (KeyAlgorithm::Opaque, PublicKey)
    );

    // Random bytes and bit flips, every algorithm, format and type: never a panic.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..200 {
        let data: Vec<u8> = if round % 2 == 0 {
            (0..next() % 800).map(|_| next() as u8).collect()
        } else {
            let mut d = if round % 4 == 1 {
                der.clone()
            } else {
                pem.clone()
            };
            for _ in 0..1 + next() % 3 {
                let at = (next() as usize) % d.len();
                d[at] ^= 1 << (next() % 8);
            }
            d
        };
        for format in [Pem, Der] {
            for key_type in [PrivateKey, PublicKey] {
                let k = load(&data, KeyAlgorithm::Opaque, format, key_type, b"pw");
                let _ = (k.length(), k.to_pem(b""), k.to_der(), k.error_string());
            }
        }
    }
}

#[test]
fn null_key() {
    let mut null = SslKey::default();
    assert!(null.is_null());
    assert_eq!(null.length(), -1);
    assert_eq!(null.algorithm(), KeyAlgorithm::Opaque);
    assert_eq!(null.key_type(), PublicKey);
    assert!(
        null.to_pem(b"").is_empty() && null.to_pem(b"pw").is_empty() && null.to_der().is_empty()
    );
    assert_eq!(null.error_string(), "");
    assert_eq!(null, SslKey::default());
    // Null keys are equal whatever they were meant to be.
    assert_eq!(null, load(b"x", KeyAlgorithm::Rsa, Pem, PrivateKey, b""));
    null.clear();
    assert!(null.is_null());

    let mut k = pki().leaf.ssl_key();
    assert_ne!(k, null);
    k.clear();
    assert_eq!(k, SslKey::default());
    assert_eq!(
        (k.algorithm(), k.key_type(), k.length()),
        (KeyAlgorithm::Opaque, PublicKey, -1)
    );
}
