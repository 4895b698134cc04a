//! `SslSocket`'s static (associated) functions: the process-wide defaults, as Qt exposes them on
//! `QSslSocket`. They delegate to `crate::defaults`.
