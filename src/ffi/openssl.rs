//! OpenSSL calls the `openssl` crate does not wrap.

use openssl::ssl::SslContextBuilder;

/// Lets OpenSSL pick Diffie-Hellman parameters matching the certificate's strength, so DHE
/// suites work without configured parameters (Qt 6 does the same). Wraps `SSL_CTX_set_dh_auto`.
#[doc(alias = "SSL_CTX_set_dh_auto")]
pub(crate) fn set_dh_auto(builder: &mut SslContextBuilder) {
    // SAFETY: `builder` owns a valid SSL_CTX for the duration of the call; SSL_CTX_set_dh_auto
    // only sets a flag on it and cannot fail in a way that leaves it inconsistent.
    unsafe {
        openssl_sys::SSL_CTX_set_dh_auto(builder.as_ptr(), 1);
    }
}

/// Offers `session` for resumption on a client connection. Wraps `SSL_set_session`.
#[doc(alias = "SSL_set_session")]
pub(crate) fn set_session(
    ssl: &mut openssl::ssl::SslRef,
    session: &openssl::ssl::SslSessionRef,
) -> bool {
    // SAFETY: the openssl crate marks this unsafe because a session must suit the SSL's context.
    // Sessions offered here come either from the cache of the very SharedContext this SSL was
    // created from, or from a ticket the user saved with `session_ticket()`; OpenSSL checks a
    // session's protocol version and cipher against the connection when it tries to resume and
    // falls back to a full handshake when they do not fit, so no memory-safety issue arises.
    unsafe { ssl.set_session(session).is_ok() }
}
