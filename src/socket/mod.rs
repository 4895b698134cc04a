//! `SslSocket` (Qt's `QSslSocket`): the I/O shell around the sans-IO engine.

mod statics;

/// A TLS socket with Qt's QSslSocket behaviour. (Skeleton: the socket issue builds it.)
#[derive(Debug)]
#[doc(alias = "QSslSocket")]
pub struct SslSocket {
    _private: (),
}
