//! What several fuzz targets share: a server configuration with a certificate minted at start-up
//! and a client configuration that trusts it, built through the public API only.

use std::sync::OnceLock;

use openssl::asn1::Asn1Time;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::PKey;
use openssl::x509::{X509Builder, X509NameBuilder};
use qsslsocket::{
    EncodingFormat, KeyAlgorithm, KeyType, PeerVerifyMode, SslCertificate, SslConfiguration, SslKey,
};

/// A server configuration with a fresh self-signed P-256 certificate for `localhost`, and a
/// client configuration that trusts it.
pub fn configs() -> &'static (SslConfiguration, SslConfiguration) {
    static CONFIGS: OnceLock<(SslConfiguration, SslConfiguration)> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).expect("P-256");
        let key = PKey::from_ec_key(EcKey::generate(&group).expect("key")).expect("pkey");
        let mut name = X509NameBuilder::new().expect("name");
        name.append_entry_by_nid(Nid::COMMONNAME, "localhost")
            .expect("cn");
        let name = name.build();
        let mut cert = X509Builder::new().expect("builder");
        cert.set_version(2).expect("version");
        cert.set_subject_name(&name).expect("subject");
        cert.set_issuer_name(&name).expect("issuer");
        cert.set_pubkey(&key).expect("pubkey");
        cert.set_not_before(&Asn1Time::days_from_now(0).expect("time"))
            .expect("nb");
        cert.set_not_after(&Asn1Time::days_from_now(2).expect("time"))
            .expect("na");
        cert.sign(&key, MessageDigest::sha256()).expect("sign");
        let pem = cert.build().to_pem().expect("pem");
        let certificate = SslCertificate::from_data(&pem, EncodingFormat::Pem);
        let mut server = SslConfiguration::default_configuration();
        server.set_local_certificate_chain(certificate.clone());
        server.set_private_key(SslKey::new(
            &key.private_key_to_pem_pkcs8().expect("key pem"),
            KeyAlgorithm::Ec,
            EncodingFormat::Pem,
            KeyType::PrivateKey,
            b"",
        ));
        server.set_peer_verify_mode(PeerVerifyMode::VerifyNone);
        let mut client = SslConfiguration::default_configuration();
        client.set_ca_certificates(certificate);
        (server, client)
    })
}
