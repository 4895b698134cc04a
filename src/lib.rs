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
/// Entry points for the fuzz targets in `fuzz/` (feature `fuzzing`, off by default; not part of
/// the supported API).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::engine::conversation::converse;
    pub use crate::engine::fuzz_support::{Side, consume};
    pub use crate::verification::fuzzing::*;
}
pub use verification::{
    AnchorSource, AuditEntry, CertificateVerifier, IgnoreRule, VerificationReport,
};
