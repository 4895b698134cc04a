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

unsafe extern "C" {
    fn SSL_SESSION_get_ticket_lifetime_hint(
        session: *const openssl_sys::SSL_SESSION,
    ) -> libc::c_ulong;
}

/// The lifetime hint (seconds) the server sent with a session ticket; 0 if none. Wraps
/// `SSL_SESSION_get_ticket_lifetime_hint` (OpenSSL 1.1.0+), which openssl-sys does not declare.
#[doc(alias = "SSL_SESSION_get_ticket_lifetime_hint")]
pub(crate) fn ticket_lifetime_hint(session: &openssl::ssl::SslSessionRef) -> u64 {
    use foreign_types::ForeignTypeRef;
    // SAFETY: `session` is a valid SSL_SESSION borrowed for the call; the function only reads a
    // field of it. The declaration matches OpenSSL's prototype (const SSL_SESSION * -> unsigned
    // long), available in every supported OpenSSL (>= 1.1.1, enforced by build.rs).
    unsafe { SSL_SESSION_get_ticket_lifetime_hint(session.as_ptr()) }
}

unsafe extern "C" {
    fn SSL_free_buffers(ssl: *mut openssl_sys::SSL) -> libc::c_int;
}

/// Frees the connection's read and write buffers if they hold nothing (OpenSSL allocates them
/// again when needed). Wraps `SSL_free_buffers` (OpenSSL 1.1.0+), which openssl-sys does not
/// declare. Returns whether they were freed.
#[doc(alias = "SSL_free_buffers")]
pub(crate) fn free_buffers<S>(stream: &mut openssl::ssl::SslStream<S>) -> bool {
    use foreign_types::ForeignTypeRef;
    let ssl = stream.ssl().as_ptr();
    // SAFETY: `ssl` is the valid SSL of `stream`, which is borrowed mutably for the call, so no
    // other code uses the SSL meanwhile. SSL_free_buffers frees only buffers that hold no pending
    // data and leaves the SSL usable (it reallocates on demand); the prototype (SSL * -> int)
    // matches every supported OpenSSL (>= 1.1.1, enforced by build.rs).
    unsafe { SSL_free_buffers(ssl) == 1 }
}
