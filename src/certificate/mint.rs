//! Minting throwaway self-signed certificates: the protocol probe's, and the unit tests'.

use openssl::asn1::Asn1Time;
use openssl::bn::{BigNum, MsbOption};
use openssl::ec::{EcGroup, EcKey};
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::x509::{X509, X509Builder, X509Extension, X509NameBuilder, X509NameRef};

/// A fresh P-256 key.
pub(crate) fn p256_key() -> Result<PKey<Private>, ErrorStack> {
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1)?;
    PKey::from_ec_key(EcKey::generate(&group)?)
}

/// A name with only a common name.
pub(crate) fn common_name(cn: &str) -> Result<openssl::x509::X509Name, ErrorStack> {
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_nid(Nid::COMMONNAME, cn)?;
    Ok(name.build())
}

/// A v3 certificate for `key` with `subject` as subject and issuer, a random serial, valid from
/// now for `days`, carrying `extensions`, signed by `key` itself.
pub(crate) fn self_signed(
    subject: &X509NameRef,
    key: &PKey<Private>,
    days: u32,
    extensions: impl IntoIterator<Item = X509Extension>,
) -> Result<X509, ErrorStack> {
    let mut b = X509Builder::new()?;
    b.set_version(2)?;
    let mut serial = BigNum::new()?;
    serial.rand(64, MsbOption::MAYBE_ZERO, false)?;
    b.set_serial_number(&*serial.to_asn1_integer()?)?;
    b.set_subject_name(subject)?;
    b.set_issuer_name(subject)?;
    b.set_pubkey(key)?;
    b.set_not_before(&*Asn1Time::days_from_now(0)?)?;
    b.set_not_after(&*Asn1Time::days_from_now(days)?)?;
    for extension in extensions {
        b.append_extension(extension)?;
    }
    b.sign(key, MessageDigest::sha256())?;
    Ok(b.build())
}
