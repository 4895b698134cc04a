//! Qt's enums from `QSsl::`, `QAbstractSocket::`, `QSslSocket::`, `QSslCertificate::`,
//! `QCryptographicHash::` and `QIODevice::`, with Qt's variant names and Qt 6's values.
//!
//! Every enum is `Copy + Eq + Hash`, prints its bare Qt name with `Debug` and `Display`, parses
//! that name with `FromStr`, and converts to Qt's value with `as i32` (and back with
//! [`from_i32`](SslProtocol::from_i32)).

use std::fmt;
use std::str::FromStr;

/// The error returned by `FromStr` on the crate's enums when a name is not one of the variants.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("unknown {enum_name} variant {name:?}")]
pub struct ParseEnumError {
    enum_name: &'static str,
    name: String,
}

/// Declares a Qt enum: explicit discriminants, bare-name `Debug`/`Display`, `FromStr`, `ALL`,
/// `name()` and `from_i32()`.
macro_rules! qt_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[repr(i32)]
        pub enum $name {
            $( $(#[$vmeta])* $variant = $value ),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The bare Qt name of the variant, as `Display` prints it.
            pub const fn name(self) -> &'static str {
                match self { $($name::$variant => stringify!($variant)),+ }
            }

            /// The variant whose Qt value is `value`, if any.
            pub fn from_i32(value: i32) -> Option<$name> {
                $name::ALL.iter().copied().find(|v| *v as i32 == value)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = ParseEnumError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.name() == s)
                    .ok_or_else(|| ParseEnumError { enum_name: stringify!($name), name: s.to_owned() })
            }
        }
    };
}

qt_enum! {
    /// `QSslError::SslError`: the kind of a verification problem, with Qt's values.
    pub enum SslErrorKind {
        /// No error at all.
        NoError = 0,
        /// The issuer certificate could not be found.
        UnableToGetIssuerCertificate = 1,
        /// The certificate signature could not be decrypted.
        UnableToDecryptCertificateSignature = 2,
        /// The issuer's public key could not be read.
        UnableToDecodeIssuerPublicKey = 3,
        /// The certificate's signature is invalid.
        CertificateSignatureFailed = 4,
        /// The certificate is not valid yet.
        CertificateNotYetValid = 5,
        /// The certificate has expired.
        CertificateExpired = 6,
        /// The notBefore field is malformed.
        InvalidNotBeforeField = 7,
        /// The notAfter field is malformed.
        InvalidNotAfterField = 8,
        /// The peer's certificate is self-signed and not trusted.
        SelfSignedCertificate = 9,
        /// The chain ends in an untrusted self-signed root.
        SelfSignedCertificateInChain = 10,
        /// The issuer of a certificate is not among the trusted certificates.
        UnableToGetLocalIssuerCertificate = 11,
        /// No certificate of the chain could be verified.
        UnableToVerifyFirstCertificate = 12,
        /// The certificate was revoked.
        CertificateRevoked = 13,
        /// A CA certificate of the chain is not a valid CA.
        InvalidCaCertificate = 14,
        /// A basicConstraints path length was exceeded.
        PathLengthExceeded = 15,
        /// The certificate may not be used for this purpose (key usage / EKU).
        InvalidPurpose = 16,
        /// The root CA is not trusted for this purpose.
        CertificateUntrusted = 17,
        /// The root CA is marked to reject this purpose.
        CertificateRejected = 18,
        /// The candidate issuer's subject does not match the issuer name.
        SubjectIssuerMismatch = 19,
        /// The candidate issuer does not match the authority key identifier.
        AuthorityIssuerSerialNumberMismatch = 20,
        /// The peer presented no certificate although one was required.
        NoPeerCertificate = 21,
        /// The certificate does not match the host name (or peer verify name).
        HostNameMismatch = 22,
        /// TLS is not available.
        NoSslSupport = 23,
        /// The peer's certificate is on Qt's blacklist of known fraudulent certificates.
        CertificateBlacklisted = 24,
        /// The certificate's revocation status is unknown.
        CertificateStatusUnknown = 25,
        /// No OCSP status response was found.
        OcspNoResponseFound = 26,
        /// The OCSP request was malformed.
        OcspMalformedRequest = 27,
        /// The OCSP response was malformed.
        OcspMalformedResponse = 28,
        /// The OCSP responder hit an internal error.
        OcspInternalError = 29,
        /// The OCSP responder asked to try later.
        OcspTryLater = 30,
        /// The OCSP responder requires a signed request (Qt's spelling).
        OcspSigRequred = 31,
        /// The client is not authorised to query the OCSP responder.
        OcspUnauthorized = 32,
        /// The OCSP responder's identity cannot be verified.
        OcspResponseCannotBeTrusted = 33,
        /// The OCSP response is for an unknown certificate.
        OcspResponseCertIdUnknown = 34,
        /// The OCSP response has expired.
        OcspResponseExpired = 35,
        /// The certificate's OCSP status is unknown.
        OcspStatusUnknown = 36,
        /// Any other verification failure (e.g. chain too long, key too small).
        UnspecifiedError = -1,
    }
}

