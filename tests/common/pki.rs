//! A test PKI minted at run time with the openssl crate's X509 builder: nothing expires in the
//! repository, and every verification error can be produced on demand.
//!
//! `pki()` is the standard set (root -> intermediate -> leaves), built once per test binary.
//! `mint(&spec, issuer)` makes anything else. Keys are drawn from a small cached pool so that
//! tests stay fast; ask for `Spec::fresh_key()` when a test needs a key of its own.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::BigNum;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509Builder, X509NameBuilder};
use qsslsocket::{EncodingFormat, KeyAlgorithm, KeyType, SslCertificate, SslKey};

/// The key algorithm (and size) of a minted certificate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyKind {
    Rsa2048,
    /// Too small for OpenSSL's security level 2: for "key too small" tests.
    Rsa1024,
    EcP256,
}

/// Extended key usages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eku {
    ServerAuth,
    ClientAuth,
    EmailProtection,
}

/// What to mint. Start from `Spec::leaf`, `Spec::ca` or `Spec::self_signed` and adjust.
#[derive(Clone, Debug)]
pub struct Spec {
    pub cn: String,
    pub organization: Option<String>,
    pub dns: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub emails: Vec<String>,
    pub ca: bool,
    pub pathlen: Option<u32>,
    /// Validity start, in days relative to now (negative = in the past).
    pub not_before_days: i64,
    /// Validity end, in days relative to now.
    pub not_after_days: i64,
    pub eku: Vec<Eku>,
    /// Whether to add a keyUsage extension (CA: keyCertSign+cRLSign; leaf: digitalSignature+
    /// keyEncipherment).
    pub key_usage: bool,
    pub key: KeyKind,
    pub fresh_key: bool,
    pub sha1: bool,
    pub serial: Option<Vec<u8>>,
}

impl Spec {
    /// A server leaf for `cn` with DNS SAN `cn`, EKU serverAuth, valid from yesterday for a year.
    pub fn leaf(cn: &str) -> Spec {
        Spec {
            cn: cn.to_owned(),
            organization: Some("qsslsocket tests".to_owned()),
            dns: vec![cn.to_owned()],
            ips: Vec::new(),
            emails: Vec::new(),
            ca: false,
            pathlen: None,
            not_before_days: -1,
            not_after_days: 365,
            eku: vec![Eku::ServerAuth],
            key_usage: true,
            key: KeyKind::Rsa2048,
            fresh_key: false,
            sha1: false,
            serial: None,
        }
    }

    /// A CA certificate (basicConstraints CA:TRUE, keyCertSign).
    pub fn ca(cn: &str) -> Spec {
        Spec {
            dns: Vec::new(),
            ca: true,
            eku: Vec::new(),
            not_after_days: 3650,
            ..Spec::leaf(cn)
        }
    }

    /// A self-signed server certificate like Qt's test `fluke.cert`: CA:TRUE, no SAN.
    pub fn self_signed(cn: &str) -> Spec {
        Spec {
            dns: Vec::new(),
            ca: true,
            eku: Vec::new(),
            ..Spec::leaf(cn)
        }
    }

    pub fn dns(mut self, names: &[&str]) -> Spec {
        self.dns = names.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn ips(mut self, ips: &[&str]) -> Spec {
        self.ips = ips
            .iter()
            .map(|s| s.parse().expect("test IP literal"))
            .collect();
        self
    }
    pub fn emails(mut self, emails: &[&str]) -> Spec {
        self.emails = emails.iter().map(|s| s.to_string()).collect();
        self
    }
    pub fn eku(mut self, eku: &[Eku]) -> Spec {
        self.eku = eku.to_vec();
        self
    }
    pub fn validity(mut self, not_before_days: i64, not_after_days: i64) -> Spec {
        self.not_before_days = not_before_days;
        self.not_after_days = not_after_days;
        self
    }
    pub fn pathlen(mut self, pathlen: u32) -> Spec {
        self.pathlen = Some(pathlen);
        self
    }
    pub fn key(mut self, key: KeyKind) -> Spec {
        self.key = key;
        self
    }
    pub fn fresh_key(mut self) -> Spec {
        self.fresh_key = true;
        self
    }
    pub fn sha1(mut self) -> Spec {
        self.sha1 = true;
        self
    }
    pub fn serial(mut self, serial: &[u8]) -> Spec {
        self.serial = Some(serial.to_vec());
        self
    }
    pub fn no_key_usage(mut self) -> Spec {
        self.key_usage = false;
        self
    }
}

/// A certificate with its private key.
#[derive(Clone)]
pub struct Identity {
    pub cert: X509,
    pub key: PKey<Private>,
}

impl Identity {
    /// The certificate as the crate's type.
    pub fn certificate(&self) -> SslCertificate {
        let mut list = SslCertificate::from_data(&self.cert_pem(), EncodingFormat::Pem);
        assert_eq!(list.len(), 1, "minted certificate must parse");
        list.remove(0)
    }

