//! A self-signed server certificate minted at start (for `demo` and for `serve` without
//! `--cert`): EC P-256, valid from an hour ago for 30 days, subjectAltName DNS:localhost,
//! IP:127.0.0.1 and IP:::1, so that with the crate's RFC host-name rules the only error a client
//! sees is `SelfSignedCertificate`.

use openssl::asn1::{Asn1Integer, Asn1Time};
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::extension::{
    BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAlternativeName, SubjectKeyIdentifier,
};
use openssl::x509::{X509, X509NameBuilder};

use qsslsocket::{EncodingFormat, KeyAlgorithm, KeyType, SslCertificate, SslKey};

/// A minted certificate and its key.
#[derive(Debug)]
pub(crate) struct Minted {
    pub(crate) certificate: SslCertificate,
    pub(crate) key: SslKey,
}

/// Mints a self-signed certificate for `common_name` covering localhost and the loopback
/// addresses.
pub(crate) fn self_signed(common_name: &str) -> Result<Minted, String> {
    build(common_name).map_err(|e| format!("cannot mint a certificate: {e}"))
}

fn build(common_name: &str) -> Result<Minted, ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    let key = PKey::from_ec_key(EcKey::generate(&group)?)?;

    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::ORGANIZATIONNAME, "qssl")?;
    name.append_entry_by_nid(Nid::COMMONNAME, common_name)?;
    let name = name.build();

    let mut b = X509::builder()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(127, MsbOption::MAYBE_ZERO, false)?;
    b.set_serial_number(&*Asn1Integer::from_bn(&serial)?)?;
    b.set_subject_name(&name)?;
    b.set_issuer_name(&name)?;
    b.set_pubkey(&key)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    b.set_not_before(&*Asn1Time::from_unix(now - 3600)?)?;
    b.set_not_after(&*Asn1Time::from_unix(now + 30 * 86_400)?)?;
    // Like Qt's own self-signed test certificates: its own CA, usable as a trust anchor.
    b.append_extension(BasicConstraints::new().critical().ca().build()?)?;
    b.append_extension(
        KeyUsage::new()
            .critical()
            .digital_signature()
            .key_cert_sign()
            .build()?,
    )?;
    b.append_extension(
        ExtendedKeyUsage::new()
            .server_auth()
            .client_auth()
            .build()?,
    )?;
    let ski = SubjectKeyIdentifier::new().build(&b.x509v3_context(None, None))?;
    b.append_extension(ski)?;
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .ip("::1")
        .build(&b.x509v3_context(None, None))?;
    b.append_extension(san)?;
    b.sign(&key, MessageDigest::sha256())?;
    let cert = b.build();

    let cert_pem = cert.to_pem()?;
    let key_pem = key.private_key_to_pem_pkcs8()?;
    let certificate = SslCertificate::from_data(&cert_pem, EncodingFormat::Pem)
        .into_iter()
        .next()
        .unwrap_or_default();
    let key = SslKey::new(
        &key_pem,
        KeyAlgorithm::Ec,
        EncodingFormat::Pem,
        KeyType::PrivateKey,
        b"",
    );
    Ok(Minted { certificate, key })
}