qt_enum! {
    /// `QSslSocket::SslMode`: whether the socket is plain, a TLS client or a TLS server.
    pub enum SslMode {
        /// Plain TCP (before `start_*_encryption`).
        UnencryptedMode = 0,
        /// The socket is (or is becoming) a TLS client.
        SslClientMode = 1,
        /// The socket is (or is becoming) a TLS server.
        SslServerMode = 2,
    }
}

qt_enum! {
    /// `QSslSocket::PeerVerifyMode`: how the peer's certificate is requested and judged.
    pub enum PeerVerifyMode {
        /// No certificate is requested from the peer, chain errors are not collected.
        VerifyNone = 0,
        /// The certificate is requested and verified, but errors never fail the handshake.
        QueryPeer = 1,
        /// The certificate is required and must verify unless the errors are ignored.
        VerifyPeer = 2,
        /// `VerifyPeer` for a client, `QueryPeer` for a server (Qt's default).
        AutoVerifyPeer = 3,
    }
}

qt_enum! {
    /// `QSsl::SslProtocol` with Qt 6's values; Qt 5's `SslV3`, `SslV2` and `TlsV1SslV3` take
    /// values outside Qt 6's range.
    ///
    /// `TlsV1_0`, `TlsV1_1` and their `OrLater` forms lower OpenSSL's security level to 0 for the
    /// context that uses them, because OpenSSL 3 refuses those protocols' SHA-1 based signatures
    /// at any higher level (see `vendor-notes/`). `SecureProtocols` (the default) never does.
    pub enum SslProtocol {
        /// TLS 1.0 only.
        TlsV1_0 = 0,
        /// TLS 1.1 only.
        TlsV1_1 = 1,
        /// TLS 1.2 only.
        TlsV1_2 = 2,
        /// Any version from TLS 1.0 up that OpenSSL allows.
        AnyProtocol = 3,
        /// TLS 1.2 and later (Qt 6's default).
        SecureProtocols = 4,
        /// TLS 1.0 and later.
        TlsV1_0OrLater = 5,
        /// TLS 1.1 and later.
        TlsV1_1OrLater = 6,
        /// TLS 1.2 and later.
        TlsV1_2OrLater = 7,
        /// DTLS 1.0 (datagram; not usable on a TCP socket).
        DtlsV1_0 = 8,
        /// DTLS 1.0 and later (not usable on a TCP socket).
        DtlsV1_0OrLater = 9,
        /// DTLS 1.2 (not usable on a TCP socket).
        DtlsV1_2 = 10,
        /// DTLS 1.2 and later (not usable on a TCP socket).
        DtlsV1_2OrLater = 11,
        /// TLS 1.3 only.
        TlsV1_3 = 12,
        /// TLS 1.3 and later.
        TlsV1_3OrLater = 13,
        /// SSL 3.0 (Qt 4/5 only). Needs an OpenSSL built with SSLv3.
        SslV3 = 100,
        /// SSL 2.0 (Qt 4/5 only). No supported OpenSSL implements it.
        SslV2 = 101,
        /// SSL 3.0 or TLS 1.0 (Qt 4/5 only).
        TlsV1SslV3 = 102,
        /// Not a protocol: the value of an unset or unknown protocol.
        UnknownProtocol = -1,
    }
}

