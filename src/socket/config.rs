//! The socket's TLS settings and session facts: thin delegations to its `SslConfiguration`
//! (Qt's QSslSocket has the same getters and setters as QSslConfiguration).

use std::path::Path;

use crate::{
    EncodingFormat, KeyAlgorithm, KeyType, PatternSyntax, PeerVerifyMode, SocketError,
    SocketOption, SslCertificate, SslCipher, SslConfiguration, SslKey, SslProtocol,
};

use super::SslSocket;

impl SslSocket {
    /// The socket's configuration, including the session fields of the last handshake.
    #[doc(alias = "sslConfiguration")]
    pub fn ssl_configuration(&self) -> SslConfiguration {
        self.config.clone()
    }

    /// Replaces the socket's settings (the session fields of the last handshake are kept).
    /// Takes effect at the next handshake.
    #[doc(alias = "setSslConfiguration")]
    pub fn set_ssl_configuration(&mut self, configuration: SslConfiguration) {
        let session = std::mem::take(&mut self.config.session);
        self.config = configuration;
        self.config.session = session;
    }

    /// The protocol (range) to negotiate.
    pub fn protocol(&self) -> SslProtocol {
        self.config.protocol()
    }

    /// Sets the protocol (range). See [`SslConfiguration::set_protocol`] for what `TlsV1_0` and
    /// `TlsV1_1` do to OpenSSL's security level.
    pub fn set_protocol(&mut self, protocol: SslProtocol) {
        self.config.set_protocol(protocol);
    }

    /// How the peer's certificate is requested and judged.
    #[doc(alias = "peerVerifyMode")]
    pub fn peer_verify_mode(&self) -> PeerVerifyMode {
        self.config.peer_verify_mode()
    }

    /// Sets how the peer's certificate is requested and judged.
    #[doc(alias = "setPeerVerifyMode")]
    pub fn set_peer_verify_mode(&mut self, mode: PeerVerifyMode) {
        self.config.set_peer_verify_mode(mode);
    }

    /// The maximum verification depth (0: no limit).
    #[doc(alias = "peerVerifyDepth")]
    pub fn peer_verify_depth(&self) -> i32 {
        self.config.peer_verify_depth()
    }

    /// Sets the maximum verification depth; negative values are refused (Qt).
    #[doc(alias = "setPeerVerifyDepth")]
    pub fn set_peer_verify_depth(&mut self, depth: i32) {
        self.config.set_peer_verify_depth(depth);
    }

    /// The name checked against the certificate and sent as SNI (empty: the host name).
    #[doc(alias = "peerVerifyName")]
    pub fn peer_verify_name(&self) -> String {
        self.config.peer_verify_name()
    }

    /// Sets the name checked against the certificate and sent as SNI.
    #[doc(alias = "setPeerVerifyName")]
    pub fn set_peer_verify_name(&mut self, name: &str) {
        self.config.set_peer_verify_name(name);
    }

    /// The CA certificates of this socket.
    #[doc(alias = "caCertificates")]
    pub fn ca_certificates(&self) -> Vec<SslCertificate> {
        self.config.ca_certificates()
    }

    /// Replaces the CA list; system roots are then no longer looked up on demand.
    #[doc(alias = "setCaCertificates")]
    pub fn set_ca_certificates(&mut self, certificates: Vec<SslCertificate>) {
        self.config.set_ca_certificates(certificates);
    }

    /// Adds a CA certificate; system roots are then no longer looked up on demand.
    #[doc(alias = "addCaCertificate")]
    pub fn add_ca_certificate(&mut self, certificate: SslCertificate) {
        self.config.add_ca_certificate(certificate);
    }

    /// Adds CA certificates; system roots are then no longer looked up on demand.
    #[doc(alias = "addCaCertificates")]
    pub fn add_ca_certificates(&mut self, certificates: &[SslCertificate]) {
        self.config.add_ca_certificates(certificates);
    }

    /// Adds the CA certificates found at `path` (a file, or a pattern); keeps on-demand system
    /// roots. Returns false if none was found.
    pub fn add_ca_certificates_from_path(
        &mut self,
        path: impl AsRef<Path>,
        format: EncodingFormat,
        syntax: PatternSyntax,
    ) -> bool {
        self.config
            .add_ca_certificates_from_path(path, format, syntax)
    }

    /// The cipher list (empty: the defaults).
    pub fn ciphers(&self) -> Vec<SslCipher> {
        self.config.ciphers()
    }

    /// Sets the cipher list.
    #[doc(alias = "setCiphers")]
    pub fn set_ciphers(&mut self, ciphers: Vec<SslCipher>) {
        self.config.set_ciphers(ciphers);
    }

    /// Sets the ciphers from an OpenSSL cipher string; see
    /// [`SslConfiguration::set_ciphers_str`].
    pub fn set_ciphers_str(&mut self, ciphers: &str) {
        self.config.set_ciphers_str(ciphers);
    }

    /// The local certificate, null if none.
    #[doc(alias = "localCertificate")]
    pub fn local_certificate(&self) -> SslCertificate {
        self.config.local_certificate()
    }

    /// Sets the local certificate.
    #[doc(alias = "setLocalCertificate")]
    pub fn set_local_certificate(&mut self, certificate: SslCertificate) {
        self.config.set_local_certificate(certificate);
    }

