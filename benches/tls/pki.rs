//! The benchmark PKI: for each key type a root CA and a `localhost` leaf it signed, minted once
//! per run by the parent process and written as PEM files that every child (Rust, Python, C)
//! loads. A client trusts only the root and checks the host name `localhost`.

use std::fs;
use std::path::{Path, PathBuf};

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName,
};
use openssl::x509::{X509, X509NameBuilder};

/// The certificate's key type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// ECDSA P-256 (root and leaf).
    Ec,
    /// RSA-2048 (root and leaf).
    Rsa,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Ec => "ecdsa",
            Kind::Rsa => "rsa",
        }
    }

    pub(crate) fn parse(s: &str) -> Kind {
        match s {
            "rsa" => Kind::Rsa,
            _ => Kind::Ec,
        }
    }
}

/// Paths of one chain's files.
#[derive(Clone, Debug)]
pub(crate) struct Files {
    pub(crate) ca: PathBuf,
    pub(crate) leaf: PathBuf,
    pub(crate) key: PathBuf,
}

pub(crate) fn files(dir: &Path, kind: Kind) -> Files {
    Files {
        ca: dir.join(format!("{}-ca.pem", kind.name())),
        leaf: dir.join(format!("{}-leaf.pem", kind.name())),
        key: dir.join(format!("{}-leaf.key", kind.name())),
    }
}

fn new_key(kind: Kind) -> PKey<Private> {
    match kind {
        Kind::Ec => {
            let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
            PKey::from_ec_key(EcKey::generate(&group).expect("EC key")).expect("pkey")
        }
        Kind::Rsa => PKey::from_rsa(Rsa::generate(2048).expect("RSA key")).expect("pkey"),
    }
}

fn build(
    cn: &str,
    key: &PKey<Private>,
    issuer: Option<(&X509, &PKey<Private>)>,
    serial: u32,
) -> X509 {
    let mut name = X509NameBuilder::new().expect("name");
    name.append_entry_by_text("CN", cn).expect("CN");
    name.append_entry_by_text("O", "qsslsocket benchmarks")
        .expect("O");
    let name = name.build();
    let mut b = X509::builder().expect("builder");
    b.set_version(2).expect("version");
    let serial = BigNum::from_u32(serial).expect("bn").to_asn1_integer();
    b.set_serial_number(&serial.expect("serial"))
        .expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_pubkey(key).expect("pubkey");
    b.set_not_before(&Asn1Time::days_from_now(0).expect("time"))
        .expect("not before");
    b.set_not_after(&Asn1Time::days_from_now(30).expect("time"))
        .expect("not after");
    match issuer {
        None => {
            b.set_issuer_name(&name).expect("issuer");
            b.append_extension(BasicConstraints::new().critical().ca().build().expect("bc"))
                .expect("bc");
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .key_cert_sign()
                    .crl_sign()
                    .build()
                    .expect("ku"),
            )
            .expect("ku");
            b.sign(key, MessageDigest::sha256()).expect("sign");
        }
        Some((ca, ca_key)) => {
            b.set_issuer_name(ca.subject_name()).expect("issuer");
            b.append_extension(BasicConstraints::new().build().expect("bc"))
                .expect("bc");
            b.append_extension(
                KeyUsage::new()
                    .critical()
                    .digital_signature()
                    .key_encipherment()
                    .build()
                    .expect("ku"),
            )
            .expect("ku");
            b.append_extension(ExtendedKeyUsage::new().server_auth().build().expect("eku"))
                .expect("eku");
            let san = SubjectAlternativeName::new()
                .dns(cn)
                .build(&b.x509v3_context(Some(ca), None))
                .expect("san");
            b.append_extension(san).expect("san");
            b.sign(ca_key, MessageDigest::sha256()).expect("sign");
        }
    }
    b.build()
}

/// Mints both chains into `dir`.
pub(crate) fn mint(dir: &Path) {
    fs::create_dir_all(dir).expect("PKI directory");
    for (i, kind) in [Kind::Ec, Kind::Rsa].into_iter().enumerate() {
        let ca_key = new_key(kind);
        let ca = build(
            &format!("qsslsocket bench root ({})", kind.name()),
            &ca_key,
            None,
            10 + i as u32,
        );
        let leaf_key = new_key(kind);
        let leaf = build("localhost", &leaf_key, Some((&ca, &ca_key)), 20 + i as u32);
        let f = files(dir, kind);
        fs::write(&f.ca, ca.to_pem().expect("pem")).expect("write CA");
        fs::write(&f.leaf, leaf.to_pem().expect("pem")).expect("write leaf");
        fs::write(
            &f.key,
            leaf_key.private_key_to_pem_pkcs8().expect("key pem"),
        )
        .expect("write key");
    }
    // Python's ssl module cannot pin the TLS 1.3 suite per context: this file does it for the
    // whole Python process (OPENSSL_CONF), as perf-limits.md's runs did.
    fs::write(
        dir.join("openssl-aes128.cnf"),
        "openssl_conf = default_conf\n\n[default_conf]\nssl_conf = ssl_sect\n\n[ssl_sect]\n\
         system_default = system_default_sect\n\n[system_default_sect]\n\
         Ciphersuites = TLS_AES_128_GCM_SHA256\n",
    )
    .expect("write openssl.cnf");
}

/// The raw OpenSSL objects of one chain.
pub(crate) struct Loaded {
    pub(crate) ca: X509,
    pub(crate) leaf: X509,
    pub(crate) key: PKey<Private>,
    pub(crate) ca_pem: Vec<u8>,
    pub(crate) leaf_pem: Vec<u8>,
    pub(crate) key_pem: Vec<u8>,
}

pub(crate) fn load(dir: &Path, kind: Kind) -> Loaded {
    let f = files(dir, kind);
    let ca_pem = fs::read(&f.ca).expect("read CA");
    let leaf_pem = fs::read(&f.leaf).expect("read leaf");
    let key_pem = fs::read(&f.key).expect("read key");
    Loaded {
        ca: X509::from_pem(&ca_pem).expect("CA"),
        leaf: X509::from_pem(&leaf_pem).expect("leaf"),
        key: PKey::private_key_from_pem(&key_pem).expect("key"),
        ca_pem,
        leaf_pem,
        key_pem,
    }
}