impl SslProtocol {
    /// Qt 4's name for TLS 1.0.
    pub const TLS_V1: SslProtocol = SslProtocol::TlsV1_0;

    /// Whether this is one of the DTLS values, which a TCP socket rejects.
    pub fn is_dtls(self) -> bool {
        matches!(
            self,
            SslProtocol::DtlsV1_0
                | SslProtocol::DtlsV1_0OrLater
                | SslProtocol::DtlsV1_2
                | SslProtocol::DtlsV1_2OrLater
        )
    }
}

qt_enum! {
    /// `QAbstractSocket::SocketState`.
    pub enum SocketState {
        /// Not connected.
        UnconnectedState = 0,
        /// Resolving the host name.
        HostLookupState = 1,
        /// TCP connection in progress.
        ConnectingState = 2,
        /// TCP connection established.
        ConnectedState = 3,
        /// Bound to an address and port (not used by TCP sockets here).
        BoundState = 4,
        /// Listening (servers).
        ListeningState = 5,
        /// Closing: queued data is being flushed before the connection closes.
        ClosingState = 6,
    }
}

qt_enum! {
    /// `QAbstractSocket::SocketError` (Qt 5/6 values).
    pub enum SocketError {
        /// The peer refused the connection (or it timed out).
        ConnectionRefusedError = 0,
        /// The remote host closed the connection (or sent close_notify).
        RemoteHostClosedError = 1,
        /// The host address was not found.
        HostNotFoundError = 2,
        /// The operation lacked the required privileges.
        SocketAccessError = 3,
        /// The system ran out of resources (e.g. descriptors).
        SocketResourceError = 4,
        /// A `wait_for_*` call timed out.
        SocketTimeoutError = 5,
        /// Datagram larger than the OS limit (UDP only).
        DatagramTooLargeError = 6,
        /// A network error (e.g. the cable was unplugged).
        NetworkError = 7,
        /// The address is already in use.
        AddressInUseError = 8,
        /// The address does not belong to the host.
        SocketAddressNotAvailableError = 9,
        /// The operation is not supported by the local operating system.
        UnsupportedSocketOperationError = 10,
        /// The last operation has not finished yet.
        UnfinishedSocketOperationError = 11,
        /// The proxy requires authentication.
        ProxyAuthenticationRequiredError = 12,
        /// The TLS handshake failed; `error_string()` says why.
        SslHandshakeFailedError = 13,
        /// The proxy refused the connection.
        ProxyConnectionRefusedError = 14,
        /// The proxy closed the connection.
        ProxyConnectionClosedError = 15,
        /// The proxy timed out.
        ProxyConnectionTimeoutError = 16,
        /// The proxy was not found.
        ProxyNotFoundError = 17,
        /// The proxy's reply was not understood.
        ProxyProtocolError = 18,
        /// The operation is not allowed in the socket's current state.
        OperationError = 19,
        /// The TLS library reported an internal error.
        SslInternalError = 20,
        /// The configuration is invalid (bad certificate, key, cipher list, protocol).
        SslInvalidUserDataError = 21,
        /// A temporary error (e.g. would block).
        TemporaryError = 22,
        /// No error, or an error not covered above.
        UnknownSocketError = -1,
    }
}

