//! `SslConfiguration` (Qt's `QSslConfiguration`): everything a socket's TLS session is built
//! from, as a value type, plus the read-only fields of the session it produced.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::cipher::{CipherLists, cipher_lists_for, resolve_cipher_string};
use crate::{PeerVerifyMode, SslCertificate, SslCipher, SslKey, SslOption, SslProtocol};

/// The TLS settings of a socket or server (Qt: `QSslConfiguration`), and after a handshake the
/// session's read-only facts (peer certificate and chain, cipher, protocol).
///
/// A socket copies the process-wide [`default_configuration`](SslConfiguration::default_configuration)
/// when it is created; later changes to the default do not reach existing sockets.
///
/// # Examples
/// ```
/// use qsslsocket::{PeerVerifyMode, SslConfiguration, SslProtocol};
///
/// let mut config = SslConfiguration::default_configuration();
/// config.set_protocol(SslProtocol::TlsV1_3);
/// config.set_peer_verify_mode(PeerVerifyMode::VerifyPeer);
/// assert_eq!(config.protocol(), SslProtocol::TlsV1_3);
/// assert!(SslConfiguration::new().is_null());
/// ```
#[derive(Clone, Debug)]
#[doc(alias = "QSslConfiguration")]
pub struct SslConfiguration {
    pub(crate) protocol: SslProtocol,
    pub(crate) peer_verify_mode: PeerVerifyMode,
    pub(crate) peer_verify_depth: i32,
    pub(crate) peer_verify_name: String,
    /// Leaf first, then any intermediates to send.
    pub(crate) local_certificate_chain: Vec<SslCertificate>,
    pub(crate) private_key: SslKey,
    pub(crate) ca_certificates: Vec<SslCertificate>,
    /// Where CA certificates loaded from files came from, for the verification audit.
    pub(crate) ca_files: HashMap<SslCertificate, PathBuf>,
    /// Qt's `allowRootCertOnDemandLoading`: system roots are looked up in the hashed directories
    /// while verifying. Turned off by setting an explicit CA list.
    pub(crate) allow_root_cert_on_demand_loading: bool,
    /// Shared between copies: every socket starts with a copy of the default configuration, and
    /// the list is only read after that.
    pub(crate) ciphers: Arc<[SslCipher]>,
    /// After `set_ciphers_str`: the string without its TLS 1.3 names, for
    /// `SSL_CTX_set_cipher_list`; `None` if that part resolved to nothing. Use
    /// [`context_cipher_lists`](SslConfiguration::context_cipher_lists) rather than this field.
    pub(crate) cipher_string: Option<String>,
    /// After `set_ciphers_str`: its TLS 1.3 names for `SSL_CTX_set_ciphersuites`.
    pub(crate) cipher_suites: Option<String>,
    pub(crate) ssl_options: u32,
    pub(crate) allowed_next_protocols: Vec<Vec<u8>>,
    pub(crate) session_ticket: Vec<u8>,
    pub(crate) session_ticket_lifetime_hint: i32,
    pub(crate) missing_certificate_is_fatal: bool,
    pub(crate) handshake_must_interrupt_on_error: bool,
    pub(crate) session: SessionInfo,
}

/// The read-only facts of a completed (or attempted) handshake.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct SessionInfo {
    pub(crate) peer_certificate: SslCertificate,
    pub(crate) peer_certificate_chain: Vec<SslCertificate>,
    pub(crate) session_cipher: SslCipher,
    pub(crate) session_protocol: Option<SslProtocol>,
    pub(crate) next_negotiated_protocol: Vec<u8>,
    pub(crate) next_protocol_negotiation_status: NextProtocolNegotiationStatus,
}

/// `QSslConfiguration::NextProtocolNegotiationStatus` for ALPN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum NextProtocolNegotiationStatus {
    /// No protocol was negotiated (none offered, or the handshake has not run).
    #[default]
    NextProtocolNegotiationNone = 0,
    /// The peers agreed on a protocol.
    NextProtocolNegotiationNegotiated = 1,
    /// The peers had no protocol in common.
    NextProtocolNegotiationUnsupported = 2,
}

