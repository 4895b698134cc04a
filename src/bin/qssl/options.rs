//! Options shared by the subcommands: targets, protocol names, verify modes, error kinds,
//! certificate, key and CA files, cipher strings; each checked before any connection, with a
//! message that says what is wrong.

use std::path::PathBuf;

use clap::Args;
use qsslsocket::{
    CipherAvailability, CipherReport, PeerVerifyMode, SocketError, SslCertificate, SslCipher,
    SslConfiguration, SslErrorKind, SslProtocol, SslSocket,
};

/// The protocol versions, oldest first, as `probe` and `--version` list them.
pub(crate) const VERSIONS: [SslProtocol; 5] = [
    SslProtocol::SslV3,
    SslProtocol::TlsV1_0,
    SslProtocol::TlsV1_1,
    SslProtocol::TlsV1_2,
    SslProtocol::TlsV1_3,
];

/// The TLS options of `connect` and `serve`.
#[derive(Args, Debug, Clone)]
pub(crate) struct TlsArgs {
    /// Protocol: tls1.0, tls1.1, tls1.2, tls1.3 (exactly that version), tls1.0+ .. tls1.3+ (that
    /// version or later), any, secure (the default: TLS 1.2 or later), ssl3; or a Qt name such
    /// as TlsV1_2OrLater. tls1.0/tls1.1 and their + forms lower OpenSSL's security level to 0.
    #[arg(long, value_name = "PROTOCOL", value_parser = parse_protocol)]
    pub(crate) protocol: Option<SslProtocol>,

    /// An OpenSSL cipher string (e.g. `ECDHE-RSA-AES128-GCM-SHA256:AES256-SHA`); every name
    /// must be known to this OpenSSL (see `qssl ciphers STRING`).
    #[arg(long, value_name = "STRING")]
    pub(crate) ciphers: Option<String>,

    /// Trusted CA certificates: a PEM/DER file, or a directory whose files hold PEM certificates
    /// (hidden files and subdirectories are skipped). Repeatable. Replaces the system CA store.
    #[arg(long, value_name = "FILE|DIR")]
    pub(crate) ca: Vec<PathBuf>,

    /// Own certificate (PEM or DER; a PEM file may hold the chain after the certificate).
    #[arg(long, value_name = "FILE", requires = "key")]
    pub(crate) cert: Option<PathBuf>,

    /// Private key for --cert (PEM or DER, RSA, EC, DSA, DH or Ed25519).
    #[arg(long, value_name = "FILE", requires = "cert")]
    pub(crate) key: Option<PathBuf>,

    /// Passphrase of an encrypted --key.
    #[arg(long, value_name = "PASSPHRASE", requires = "key")]
    pub(crate) pass: Option<String>,
}

impl TlsArgs {
    /// Checks every option and applies it to `config`.
    pub(crate) fn apply(&self, config: &mut SslConfiguration) -> Result<(), String> {
        if let Some(protocol) = self.protocol {
            if let Some(why) = protocol_problem(protocol) {
                return Err(why);
            }
            config.set_protocol(protocol);
        }
        if let Some(ciphers) = &self.ciphers {
            check_cipher_string(ciphers, CipherCheck::Usable)?;
            config.set_ciphers_str(ciphers);
        }
        if !self.ca.is_empty() {
            // An explicit list, empty to start with: the system CAs no longer count.
            config.set_ca_certificates(Vec::new());
            for path in &self.ca {
                crate::files::add_ca(config, path)?;
            }
            // The same certificate from several files (a hashed link and its target) once.
            let mut unique: Vec<SslCertificate> = Vec::new();
            for cert in config.ca_certificates() {
                if !unique.contains(&cert) {
                    unique.push(cert);
                }
            }
            config.set_ca_certificates(unique);
        }
        if let (Some(cert), Some(key)) = (&self.cert, &self.key) {
            let chain = crate::files::load_certificates(cert)?;
            let key = crate::files::load_key(key, self.pass.as_deref().unwrap_or(""))?;
            config.set_local_certificate_chain(chain);
            config.set_private_key(key);
        }
        Ok(())
    }
}