    /// The private key as the crate's type.
    pub fn ssl_key(&self) -> SslKey {
        let algorithm = match self.key.id() {
            openssl::pkey::Id::EC => KeyAlgorithm::Ec,
            _ => KeyAlgorithm::Rsa,
        };
        let key = SslKey::new(
            &self.key_pem(),
            algorithm,
            EncodingFormat::Pem,
            KeyType::PrivateKey,
            b"",
        );
        assert!(!key.is_null(), "minted key must load");
        key
    }

    pub fn cert_pem(&self) -> Vec<u8> {
        self.cert.to_pem().expect("PEM")
    }
    pub fn cert_der(&self) -> Vec<u8> {
        self.cert.to_der().expect("DER")
    }
    pub fn key_pem(&self) -> Vec<u8> {
        self.key.private_key_to_pem_pkcs8().expect("key PEM")
    }

    /// Writes `<name>.pem` and `<name>.key` into `dir`, returning both paths.
    pub fn write(&self, dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let cert = dir.join(format!("{name}.pem"));
        let key = dir.join(format!("{name}.key"));
        std::fs::write(&cert, self.cert_pem()).expect("write cert");
        std::fs::write(&key, self.key_pem()).expect("write key");
        (cert, key)
    }
}

/// The standard test PKI: a root, an intermediate under it, and leaves under the intermediate.
pub struct Pki {
    pub root: Identity,
    pub intermediate: Identity,
    /// CN localhost, SAN DNS:localhost, IP:127.0.0.1, IP:::1, serverAuth.
    pub leaf: Identity,
    /// A client certificate (CN "Test Client", clientAuth).
    pub client: Identity,
    /// Expired leaf for localhost (valid from 30 to 1 days ago).
    pub expired: Identity,
    /// Not yet valid leaf for localhost (from 10 days ahead).
    pub not_yet_valid: Identity,
    /// A leaf for "wrong.example" only.
    pub wrong_host: Identity,
    /// Self-signed CA:TRUE server certificate with CN "Self Signed Tester", no SAN.
    pub self_signed: Identity,
    /// A SHA-1 signed leaf for localhost (legacy).
    pub sha1: Identity,
}

impl Pki {
    /// The server chain to send: leaf then intermediate.
    pub fn server_chain(&self) -> Vec<SslCertificate> {
        vec![self.leaf.certificate(), self.intermediate.certificate()]
    }
}

/// The standard PKI, minted once per test binary.
pub fn pki() -> &'static Pki {
    static PKI: OnceLock<Pki> = OnceLock::new();
    PKI.get_or_init(|| {
        let root = mint(&Spec::ca("qsslsocket Test Root CA"), None);
        let intermediate = mint(&Spec::ca("qsslsocket Test Intermediate CA"), Some(&root));
        let localhost = || {
            Spec::leaf("localhost")
                .dns(&["localhost"])
                .ips(&["127.0.0.1", "::1"])
        };
        Pki {
            leaf: mint(&localhost(), Some(&intermediate)),
            client: mint(
                &Spec::leaf("Test Client").dns(&[]).eku(&[Eku::ClientAuth]),
                Some(&intermediate),
            ),
            expired: mint(&localhost().validity(-30, -1), Some(&intermediate)),
            not_yet_valid: mint(&localhost().validity(10, 375), Some(&intermediate)),
            wrong_host: mint(&Spec::leaf("wrong.example"), Some(&intermediate)),
            self_signed: mint(&Spec::self_signed("Self Signed Tester"), None),
            sha1: mint(&localhost().sha1(), Some(&intermediate)),
            root,
            intermediate,
        }
    })
}

/// A pooled key of `kind` (generated once per binary), or a fresh one.
pub fn key(kind: KeyKind, fresh: bool) -> PKey<Private> {
    fn generate(kind: KeyKind) -> PKey<Private> {
        match kind {
            KeyKind::Rsa2048 => PKey::from_rsa(Rsa::generate(2048).expect("rsa")).expect("pkey"),
            KeyKind::Rsa1024 => PKey::from_rsa(Rsa::generate(1024).expect("rsa")).expect("pkey"),
            KeyKind::EcP256 => {
                let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
                PKey::from_ec_key(EcKey::generate(&group).expect("ec")).expect("pkey")
            }
        }
    }
    static POOL: OnceLock<[PKey<Private>; 3]> = OnceLock::new();
    if fresh {
        return generate(kind);
    }
    let pool = POOL.get_or_init(|| {
        [
            generate(KeyKind::Rsa2048),
            generate(KeyKind::Rsa1024),
            generate(KeyKind::EcP256),
        ]
    });
    match kind {
        KeyKind::Rsa2048 => pool[0].clone(),
        KeyKind::Rsa1024 => pool[1].clone(),
        KeyKind::EcP256 => pool[2].clone(),
    }
}

