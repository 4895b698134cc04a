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

/// `SSL_CTRL_BUILD_CERT_CHAIN` and its flags from ssl.h (openssl-sys has neither).
const SSL_CTRL_BUILD_CERT_CHAIN: libc::c_int = 105;
const SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR: libc::c_long = 0x8;
const SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR: libc::c_long = 0x10;

/// Builds the local certificate's chain from the context's trust store once, now, as OpenSSL
/// would on every handshake (a full `X509_verify_cert` of our own certificate, with a lookup in
/// the system's hashed directory when on-demand roots are on). The chain sent is the same: as
/// far as the store reaches, root included, errors ignored. If the chain cannot be built (e.g. a
/// certificate below the security level), nothing changes and OpenSSL keeps building it per
/// handshake. Only for a leaf without configured chain certificates, which take precedence.
/// Wraps `SSL_CTX_build_cert_chain`, a macro openssl-sys does not provide.
#[doc(alias = "SSL_CTX_build_cert_chain")]
pub(crate) fn build_cert_chain(builder: &mut SslContextBuilder) {
    // SAFETY: `builder` owns a valid SSL_CTX with its certificate set; this control command
    // takes no pointer argument (NULL) and replaces the current certificate's chain only on
    // success.
    unsafe {
        openssl_sys::SSL_CTX_ctrl(
            builder.as_ptr(),
            SSL_CTRL_BUILD_CERT_CHAIN,
            SSL_BUILD_CHAIN_FLAG_IGNORE_ERROR | SSL_BUILD_CHAIN_FLAG_CLEAR_ERROR,
            std::ptr::null_mut(),
        );
    }
    // A failure other than verification leaves its reason on the thread's error queue.
    let _ = openssl::error::ErrorStack::get();
}

/// `SSL_CTRL_GET_SESS_CACHE_MODE` from ssl.h (openssl-sys only has the SET one).
const SSL_CTRL_GET_SESS_CACHE_MODE: libc::c_int = 45;

/// Whether `ctx` keeps sessions out of OpenSSL's internal session cache
/// (`SSL_SESS_CACHE_NO_INTERNAL_STORE`, as every client context of the engine is built): the
/// invariant [`set_session`] relies on. Wraps `SSL_CTX_get_session_cache_mode`, a macro that
/// openssl-sys does not provide.
#[doc(alias = "SSL_CTX_get_session_cache_mode")]
pub(crate) fn stores_no_sessions_internally(ctx: &openssl::ssl::SslContextRef) -> bool {
    use foreign_types::ForeignTypeRef;
    // SAFETY: `ctx` is a valid SSL_CTX borrowed for the call; this control command only reads
    // the cache mode and takes no pointer argument (NULL).
    let mode = unsafe {
        openssl_sys::SSL_CTX_ctrl(
            ctx.as_ptr(),
            SSL_CTRL_GET_SESS_CACHE_MODE,
            0,
            std::ptr::null_mut(),
        )
    };
    mode & openssl_sys::SSL_SESS_CACHE_NO_INTERNAL_STORE != 0
}

/// Offers `session` for resumption on a client connection. Wraps `SSL_set_session`. Offers
/// nothing (returns false) on an `SSL` whose context stores sessions in OpenSSL's internal
/// cache; see [`stores_no_sessions_internally`].
#[doc(alias = "SSL_set_session")]
pub(crate) fn set_session(
    ssl: &mut openssl::ssl::SslRef,
    session: &openssl::ssl::SslSessionRef,
) -> bool {
    let no_internal_store = stores_no_sessions_internally(ssl.ssl_context());
    debug_assert!(
        no_internal_store,
        "client contexts must keep SSL_SESS_CACHE_NO_INTERNAL_STORE (engine/context.rs `build`)"
    );
    if !no_internal_store {
        return false;
    }
    // SAFETY: the openssl crate marks this unsafe because a session must belong to the SSL's
    // context: OpenSSL links a session in an SSL_CTX's internal cache through list pointers in
    // the session itself, so a session cached by one context and then added to another's cache
    // corrupts both lists. That cannot happen here. Invariant NO_INTERNAL_STORE: this SSL's
    // context never adds sessions to its internal cache (checked just above; client contexts
    // are built with SSL_SESS_CACHE_NO_INTERNAL_STORE in engine/context.rs), so `session` is
    // never linked into it, and when a handshake fails SSL_CTX_remove_session only looks in
    // that (empty) cache. Besides, the sessions the engine offers are in no internal cache at
    // all: they come from the new-session callback of such a client context (kept in the
    // SharedContext's own map, not OpenSSL's) or are freshly decoded from a ticket's DER.
    // OpenSSL checks a session's protocol version and cipher when it tries to resume and falls
    // back to a full handshake when they do not fit.
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
