//! What a socket knows right after its handshake, kept before the connection closes (a closed
//! socket reports no session cipher), and how `connect`, `serve` and `demo` show it.

use std::net::IpAddr;

use qsslsocket::{
    PeerVerifyMode, SocketError, SslCertificate, SslCipher, SslError, SslProtocol, SslSocket,
    VerificationReport,
};

use crate::output::Json;
use crate::show::{
    audit_json, audit_text, cert_json, cert_text, cipher_json, error_json, report_json,
    session_text,
};

/// A socket's handshake outcome, session and peer chain at one moment.
#[derive(Clone, Debug)]
pub(crate) struct Snapshot {
    pub(crate) encrypted: bool,
    pub(crate) protocol: SslProtocol,
    pub(crate) cipher: SslCipher,
    pub(crate) resumed: bool,
    pub(crate) chain: Vec<SslCertificate>,
    pub(crate) ssl_errors: Vec<SslError>,
    pub(crate) report: Option<VerificationReport>,
    pub(crate) verify_mode: PeerVerifyMode,
    pub(crate) verify_name: String,
    pub(crate) error: SocketError,
    pub(crate) error_string: String,
    pub(crate) peer: Option<(IpAddr, u16)>,
}

impl Snapshot {
    pub(crate) fn take(socket: &SslSocket) -> Snapshot {
        Snapshot {
            encrypted: socket.is_encrypted(),
            protocol: socket.session_protocol(),
            cipher: socket.session_cipher(),
            resumed: socket.is_session_resumed(),
            chain: socket.peer_certificate_chain(),
            ssl_errors: socket.ssl_handshake_errors(),
            report: socket.verification_report(),
            verify_mode: socket.peer_verify_mode(),
            verify_name: socket.peer_verify_name(),
            error: socket.error(),
            error_string: socket.error_string(),
            peer: socket.peer_address().map(|a| (a, socket.peer_port())),
        }
    }

    /// `ErrorKind: text`, or None when the socket has no error.
    pub(crate) fn error_line(&self) -> Option<String> {
        (self.error != SocketError::UnknownSocketError)
            .then(|| format!("{}: {}", self.error, self.error_string))
    }

    pub(crate) fn json(&self) -> Json {
        let error = self.error_line().map(|_| {
            Json::obj()
                .with("socket_error", self.error.name())
                .with("text", self.error_string.as_str())
        });
        Json::obj()
            .with("encrypted", self.encrypted)
            .with("error", error)
            .with(
                "peer",
                self.peer.map(|(a, p)| Json::from(format!("{a}:{p}"))),
            )
            .with(
                "session",
                Json::obj()
                    .with("protocol", self.protocol.name())
                    .with("cipher", cipher_json(&self.cipher))
                    .with("resumed", self.resumed),
            )
            .with("peer_verify_mode", self.verify_mode.name())
            .with("peer_verify_name", self.verify_name.as_str())
            .with(
                "ssl_errors",
                self.ssl_errors.iter().map(error_json).collect::<Vec<_>>(),
            )
            .with("verification", self.report.as_ref().map(report_json))
            .with(
                "peer_certificate_chain",
                self.chain.iter().map(cert_json).collect::<Vec<_>>(),
            )
    }

    /// The handshake as Qt reports it, then the session and the chain, as indented lines.
    pub(crate) fn lines(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.encrypted {
            out.push(format!(
                "Handshake: encrypted{}",
                if self.resumed {
                    " (session resumed)"
                } else {
                    ""
                }
            ));
            out.push(format!(
                "  session  {}",
                session_text(self.protocol, &self.cipher)
            ));
        } else {
            out.push(format!(
                "Handshake: not encrypted{}",
                self.error_line()
                    .map(|e| format!(" ({e})"))
                    .unwrap_or_default()
            ));
        }
        let name = if self.verify_name.is_empty() {
            String::new()
        } else {
            format!(", peer verify name {:?}", self.verify_name)
        };
        out.push(format!(
            "Verification (peer verify mode {}{name}):",
            self.verify_mode
        ));
        match &self.report {
            Some(_) if self.verify_mode == PeerVerifyMode::VerifyNone => {
                out.push("  not verified (VerifyNone)".to_owned());
            }
            Some(report) => {
                for entry in report.entries() {
                    out.push(format!("  {}", audit_text(&entry)));
                }
                let anchor = match (report.trust_anchor(), report.trust_anchor_source()) {
                    (Some(cert), Some(source)) => {
                        format!(", anchor {} from {source:?}", crate::show::dn(&cert, false))
                    }
                    (Some(cert), None) => format!(", anchor {}", crate::show::dn(&cert, false)),
                    _ => String::new(),
                };
                out.push(format!(
                    "  chain trusted: {}{anchor}",
                    if report.is_trusted() { "yes" } else { "no" }
                ));
            }
            None => out.push("  (no verification was done)".to_owned()),
        }
        if !self.chain.is_empty() {
            out.push(format!("Peer certificate chain ({}):", self.chain.len()));
            for (depth, cert) in self.chain.iter().enumerate() {
                out.push(format!("  #{depth}"));
                out.extend(cert_text(cert, "     ").lines().map(str::to_owned));
            }
        }
        out
    }

    /// The verification entries as JSON (for the demo's attempts).
    pub(crate) fn entries_json(&self) -> Json {
        self.report
            .as_ref()
            .map(|r| r.entries().iter().map(audit_json).collect::<Vec<_>>())
            .unwrap_or_default()
            .into()
    }
}