impl Default for SslConfiguration {
    fn default() -> Self {
        SslConfiguration::new()
    }
}

impl PartialEq for SslConfiguration {
    /// Compares every setting and session field, not where CA certificates were loaded from.
    fn eq(&self, other: &Self) -> bool {
        self.protocol == other.protocol
            && self.peer_verify_mode == other.peer_verify_mode
            && self.peer_verify_depth == other.peer_verify_depth
            && self.peer_verify_name == other.peer_verify_name
            && self.local_certificate_chain == other.local_certificate_chain
            && self.private_key == other.private_key
            && self.ca_certificates == other.ca_certificates
            && self.allow_root_cert_on_demand_loading == other.allow_root_cert_on_demand_loading
            && self.ciphers == other.ciphers
            && self.cipher_string == other.cipher_string
            && self.cipher_suites == other.cipher_suites
            && self.ssl_options == other.ssl_options
            && self.allowed_next_protocols == other.allowed_next_protocols
            && self.session_ticket == other.session_ticket
            && self.session_ticket_lifetime_hint == other.session_ticket_lifetime_hint
            && self.missing_certificate_is_fatal == other.missing_certificate_is_fatal
            && self.handshake_must_interrupt_on_error == other.handshake_must_interrupt_on_error
            && self.session == other.session
    }
}

impl Eq for SslConfiguration {}

impl SslConfiguration {
    /// A null configuration: Qt's `QSslConfiguration()`, every field at its default (protocol
    /// `SecureProtocols`, `AutoVerifyPeer`, no CA certificates, no ciphers: a socket using it
    /// falls back to the defaults at handshake time).
    pub fn new() -> SslConfiguration {
        SslConfiguration {
            protocol: SslProtocol::SecureProtocols,
            peer_verify_mode: PeerVerifyMode::AutoVerifyPeer,
            peer_verify_depth: 0,
            peer_verify_name: String::new(),
            local_certificate_chain: Vec::new(),
            private_key: SslKey::default(),
            ca_certificates: Vec::new(),
            ca_files: HashMap::new(),
            allow_root_cert_on_demand_loading: true,
            ciphers: Arc::from([]),
            cipher_string: None,
            cipher_suites: None,
            ssl_options: SslOption::DEFAULT_MASK,
            allowed_next_protocols: Vec::new(),
            session_ticket: Vec::new(),
            session_ticket_lifetime_hint: -1,
            missing_certificate_is_fatal: false,
            handshake_must_interrupt_on_error: false,
            session: SessionInfo::default(),
        }
    }

    /// Whether every field still has its `new()` value.
    pub fn is_null(&self) -> bool {
        *self == SslConfiguration::new()
    }

    /// The protocol (range) to negotiate. Default: `SecureProtocols` (TLS 1.2 and later).
    pub fn protocol(&self) -> SslProtocol {
        self.protocol
    }

    /// Sets the protocol (range). `TlsV1_0`/`TlsV1_1` and their `OrLater` forms lower OpenSSL's
    /// security level to 0 for this configuration's context, because OpenSSL 3 allows those
    /// versions at no higher level; `SecureProtocols` and the TLS 1.2+ values never change it.
    pub fn set_protocol(&mut self, protocol: SslProtocol) {
        self.protocol = protocol;
    }

    /// How the peer's certificate is requested and judged. Default: `AutoVerifyPeer`.
    pub fn peer_verify_mode(&self) -> PeerVerifyMode {
        self.peer_verify_mode
    }

    /// Sets how the peer's certificate is requested and judged.
    pub fn set_peer_verify_mode(&mut self, mode: PeerVerifyMode) {
        self.peer_verify_mode = mode;
    }

    /// The maximum chain depth OpenSSL verifies; 0 (the default) means no limit.
    pub fn peer_verify_depth(&self) -> i32 {
        self.peer_verify_depth
    }