/// Mints a certificate for `spec`, signed by `issuer` (self-signed when `None`).
pub fn mint(spec: &Spec, issuer: Option<&Identity>) -> Identity {
    let key = key(spec.key, spec.fresh_key);
    let mut name = X509NameBuilder::new().expect("name");
    if let Some(o) = &spec.organization {
        name.append_entry_by_nid(Nid::ORGANIZATIONNAME, o)
            .expect("O");
    }
    name.append_entry_by_nid(Nid::COMMONNAME, &spec.cn)
        .expect("CN");
    let name = name.build();

    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("v3");
    let serial = match &spec.serial {
        Some(bytes) => BigNum::from_slice(bytes).expect("serial"),
        None => {
            let mut bn = BigNum::new().expect("bn");
            bn.rand(127, openssl::bn::MsbOption::MAYBE_ZERO, false)
                .expect("rand");
            bn
        }
    };
    b.set_serial_number(&Asn1Integer::from_bn(&serial).expect("serial"))
        .expect("serial");
    b.set_subject_name(&name).expect("subject");
    b.set_issuer_name(issuer.map_or(&*name, |i| i.cert.subject_name()))
        .expect("issuer");
    b.set_pubkey(&key).expect("pubkey");
    b.set_not_before(&days_from_now(spec.not_before_days))
        .expect("notBefore");
    b.set_not_after(&days_from_now(spec.not_after_days))
        .expect("notAfter");

    let mut bc = BasicConstraints::new();
    bc.critical();
    if spec.ca {
        bc.ca();
        if let Some(p) = spec.pathlen {
            bc.pathlen(p);
        }
    }
    b.append_extension(bc.build().expect("bc")).expect("bc");
    if spec.key_usage {
        let mut ku = KeyUsage::new();
        ku.critical();
        if spec.ca {
            ku.key_cert_sign().crl_sign().digital_signature();
        } else {
            ku.digital_signature().key_encipherment();
        }
        b.append_extension(ku.build().expect("ku")).expect("ku");
    }
    if !spec.eku.is_empty() {
        let mut eku = ExtendedKeyUsage::new();
        for e in &spec.eku {
            match e {
                Eku::ServerAuth => eku.server_auth(),
                Eku::ClientAuth => eku.client_auth(),
                Eku::EmailProtection => eku.email_protection(),
            };
        }
        b.append_extension(eku.build().expect("eku")).expect("eku");
    }
    let ski = SubjectKeyIdentifier::new()
        .build(&b.x509v3_context(issuer.map(|i| &*i.cert), None))
        .expect("ski");
    b.append_extension(ski).expect("ski");
    if !spec.dns.is_empty() || !spec.ips.is_empty() || !spec.emails.is_empty() {
        let mut san = SubjectAlternativeName::new();
        for d in &spec.dns {
            san.dns(d);
        }
        for ip in &spec.ips {
            san.ip(&ip.to_string());
        }
        for e in &spec.emails {
            san.email(e);
        }
        let ctx = b.x509v3_context(issuer.map(|i| &*i.cert), None);
        let ext = san.build(&ctx).expect("san");
        b.append_extension(ext).expect("san");
    }
    let digest = if spec.sha1 {
        MessageDigest::sha1()
    } else {
        MessageDigest::sha256()
    };
    let signer = issuer.map_or(&key, |i| &i.key);
    b.sign(signer, digest).expect("sign");
    Identity {
        cert: b.build(),
        key,
    }
}

fn days_from_now(days: i64) -> Asn1Time {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs() as i64;
    Asn1Time::from_unix(now + days * 86_400).expect("time")
}

/// Mints a certificate with a hand-made subject name, for tests of name parsing, dates, serials
/// and versions: a pooled EC P-256 key, v3, serial 1, valid from yesterday for a year, no
/// extensions, issuer = `issuer`'s subject (self-signed when `None`). `customize` runs on the
/// builder just before signing, so it can override any of that or add extensions.
pub fn mint_named(
    subject: &openssl::x509::X509NameRef,
    issuer: Option<&Identity>,
    customize: impl FnOnce(&mut X509Builder),
) -> Identity {
    let key = key(KeyKind::EcP256, false);
    let mut b = X509Builder::new().expect("builder");
    b.set_version(2).expect("v3");
    b.set_serial_number(&Asn1Integer::from_bn(&BigNum::from_u32(1).expect("bn")).expect("serial"))
        .expect("serial");
    b.set_subject_name(subject).expect("subject");
    b.set_issuer_name(issuer.map_or(subject, |i| i.cert.subject_name()))
        .expect("issuer");
    b.set_pubkey(&key).expect("pubkey");
    b.set_not_before(&days_from_now(-1)).expect("notBefore");
    b.set_not_after(&days_from_now(365)).expect("notAfter");
    customize(&mut b);
    b.sign(issuer.map_or(&key, |i| &i.key), MessageDigest::sha256())
        .expect("sign");
    Identity {
        cert: b.build(),
        key,
    }
}

/// A serial number written as Qt writes it (`"04:7e:cb"`) as bytes for `Spec::serial`.
pub fn serial_bytes(colon_hex: &str) -> Vec<u8> {
    colon_hex
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).expect("hex serial"))
        .collect()
}
