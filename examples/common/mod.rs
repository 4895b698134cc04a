//! What the examples share: a certificate for their local stand-in servers, minted at start
//! (nothing on disk, no key committed), and those servers' listening socket on 127.0.0.1. Not an example itself (`cargo` only builds
//! `examples/*.rs` and `examples/*/main.rs`).

use openssl::asn1::Asn1Time;
use openssl::ec::{EcGroup, EcKey};
use openssl::hash::MessageDigest;
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::extension::SubjectAlternativeName;
use openssl::x509::{X509, X509NameBuilder};
use std::net::{IpAddr, Ipv4Addr};

use qsslsocket::{
    EncodingFormat, KeyAlgorithm, KeyType, SslCertificate, SslConfiguration, SslKey, SslServer,
};

/// The key type of a minted certificate.
#[allow(dead_code)] // each example uses one of them
pub(crate) enum KeyKind {
    /// ECDSA P-256.
    Ec,
    /// RSA-2048, for the RSA-authenticated suites of old cipher strings.
    Rsa,
}

/// A self-signed certificate for localhost / 127.0.0.1, valid for a day, and its key.
pub(crate) fn mint(kind: KeyKind) -> (SslCertificate, SslKey) {
    let (key, algorithm): (PKey<Private>, _) = match kind {
        KeyKind::Ec => (
            PKey::from_ec_key(
                EcKey::generate(&EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap()).unwrap(),
            )
            .unwrap(),
            KeyAlgorithm::Ec,
        ),
        KeyKind::Rsa => (
            PKey::from_rsa(Rsa::generate(2048).unwrap()).unwrap(),
            KeyAlgorithm::Rsa,
        ),
    };
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, "localhost")
        .unwrap();
    let name = name.build();
    let mut b = X509::builder().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::days_from_now(0).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::days_from_now(1).unwrap())
        .unwrap();
    let san = SubjectAlternativeName::new()
        .dns("localhost")
        .ip("127.0.0.1")
        .build(&b.x509v3_context(None, None))
        .unwrap();
    b.append_extension(san).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    let cert = SslCertificate::from_data(&b.build().to_pem().unwrap(), EncodingFormat::Pem);
    let key = SslKey::new(
        &key.private_key_to_pem_pkcs8().unwrap(),
        algorithm,
        EncodingFormat::Pem,
        KeyType::PrivateKey,
        b"",
    );
    (cert[0].clone(), key)
}

/// Starts listening on 127.0.0.1, on a port the kernel picks; returns the port.
pub(crate) fn listen_locally(server: &mut SslServer) -> u16 {
    assert!(
        server.listen(IpAddr::V4(Ipv4Addr::LOCALHOST), 0),
        "listen: {}",
        server.error_string()
    );
    server.server_port()
}

/// A stand-in server presenting `certificate`, listening on 127.0.0.1; returns it and its port.
#[allow(dead_code)] // not every example uses it
pub(crate) fn stand_in_server(certificate: SslCertificate, key: SslKey) -> (SslServer, u16) {
    let mut config = SslConfiguration::default_configuration();
    config.set_local_certificate(certificate);
    config.set_private_key(key);
    let mut server = SslServer::new();
    server.set_ssl_configuration(config);
    let port = listen_locally(&mut server);
    (server, port)
}
