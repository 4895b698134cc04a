//! `SslKey` against the real Qt (PyQt6 6.11 via `tests/peers/qt_keys.py`) on keys made at test
//! time: RSA, EC P-256 and P-384 and DSA, private and public, PEM and DER, under a pass phrase
//! (right and wrong), and loaded as the wrong algorithm. Null or not, length, algorithm, type,
//! and the exact `to_pem`/`to_der` output all agree.

mod common;

use common::external::{ask_qt, assert_same_fields};
use openssl::dsa::Dsa;
use openssl::ec::{EcGroup, EcKey};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::symm::Cipher;
use qsslsocket::*;
use serde_json::{Value, json};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn view(key: &SslKey) -> Value {
    json!({
        "is_null": key.is_null(),
        "length": key.length(),
        "algorithm": key.algorithm().to_string(),
        "type": key.key_type().to_string(),
        "pem": String::from_utf8(key.to_pem(b"")).expect("PEM is ASCII"),
        "der": hex(&key.to_der()),
    })
}

/// What a case is called, the file's contents, and how it is loaded (algorithm, format, type,
/// pass phrase).
type Case = (
    String,
    Vec<u8>,
    KeyAlgorithm,
    EncodingFormat,
    KeyType,
    &'static str,
);

#[test]
fn keys_load_and_encode_as_in_qt() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let ec = |nid| {
        PKey::from_ec_key(EcKey::generate(&EcGroup::from_curve_name(nid).unwrap()).unwrap())
            .unwrap()
    };
    let keys: Vec<(&str, KeyAlgorithm, PKey<Private>)> = vec![
        (
            "rsa",
            KeyAlgorithm::Rsa,
            PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
        ),
        ("p256", KeyAlgorithm::Ec, ec(Nid::X9_62_PRIME256V1)),
        ("p384", KeyAlgorithm::Ec, ec(Nid::SECP384R1)),
        (
            "dsa",
            KeyAlgorithm::Dsa,
            PKey::from_dsa(Dsa::generate(2048).unwrap()).unwrap(),
        ),
    ];
    let mut cases: Vec<Case> = Vec::new();
    for (name, algorithm, key) in &keys {
        let (a, pem, der) = (*algorithm, EncodingFormat::Pem, EncodingFormat::Der);
        let (private, public) = (KeyType::PrivateKey, KeyType::PublicKey);
        cases.push((
            format!("{name} pkcs8"),
            key.private_key_to_pem_pkcs8().unwrap(),
            a,
            pem,
            private,
            "",
        ));
        cases.push((
            format!("{name} der"),
            key.private_key_to_der().unwrap(),
            a,
            der,
            private,
            "",
        ));
        cases.push((
            format!("{name} public"),
            key.public_key_to_pem().unwrap(),
            a,
            pem,
            public,
            "",
        ));
        cases.push((
            format!("{name} public der"),
            key.public_key_to_der().unwrap(),
            a,
            der,
            public,
            "",
        ));
        let locked = key
            .private_key_to_pem_pkcs8_passphrase(Cipher::aes_128_cbc(), b"secret")
            .unwrap();
        cases.push((
            format!("{name} locked"),
            locked.clone(),
            a,
            pem,
            private,
            "secret",
        ));
        cases.push((
            format!("{name} wrong pass"),
            locked,
            a,
            pem,
            private,
            "wrong",
        ));
    }
    let rsa = &keys[0].2;
    cases.push((
        "rsa loaded as Ec".into(),
        rsa.private_key_to_pem_pkcs8().unwrap(),
        KeyAlgorithm::Ec,
        EncodingFormat::Pem,
        KeyType::PrivateKey,
        "",
    ));
    cases.push((
        "garbage".into(),
        b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec(),
        KeyAlgorithm::Rsa,
        EncodingFormat::Pem,
        KeyType::PrivateKey,
        "",
    ));

    let mut args = Vec::new();
    for (i, (_, data, algorithm, format, kind, pass)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("{i}.key"));
        std::fs::write(&path, data).expect("write");
        args.push(format!(
            "{}:{algorithm}:{format}:{kind}:{pass}",
            path.display()
        ));
    }
    let qt = ask_qt("qt_keys.py", &args, b"");
    assert_eq!(qt.len(), cases.len());
    assert_same_fields(cases.iter().zip(qt).map(
        |((what, data, algorithm, format, kind, pass), qt)| {
            let key = SslKey::new(data, *algorithm, *format, *kind, pass.as_bytes());
            (what.clone(), view(&key), qt)
        },
    ));
}