    /// Sets the maximum verification depth. A negative depth is refused (the value is kept),
    /// as in Qt.
    pub fn set_peer_verify_depth(&mut self, depth: i32) {
        if depth >= 0 {
            self.peer_verify_depth = depth;
        }
    }

    /// The name the peer's certificate is checked against and sent as SNI, when not empty.
    pub fn peer_verify_name(&self) -> String {
        self.peer_verify_name.clone()
    }

    /// Sets the name the peer's certificate is checked against (instead of the host given to
    /// `connect_to_host*`).
    pub fn set_peer_verify_name(&mut self, name: &str) {
        self.peer_verify_name = name.to_owned();
    }

    /// The local certificate (the chain's first entry), null if none.
    pub fn local_certificate(&self) -> SslCertificate {
        self.local_certificate_chain
            .first()
            .cloned()
            .unwrap_or_default()
    }

    /// Sets the local certificate (replacing any chain).
    pub fn set_local_certificate(&mut self, certificate: SslCertificate) {
        self.local_certificate_chain = if certificate.is_null() {
            Vec::new()
        } else {
            vec![certificate]
        };
    }

    /// The local certificate chain: leaf first, then intermediates.
    pub fn local_certificate_chain(&self) -> Vec<SslCertificate> {
        self.local_certificate_chain.clone()
    }

    /// Sets the local certificate chain (leaf first). The extra certificates are sent to the
    /// peer with the leaf.
    pub fn set_local_certificate_chain(&mut self, chain: Vec<SslCertificate>) {
        self.local_certificate_chain = chain.into_iter().filter(|c| !c.is_null()).collect();
    }

    /// The private key for the local certificate.
    pub fn private_key(&self) -> SslKey {
        self.private_key.clone()
    }

    /// Sets the private key for the local certificate.
    pub fn set_private_key(&mut self, key: SslKey) {
        self.private_key = key;
    }

    /// The CA certificates the peer is verified against (besides on-demand system roots).
    pub fn ca_certificates(&self) -> Vec<SslCertificate> {
        self.ca_certificates.clone()
    }

    /// Replaces the CA list. As in Qt 5.15/6 this switches off on-demand system roots for this
    /// configuration.
    pub fn set_ca_certificates(&mut self, certificates: Vec<SslCertificate>) {
        self.ca_certificates = certificates.into_iter().filter(|c| !c.is_null()).collect();
        self.ca_files
            .retain(|c, _| self.ca_certificates.contains(c));
        self.allow_root_cert_on_demand_loading = false;
    }

    /// Appends one CA certificate; switches off on-demand system roots (Qt 5.15/6).
    pub fn add_ca_certificate(&mut self, certificate: SslCertificate) {
        if !certificate.is_null() {
            self.ca_certificates.push(certificate);
        }
        self.allow_root_cert_on_demand_loading = false;
    }

    /// Appends CA certificates; switches off on-demand system roots (Qt 5.15/6).
    pub fn add_ca_certificates(&mut self, certificates: &[SslCertificate]) {
        self.ca_certificates
            .extend(certificates.iter().filter(|c| !c.is_null()).cloned());
        self.allow_root_cert_on_demand_loading = false;
    }

    /// Loads CA certificates from `path` (a file, or a pattern for `Wildcard`/`RegExp`) and
    /// appends them, keeping on-demand system roots. Returns false if nothing was loaded.
    pub fn add_ca_certificates_from_path(
        &mut self,
        path: impl AsRef<std::path::Path>,
        format: crate::EncodingFormat,
        syntax: crate::PatternSyntax,
    ) -> bool {
        let found = SslCertificate::from_path_with_origin(path.as_ref(), format, syntax);
        if found.is_empty() {
            return false;
        }
        for (certificate, file) in found {
            self.ca_files.insert(certificate.clone(), file);
            self.ca_certificates.push(certificate);
        }
        true
    }

    /// Whether a context built from this configuration registers the hashed system
    /// directories for on-demand root lookup: the configuration allows it (no explicit CA list
    /// was set, Qt's `allowRootCertOnDemandLoading`) and the process supports it (the
    /// directories exist and `set_default_ca_certificates` was not called).
    pub(crate) fn allows_on_demand_roots(&self) -> bool {
        self.allow_root_cert_on_demand_loading
            && crate::defaults::system_roots_available_on_demand()
    }

