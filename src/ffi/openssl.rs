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
    fn SSL_has_pending(ssl: *const openssl_sys::SSL) -> libc::c_int;
    fn SSL_rstate_string(ssl: *const openssl_sys::SSL) -> *const libc::c_char;
}

/// Whether OpenSSL's record layer holds data of `ssl` that a later read still needs: decrypted
/// bytes not yet read (`SSL_pending`), any processed record or unprocessed input
/// (`SSL_has_pending`), or a record whose header has been read but not its whole body (read
/// state other than `"RH"`, waiting for a header). See [`free_buffers`].
pub(crate) fn holds_record_data(ssl: &openssl::ssl::SslRef) -> bool {
    use foreign_types::ForeignTypeRef;
    let ssl = ssl.as_ptr();
    // SAFETY: `ssl` is a valid SSL borrowed for the call; the three calls only read its
    // record-layer state, and their prototypes (`const SSL *` -> int / `const char *`) match
    // every supported OpenSSL (>= 1.1.1, enforced by build.rs). SSL_rstate_string returns NULL
    // or a pointer to a static NUL-terminated string, which CStr only reads.
    unsafe {
        let state = SSL_rstate_string(ssl);
        openssl_sys::SSL_pending(ssl) != 0
            || SSL_has_pending(ssl) != 0
            || state.is_null()
            || std::ffi::CStr::from_ptr(state).to_bytes() != b"RH"
    }
}

/// Frees the connection's read and write buffers if OpenSSL holds no data in them (it allocates
/// them again when needed). Wraps `SSL_free_buffers` (OpenSSL 1.1.0+), which openssl-sys does not
/// declare. Returns whether they were freed.
///
/// `SSL_free_buffers` alone is not safe on every supported OpenSSL: before the fix for
/// CVE-2024-4741 (OpenSSL 3.3.1, 3.2.2, 3.1.6 and 3.0.14; no public 1.1.1 release has it) it
/// checks only for unprocessed ciphertext, and frees the read buffer while (a) a decrypted
/// record has been only partly read (`SSL_pending() > 0`) or (b) a record header has been read
/// but its body has not fully arrived (read state `"RB"`). The next `SSL_read` then uses freed
/// memory. So this checks both itself first ([`holds_record_data`]) and leaves the buffers alone
/// unless OpenSSL is between records with nothing buffered. Pending writes are refused by
/// `SSL_free_buffers` itself in every version.
#[doc(alias = "SSL_free_buffers")]
pub(crate) fn free_buffers<S>(stream: &mut openssl::ssl::SslStream<S>) -> bool {
    use foreign_types::ForeignTypeRef;
    if holds_record_data(stream.ssl()) {
        return false;
    }
    let ssl = stream.ssl().as_ptr();
    // SAFETY: `ssl` is the valid SSL of `stream`, which is borrowed mutably for the call, so no
    // other code uses the SSL meanwhile (nor between the check above and this call). With no
    // decrypted data left, no partial record and no unprocessed input, no pointer into the read
    // buffer survives: the condition the CVE-2024-4741 fix added inside SSL_free_buffers, which
    // an unfixed OpenSSL does not check. Pending writes make it return 0 in every version.
    // OpenSSL reallocates both buffers on the next read or write. The prototype (SSL * -> int)
    // matches every supported OpenSSL.
    unsafe { SSL_free_buffers(ssl) == 1 }
}