/// `host:port`, `[v6]:port`.
pub(crate) fn parse_target(target: &str) -> Result<(String, u16), String> {
    let bad = || format!("{target:?} is not HOST:PORT (for example 127.0.0.1:4433 or [::1]:4433)");
    let (host, port) = if let Some(rest) = target.strip_prefix('[') {
        let (host, port) = rest.split_once("]:").ok_or_else(bad)?;
        (host, port)
    } else {
        let (host, port) = target.rsplit_once(':').ok_or_else(bad)?;
        if host.contains(':') {
            return Err(format!(
                "{target:?}: write an IPv6 address in brackets, as in [::1]:4433"
            ));
        }
        (host, port)
    };
    if host.is_empty() {
        return Err(bad());
    }
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| format!("{target:?}: the port must be a number from 1 to 65535"))?;
    Ok((host.to_owned(), port))
}

/// The protocol names the options take.
pub(crate) fn parse_protocol(name: &str) -> Result<SslProtocol, String> {
    use SslProtocol::*;
    let p = match name.to_ascii_lowercase().as_str() {
        "ssl3" | "sslv3" | "ssl3.0" => SslV3,
        "tls1" | "tls1.0" | "tls10" => TlsV1_0,
        "tls1.1" | "tls11" => TlsV1_1,
        "tls1.2" | "tls12" => TlsV1_2,
        "tls1.3" | "tls13" => TlsV1_3,
        "tls1+" | "tls1.0+" => TlsV1_0OrLater,
        "tls1.1+" => TlsV1_1OrLater,
        "tls1.2+" => TlsV1_2OrLater,
        "tls1.3+" => TlsV1_3OrLater,
        "any" => AnyProtocol,
        "secure" => SecureProtocols,
        _ => {
            return name.parse().map_err(|_| {
                format!(
                    "unknown protocol {name:?}: use tls1.0, tls1.1, tls1.2, tls1.3, tls1.0+, \
                     tls1.1+, tls1.2+, tls1.3+, any, secure or ssl3 (or a Qt SslProtocol name)"
                )
            });
        }
    };
    Ok(p)
}

/// A protocol as people write it (`TLS 1.2`).
pub(crate) fn protocol_label(protocol: SslProtocol) -> String {
    use SslProtocol::*;
    match protocol {
        SslV3 => "SSL 3.0".into(),
        SslV2 => "SSL 2.0".into(),
        TlsV1_0 => "TLS 1.0".into(),
        TlsV1_1 => "TLS 1.1".into(),
        TlsV1_2 => "TLS 1.2".into(),
        TlsV1_3 => "TLS 1.3".into(),
        other => other.name().into(),
    }
}

/// Why this build cannot use `protocol`, if it cannot: the crate's own error for protocols it
/// refuses outright (SSLv3 without SSLv3 in OpenSSL, SSLv2, DTLS), else the capability probe's
/// verdict.
pub(crate) fn protocol_problem(protocol: SslProtocol) -> Option<String> {
    if SslSocket::is_protocol_supported(protocol) {
        return None;
    }
    if matches!(protocol, SslProtocol::SslV3 | SslProtocol::SslV2) || protocol.is_dtls() {
        // The crate refuses these before any connection attempt (SslInvalidUserDataError), and
        // its message says why; this asks for it without touching the network.
        let mut socket = SslSocket::new();
        socket.set_protocol(protocol);
        socket.connect_to_host_encrypted("127.0.0.1", 9);
        let refused = socket.error() == SocketError::SslInvalidUserDataError;
        let text = socket.error_string();
        socket.abort();
        if refused {
            return Some(text);
        }
    }
    Some(format!(
        "{} cannot be used: the linked {} does not complete a {} handshake with itself, even at \
         security level 0 (the protocol is compiled out or refused by the system's OpenSSL \
         policy; see vendor-notes/)",
        protocol.name(),
        SslSocket::ssl_library_version_string(),
        protocol_label(protocol)
    ))
}

pub(crate) fn parse_verify(name: &str) -> Result<PeerVerifyMode, String> {
    match name.to_ascii_lowercase().as_str() {
        "none" => Ok(PeerVerifyMode::VerifyNone),
        "query" => Ok(PeerVerifyMode::QueryPeer),
        "peer" => Ok(PeerVerifyMode::VerifyPeer),
        "auto" => Ok(PeerVerifyMode::AutoVerifyPeer),
        _ => name
            .parse()
            .map_err(|_| format!("unknown verify mode {name:?}: use none, query, peer or auto")),
    }
}

/// An `--ignore` value: one SslErrorKind name, or `all`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ignore {
    All,
    Kind(SslErrorKind),
}

pub(crate) fn parse_ignore(name: &str) -> Result<Ignore, String> {
    if name.eq_ignore_ascii_case("all") {
        return Ok(Ignore::All);
    }
    name.parse().map(Ignore::Kind).map_err(|_| {
        let names: Vec<&str> = SslErrorKind::ALL
            .iter()
            .filter(|k| **k != SslErrorKind::NoError)
            .map(|k| k.name())
            .collect();
        format!(
            "unknown SSL error kind {name:?}; use `all` or one of: {}",
            names.join(", ")
        )
    })
}