    /// The cipher list: what `set_ciphers` stored, or after `set_ciphers_str` what OpenSSL
    /// resolved the string to. Empty means "the default ciphers at handshake time".
    pub fn ciphers(&self) -> Vec<SslCipher> {
        self.ciphers.to_vec()
    }

    /// Sets the cipher list (Qt: `setCiphers(QList<QSslCipher>)`). TLS 1.3 suites go to
    /// OpenSSL's TLS 1.3 list, the others to the TLS 1.2-and-below list; a group left empty
    /// keeps OpenSSL's defaults, and an empty list means the default ciphers.
    #[doc(alias = "setCiphers")]
    pub fn set_ciphers(&mut self, ciphers: Vec<SslCipher>) {
        self.ciphers = ciphers.into_iter().filter(|c| !c.is_null()).collect();
        self.cipher_string = None;
        self.cipher_suites = None;
    }

    /// Sets the ciphers from an OpenSSL cipher string (Qt: `setCiphers(const QString &)`).
    ///
    /// The context is given the string itself, so OpenSSL's whole syntax works (`HIGH:!aNULL`,
    /// `+kRSA`, `@STRENGTH`, `@SECLEVEL=n`), with TLS 1.3 suite names routed to OpenSSL's TLS
    /// 1.3 list. Qt looked up exact names only and silently ignored keywords; honouring them is
    /// a deliberate improvement. Exact names behave as in Qt: unknown ones are dropped and the
    /// order kept; a string in which nothing resolves leaves the defaults (`ciphers()` is then
    /// empty, as in Qt 6). [`ciphers`](Self::ciphers) returns what OpenSSL resolved, minus
    /// suites the string's security level rules out. [`SslCipher::report`] explains a string
    /// token by token.
    ///
    /// ```
    /// use qsslsocket::{SslCipher, SslConfiguration};
    ///
    /// let mut config = SslConfiguration::new();
    /// config.set_ciphers_str("ECDHE-RSA-AES128-GCM-SHA256:NO-SUCH-CIPHER:TLS_AES_128_GCM_SHA256");
    /// assert_eq!(
    ///     config.ciphers(),
    ///     [SslCipher::new("ECDHE-RSA-AES128-GCM-SHA256"), SslCipher::new("TLS_AES_128_GCM_SHA256")]
    /// );
    /// config.set_ciphers_str("HIGH:!aNULL:@STRENGTH");
    /// assert!(config.ciphers().len() > 10);
    /// config.set_ciphers_str("NOTHING:KNOWN");
    /// assert!(config.ciphers().is_empty());
    /// ```
    #[doc(alias = "setCiphers")]
    pub fn set_ciphers_str(&mut self, ciphers: &str) {
        let resolved = resolve_cipher_string(ciphers);
        self.ciphers = resolved.ciphers.into();
        self.cipher_string = resolved.openssl_string;
        self.cipher_suites = resolved.tls13_string;
    }

    /// What a context built from this configuration gives `SSL_CTX_set_cipher_list` and
    /// `SSL_CTX_set_ciphersuites` (`None`: leave OpenSSL's default for that group). A
    /// `set_ciphers_str` string goes as resolved; otherwise the cipher list, or when it is empty
    /// the process's default ciphers, is split as Qt 5.15/6 does. Both `None` means there is no
    /// cipher at all (the default ciphers were set empty): Qt fails the handshake with
    /// "Invalid or empty cipher list ()". A cipher list string may carry `@SECLEVEL=n`, which
    /// overrides a security level set on the context before it.
    pub(crate) fn context_cipher_lists(&self) -> CipherLists {
        if self.cipher_string.is_some() || self.cipher_suites.is_some() {
            return CipherLists {
                tls12: self.cipher_string.clone(),
                tls13: self.cipher_suites.clone(),
            };
        }
        if !self.ciphers.is_empty() {
            return cipher_lists_for(&self.ciphers);
        }
        cipher_lists_for(&crate::defaults::default_ciphers())
    }

