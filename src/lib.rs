#![doc = include_str!("../README.md")]
#![doc(test(attr(deny(warnings))))]

mod buffer;
mod certificate;
mod cipher;
mod configuration;
mod defaults;
mod engine;
mod enums;
mod error;
mod event_loop;
mod ffi;
mod key;
mod server;
mod socket;
mod verification;

pub use certificate::SslCertificate;
pub use cipher::{
    CipherAvailability, CipherOperator, CipherReport, CipherReportEntry, CipherTokenKind, SslCipher,
};
pub use configuration::{NextProtocolNegotiationStatus, SslConfiguration};
pub use enums::{
    AlternativeNameEntryType, DigestAlgorithm, EncodingFormat, KeyAlgorithm, KeyType, OpenMode,
    ParseEnumError, PatternSyntax, PauseMode, PeerVerifyMode, SocketError, SocketOption,
    SocketState, SslErrorKind, SslMode, SslOption, SslProtocol, SubjectInfo,
};
pub use error::SslError;
pub use event_loop::{EventLoop, LoopHandle, ServerId, SocketId};
pub use key::SslKey;
pub use server::SslServer;
pub use socket::{ByteTotals, SslSocket};
#[cfg(feature = "fuzzing")]
pub use verification::fuzzing;
pub use verification::{
    AnchorSource, AuditEntry, CertificateVerifier, IgnoreRule, VerificationReport,
};
