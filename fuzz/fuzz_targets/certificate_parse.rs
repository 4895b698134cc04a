//! Certificates from untrusted bytes (a peer's chain, a file, a configuration value): parsing
//! and every accessor never panic, and what parses survives its own encodings.
//!
//! Input layout: `flags (1 byte) | data`. `flags & 1`: DER, else PEM. `flags & 2`: the parsed
//! certificates are also verified as a chain for the host name `localhost`. The first bytes of
//! `data` also serve as an attribute name to look up (any bytes, as a caller may pass).
#![no_main]

use libfuzzer_sys::fuzz_target;
use qsslsocket::{DigestAlgorithm, EncodingFormat, SslCertificate, SubjectInfo};

fuzz_target!(|input: &[u8]| {
    let Some((&flags, data)) = input.split_first() else {
        return;
    };
    let format = if flags & 1 == 1 {
        EncodingFormat::Der
    } else {
        EncodingFormat::Pem
    };
    let certificates = SslCertificate::from_data(data, format);
    let attribute = &data[..data.len().min(12)];
    for cert in &certificates {
        exercise(cert);
        let _ = cert.subject_info_by_attribute(attribute);
        let _ = cert.issuer_info_by_attribute(attribute);
        // Its own encodings parse back to the same certificate.
        let der = cert.to_der();
        let again = SslCertificate::from_data(&der, EncodingFormat::Der);
        assert_eq!(again.len(), 1, "DER of a parsed certificate");
        assert_eq!(&again[0], cert);
        let pem = SslCertificate::from_data(&cert.to_pem(), EncodingFormat::Pem);
        assert_eq!(pem.as_slice(), std::slice::from_ref(cert));
    }
    if flags & 2 == 2 && !certificates.is_empty() {
        let _ = SslCertificate::verify(&certificates, "localhost");
    }
});

fn exercise(cert: &SslCertificate) {
    let _ = (cert.is_null(), cert.version(), cert.serial_number());
    for &algorithm in DigestAlgorithm::ALL {
        let _ = cert.digest(algorithm);
    }
    for &info in SubjectInfo::ALL {
        let _ = (cert.subject_info(info), cert.issuer_info(info));
    }
    for attribute in cert.subject_info_attributes() {
        let _ = cert.subject_info_by_attribute(&attribute);
    }
    for attribute in cert.issuer_info_attributes() {
        let _ = cert.issuer_info_by_attribute(&attribute);
    }
    let _ = (cert.subject_display_name(), cert.issuer_display_name());
    let _ = cert.subject_alternative_names();
    let _ = (cert.effective_date(), cert.expiry_date());
    let _ = (cert.is_self_signed(), cert.is_blacklisted());
    let key = cert.public_key();
    let _ = (key.is_null(), key.length(), key.algorithm(), key.to_der());
    let _ = cert.to_text();
}