    /// Turns an SSL option on or off.
    pub fn set_ssl_option(&mut self, option: SslOption, on: bool) {
        if on {
            self.ssl_options |= option as u32;
        } else {
            self.ssl_options &= !(option as u32);
        }
    }

    /// Whether an SSL option is on.
    pub fn test_ssl_option(&self, option: SslOption) -> bool {
        self.ssl_options & option as u32 != 0
    }

    /// The ALPN protocols offered (client) or accepted (server), in preference order.
    pub fn allowed_next_protocols(&self) -> Vec<Vec<u8>> {
        self.allowed_next_protocols.clone()
    }

    /// Sets the ALPN protocols to offer or accept.
    pub fn set_allowed_next_protocols(&mut self, protocols: Vec<Vec<u8>>) {
        self.allowed_next_protocols = protocols;
    }

    /// The ALPN protocol negotiated in the last handshake (empty if none).
    pub fn next_negotiated_protocol(&self) -> Vec<u8> {
        self.session.next_negotiated_protocol.clone()
    }

    /// How ALPN went in the last handshake, as Qt reports it: `Negotiated` when the peers agreed
    /// on a protocol; `Unsupported` on a server whose client offered only protocols it does not
    /// allow (the handshake goes on without ALPN); otherwise `None`, also on a client whose
    /// server chose nothing.
    pub fn next_protocol_negotiation_status(&self) -> NextProtocolNegotiationStatus {
        self.session.next_protocol_negotiation_status
    }

    /// The serialized session of the last handshake (Qt 5.13's `sessionTicket()`), for
    /// resuming it later, possibly in another process, with `set_session_ticket`. Empty unless
    /// `SslOptionDisableSessionPersistence` is off and a session was established.
    pub fn session_ticket(&self) -> Vec<u8> {
        self.session_ticket.clone()
    }

    /// Sets a session saved by `session_ticket()`; the next client handshake offers it.
    pub fn set_session_ticket(&mut self, ticket: Vec<u8>) {
        self.session_ticket = ticket;
    }

    /// The lifetime hint the server gave with the session ticket, in seconds; -1 if none.
    pub fn session_ticket_life_time_hint(&self) -> i32 {
        self.session_ticket_lifetime_hint
    }

    /// Whether a server that asks for a client certificate (`VerifyPeer`, and also `QueryPeer`
    /// or `AutoVerifyPeer`, as in Qt 6's OpenSSL backend) fails inside OpenSSL when the client
    /// sends none: an alert to the client, "Error during SSL handshake: ...peer did not return a
    /// certificate", no `sslErrors`. Off (the default), `VerifyPeer` reports `NoPeerCertificate`
    /// after the handshake and `QueryPeer` accepts the client.
    pub fn missing_certificate_is_fatal(&self) -> bool {
        self.missing_certificate_is_fatal
    }

    /// Sets [`missing_certificate_is_fatal`](Self::missing_certificate_is_fatal).
    pub fn set_missing_certificate_is_fatal(&mut self, fatal: bool) {
        self.missing_certificate_is_fatal = fatal;
    }

    /// The peer's certificate from the last handshake, null if none.
    pub fn peer_certificate(&self) -> SslCertificate {
        self.session.peer_certificate.clone()
    }

    /// The peer's certificate chain from the last handshake, leaf first.
    pub fn peer_certificate_chain(&self) -> Vec<SslCertificate> {
        self.session.peer_certificate_chain.clone()
    }

    /// The cipher of the last handshake, null if none.
    pub fn session_cipher(&self) -> SslCipher {
        self.session.session_cipher.clone()
    }

    /// The protocol version negotiated in the last handshake (`UnknownProtocol` if none).
    pub fn session_protocol(&self) -> SslProtocol {
        self.session
            .session_protocol
            .unwrap_or(SslProtocol::UnknownProtocol)
    }
}