qt_enum! {
    /// `QAbstractSocket::SocketOption`, set with `set_socket_option`.
    pub enum SocketOption {
        /// `TCP_NODELAY`.
        LowDelayOption = 0,
        /// `SO_KEEPALIVE`.
        KeepAliveOption = 1,
        /// `IP_MULTICAST_TTL` (UDP only; rejected here).
        MulticastTtlOption = 2,
        /// `IP_MULTICAST_LOOP` (UDP only; rejected here).
        MulticastLoopbackOption = 3,
        /// `IP_TOS`.
        TypeOfServiceOption = 4,
        /// `SO_SNDBUF`.
        SendBufferSizeSocketOption = 5,
        /// `SO_RCVBUF`.
        ReceiveBufferSizeSocketOption = 6,
        /// `IP_MTU` (read only).
        PathMtuSocketOption = 7,
    }
}

qt_enum! {
    /// `QAbstractSocket::PauseMode`: whether the handshake pauses after `ssl_errors`.
    pub enum PauseMode {
        /// Never pause: the ignore decision is taken when `ssl_errors` returns.
        PauseNever = 0,
        /// Pause after `ssl_errors`; call `resume()` to continue or fail the handshake.
        PauseOnSslErrors = 1,
    }
}

qt_enum! {
    /// `QSsl::EncodingFormat`.
    pub enum EncodingFormat {
        /// Base64 text between `-----BEGIN ...-----` lines.
        Pem = 0,
        /// Binary ASN.1.
        Der = 1,
    }
}

qt_enum! {
    /// `QSsl::KeyAlgorithm`.
    pub enum KeyAlgorithm {
        /// A key whose algorithm the crate does not model (e.g. Ed25519) or a null key.
        Opaque = 0,
        /// RSA.
        Rsa = 1,
        /// DSA.
        Dsa = 2,
        /// Elliptic curve (ECDSA/ECDH).
        Ec = 3,
        /// Diffie-Hellman.
        Dh = 4,
    }
}

qt_enum! {
    /// `QSsl::KeyType`.
    pub enum KeyType {
        /// A private key (it also contains the public half).
        PrivateKey = 0,
        /// A public key only.
        PublicKey = 1,
    }
}

qt_enum! {
    /// `QSslCertificate::PatternSyntax`: how `from_path` reads its path argument.
    pub enum PatternSyntax {
        /// A regular expression matched against the whole path (Qt 6 calls it
        /// `RegularExpression`).
        RegExp = 0,
        /// A shell glob: `*`, `?` and `[...]`.
        Wildcard = 1,
        /// A plain file path (the default).
        FixedString = 2,
    }
}

impl PatternSyntax {
    /// Qt 6's name for [`PatternSyntax::RegExp`].
    pub const REGULAR_EXPRESSION: PatternSyntax = PatternSyntax::RegExp;

    /// Qt 6's name for [`PatternSyntax::RegExp`], spelled as Qt spells it, so that Qt 6 code
    /// ports as written (`PatternSyntax::RegularExpression`).
    #[allow(non_upper_case_globals)]
    pub const RegularExpression: PatternSyntax = PatternSyntax::RegExp;
}

qt_enum! {
    /// `QSslCertificate::SubjectInfo`: a field of a certificate's subject or issuer name.
    pub enum SubjectInfo {
        /// O.
        Organization = 0,
        /// CN.
        CommonName = 1,
        /// L.
        LocalityName = 2,
        /// OU.
        OrganizationalUnitName = 3,
        /// C.
        CountryName = 4,
        /// ST.
        StateOrProvinceName = 5,
        /// dnQualifier.
        DistinguishedNameQualifier = 6,
        /// serialNumber (of the subject, not the certificate).
        SerialNumber = 7,
        /// emailAddress.
        EmailAddress = 8,
    }
}

qt_enum! {
    /// `QSsl::AlternativeNameEntryType`: a subjectAltName entry's kind.
    pub enum AlternativeNameEntryType {
        /// rfc822Name.
        EmailEntry = 0,
        /// dNSName.
        DnsEntry = 1,
        /// iPAddress.
        IpAddressEntry = 2,
    }
}