    /// Loads the local certificate (the first in the file) from `path`. A file that cannot be
    /// read or holds no certificate leaves the certificate unchanged and sets `error()` to
    /// `SslInvalidUserDataError` with the reason.
    pub fn set_local_certificate_from_path(
        &mut self,
        path: impl AsRef<Path>,
        format: EncodingFormat,
    ) {
        let path = path.as_ref();
        match std::fs::read(path) {
            Ok(data) => match SslCertificate::from_data(&data, format).into_iter().next() {
                Some(certificate) => self.config.set_local_certificate(certificate),
                None => self.set_error(
                    SocketError::SslInvalidUserDataError,
                    format!("No certificate found in {}", path.display()),
                ),
            },
            Err(e) => self.set_error(
                SocketError::SslInvalidUserDataError,
                format!("Cannot read certificate file {}: {e}", path.display()),
            ),
        }
    }

    /// The local certificate chain (leaf first).
    #[doc(alias = "localCertificateChain")]
    pub fn local_certificate_chain(&self) -> Vec<SslCertificate> {
        self.config.local_certificate_chain()
    }

    /// Sets the local certificate chain (leaf first); the extra certificates are sent with it.
    #[doc(alias = "setLocalCertificateChain")]
    pub fn set_local_certificate_chain(&mut self, chain: Vec<SslCertificate>) {
        self.config.set_local_certificate_chain(chain);
    }

    /// The private key.
    #[doc(alias = "privateKey")]
    pub fn private_key(&self) -> SslKey {
        self.config.private_key()
    }

    /// Sets the private key.
    #[doc(alias = "setPrivateKey")]
    pub fn set_private_key(&mut self, key: SslKey) {
        self.config.set_private_key(key);
    }

    /// Loads the private key from `path`. An unreadable file or a key that does not load (wrong
    /// pass phrase, corrupt data) leaves the key unchanged and sets `error()` to
    /// `SslInvalidUserDataError` with the reason.
    pub fn set_private_key_from_path(
        &mut self,
        path: impl AsRef<Path>,
        algorithm: KeyAlgorithm,
        format: EncodingFormat,
        pass_phrase: &[u8],
    ) {
        let path = path.as_ref();
        match std::fs::read(path) {
            Ok(data) => {
                let key = SslKey::new(&data, algorithm, format, KeyType::PrivateKey, pass_phrase);
                if key.is_null() {
                    self.set_error(
                        SocketError::SslInvalidUserDataError,
                        format!(
                            "Cannot load private key from {}: {}",
                            path.display(),
                            key.error_string()
                        ),
                    );
                } else {
                    self.config.set_private_key(key);
                }
            }
            Err(e) => self.set_error(
                SocketError::SslInvalidUserDataError,
                format!("Cannot read private key file {}: {e}", path.display()),
            ),
        }
    }

    /// The peer's certificate from the last handshake, null if none.
    #[doc(alias = "peerCertificate")]
    pub fn peer_certificate(&self) -> SslCertificate {
        self.config.peer_certificate()
    }

    /// The peer's certificate chain from the last handshake, leaf first.
    #[doc(alias = "peerCertificateChain")]
    pub fn peer_certificate_chain(&self) -> Vec<SslCertificate> {
        self.config.peer_certificate_chain()
    }

    /// The cipher in use, null before a handshake completes and after the connection closed.
    #[doc(alias = "sessionCipher")]
    pub fn session_cipher(&self) -> SslCipher {
        if self.engine.is_none() {
            return SslCipher::default();
        }
        self.config.session_cipher()
    }

    /// The protocol version in use (Qt 5.4), `UnknownProtocol` when not encrypted.
    #[doc(alias = "sessionProtocol")]
    pub fn session_protocol(&self) -> SslProtocol {
        if self.engine.is_none() {
            return SslProtocol::UnknownProtocol;
        }
        self.config.session_protocol()
    }

    /// Whether the last handshake resumed an earlier session (crate extension; Qt has no such
    /// query). Sessions are resumed automatically between client sockets with equal
    /// configurations (unless `SslOptionDisableSessionSharing`), and from a ticket set with
    /// `SslConfiguration::set_session_ticket`.
    pub fn is_session_resumed(&self) -> bool {
        self.session_resumed
    }

    /// Sets a socket option now (if connected) and for later connections.
    #[doc(alias = "setSocketOption")]
    pub fn set_socket_option(&mut self, option: SocketOption, value: i32) {
        self.socket_options.insert(option, value);
        if let Some(tcp) = &self.tcp {
            tcp.set_option(option, value);
        }
    }

    /// A socket option's current value (-1 if it does not apply or is unknown).
    #[doc(alias = "socketOption")]
    pub fn socket_option(&self, option: SocketOption) -> i32 {
        match &self.tcp {
            Some(tcp) => tcp.option(option),
            None => self.socket_options.get(&option).copied().unwrap_or(-1),
        }
    }

    /// Whether this build of OpenSSL can really handshake `protocol` (Qt 6's
    /// `isProtocolSupported`): probed once per process with an in-memory handshake, so the
    /// security level and system configuration are taken into account.
    #[doc(alias = "isProtocolSupported")]
    pub fn is_protocol_supported(protocol: SslProtocol) -> bool {
        crate::engine::probe::is_protocol_supported(protocol)
    }
}