/// How much of a cipher string must be usable (see [`cipher_string_problem`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CipherCheck {
    /// Every name is known to this OpenSSL; tokens it knows but does not provide (disabled by the
    /// security level, say) pass. For `probe`, which shows those as suites it cannot offer.
    KnownNames,
    /// Every token is provided (bar those OpenSSL ignores) and the string selects a cipher: what
    /// a connection can use (`connect`, `serve`), since OpenSSL skips the rest silently.
    Usable,
    /// Every token is provided, ignored ones included, and the string selects a cipher (`qssl
    /// ciphers STRING`).
    FullyProvided,
}

/// What is wrong with a cipher string for `check`, from its [`SslCipher::report`]; `None` if
/// nothing is.
pub(crate) fn cipher_string_problem(report: &CipherReport, check: CipherCheck) -> Option<String> {
    let ciphers = report.cipher_string();
    if report.is_rejected() {
        return Some(format!(
            "OpenSSL rejects the cipher string {ciphers:?} as a whole"
        ));
    }
    let missing: Vec<String> = report
        .entries()
        .iter()
        .filter(|e| match check {
            CipherCheck::KnownNames => e.availability == CipherAvailability::UnknownName,
            CipherCheck::Usable => {
                !e.is_provided() && e.availability != CipherAvailability::Ignored
            }
            CipherCheck::FullyProvided => !e.is_provided(),
        })
        .map(|e| format!("{} ({})", e.token, e.availability))
        .collect();
    if !missing.is_empty() {
        return Some(format!("cipher string {ciphers:?}: {}", missing.join("; ")));
    }
    if check != CipherCheck::KnownNames && report.ciphers().is_empty() {
        return Some(format!("the cipher string {ciphers:?} selects no cipher"));
    }
    None
}

/// Checks an option's cipher string for `check`: its report, or what is wrong with a pointer to
/// `qssl ciphers`.
pub(crate) fn check_cipher_string(
    ciphers: &str,
    check: CipherCheck,
) -> Result<CipherReport, String> {
    let report = SslCipher::report(ciphers);
    match cipher_string_problem(&report, check) {
        Some(problem) => Err(format!(
            "{problem}; `qssl ciphers {ciphers:?}` explains each token"
        )),
        None => Ok(report),
    }
}

/// Text from the command line as bytes, with `\n`, `\r`, `\t` and `\\` escapes (`--send`,
/// `--reply`).
pub(crate) fn unescape(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let c = match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => '\n',
                Some('r') => '\r',
                Some('t') => '\t',
                Some('\\') | None => '\\',
                Some(other) => {
                    out.push(b'\\');
                    other
                }
            },
            (c, false) => c,
        };
        let mut buf = [0; 4];
        out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(unescape(r"a\r\nb\\c\q"), b"a\r\nb\\c\\q");
    }

    #[test]
    fn targets() {
        assert_eq!(parse_target("127.0.0.1:443"), Ok(("127.0.0.1".into(), 443)));
        assert_eq!(parse_target("[::1]:8443"), Ok(("::1".into(), 8443)));
        assert_eq!(parse_target("example.com:1"), Ok(("example.com".into(), 1)));
        for bad in [
            "",
            "host",
            ":443",
            "host:0",
            "host:99999",
            "::1:443",
            "[::1]443",
        ] {
            assert!(parse_target(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn protocols_and_modes() {
        assert_eq!(parse_protocol("tls1.2"), Ok(SslProtocol::TlsV1_2));
        assert_eq!(parse_protocol("TLS1.0+"), Ok(SslProtocol::TlsV1_0OrLater));
        assert_eq!(
            parse_protocol("TlsV1_3OrLater"),
            Ok(SslProtocol::TlsV1_3OrLater)
        );
        assert!(parse_protocol("tls9").is_err());
        assert_eq!(parse_verify("query"), Ok(PeerVerifyMode::QueryPeer));
        assert!(parse_verify("maybe").is_err());
        assert_eq!(
            parse_ignore("SelfSignedCertificate"),
            Ok(Ignore::Kind(SslErrorKind::SelfSignedCertificate))
        );
        assert!(
            parse_ignore("SelfSigned")
                .unwrap_err()
                .contains("HostNameMismatch")
        );
    }
}