qt_enum! {
    /// `QCryptographicHash::Algorithm` values used by `SslCertificate::digest`.
    pub enum DigestAlgorithm {
        /// MD5.
        Md5 = 1,
        /// SHA-1.
        Sha1 = 2,
        /// SHA-224.
        Sha224 = 3,
        /// SHA-256.
        Sha256 = 4,
        /// SHA-384.
        Sha384 = 5,
        /// SHA-512.
        Sha512 = 6,
    }
}

qt_enum! {
    /// `QSsl::SslOption`, plus the crate's own options at `0x10000` and above.
    pub enum SslOption {
        /// Do not insert empty fragments (CBC countermeasure) in TLS 1.0.
        SslOptionDisableEmptyFragments = 0x01,
        /// Do not use session tickets.
        SslOptionDisableSessionTickets = 0x02,
        /// Disable TLS compression.
        SslOptionDisableCompression = 0x04,
        /// Do not send the server name (SNI).
        SslOptionDisableServerNameIndication = 0x08,
        /// Refuse unsafe legacy renegotiation.
        SslOptionDisableLegacyRenegotiation = 0x10,
        /// Do not reuse sessions between sockets.
        SslOptionDisableSessionSharing = 0x20,
        /// Do not keep the session for later `session_ticket()` use.
        SslOptionDisableSessionPersistence = 0x40,
        /// Use the client's cipher preference instead of the server's.
        SslOptionDisableServerCipherPreference = 0x80,
        /// Crate extension: match host names with Qt's rules (every CN and DNS SAN, partial
        /// wildcards) instead of RFC 6125/9525 as OpenSSL's `X509_check_host` applies them.
        QtCompatibleHostNameMatching = 0x10000,
    }
}

impl SslOption {
    /// The options a default configuration has set (Qt 5/6): empty fragments, legacy
    /// renegotiation and compression disabled, and session persistence off.
    pub const DEFAULT_MASK: u32 = 0x01 | 0x10 | 0x04 | 0x40;
}

bitflags::bitflags! {
    /// `QIODevice::OpenMode` flags, with Qt's names and values.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub struct OpenMode: u32 {
        /// Not open.
        const NotOpen = 0x00;
        /// Open for reading.
        const ReadOnly = 0x01;
        /// Open for writing.
        const WriteOnly = 0x02;
        /// Open for reading and writing.
        const ReadWrite = 0x01 | 0x02;
        /// Append (files only).
        const Append = 0x04;
        /// Truncate (files only).
        const Truncate = 0x08;
        /// Text mode (files only).
        const Text = 0x10;
        /// Unbuffered.
        const Unbuffered = 0x20;
        /// Fail if the file exists (files only).
        const NewOnly = 0x40;
        /// Fail if the file does not exist (files only).
        const ExistingOnly = 0x80;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_names_are_qt_s() {
        assert_eq!(SslProtocol::SecureProtocols as i32, 4);
        assert_eq!(SslProtocol::TlsV1_3OrLater as i32, 13);
        assert_eq!(SslProtocol::UnknownProtocol as i32, -1);
        assert_eq!(SocketError::SslInvalidUserDataError as i32, 21);
        assert_eq!(
            format!("{:?}", SocketState::HostLookupState),
            "HostLookupState"
        );
        assert_eq!(
            "AutoVerifyPeer".parse::<PeerVerifyMode>(),
            Ok(PeerVerifyMode::AutoVerifyPeer)
        );
        assert!("Nope".parse::<PeerVerifyMode>().is_err());
        assert_eq!(
            SocketError::from_i32(13),
            Some(SocketError::SslHandshakeFailedError)
        );
        assert_eq!(SocketError::from_i32(99), None);
        assert_eq!(OpenMode::ReadWrite.bits(), 3);
    }

    #[test]
    fn qt5_only_protocols_sit_outside_qt6_range() {
        for p in [
            SslProtocol::SslV3,
            SslProtocol::SslV2,
            SslProtocol::TlsV1SslV3,
        ] {
            assert!(p as i32 > SslProtocol::TlsV1_3OrLater as i32);
        }
    }
}
