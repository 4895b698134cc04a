//! Cipher lists the `openssl` crate does not expose: a context's resolved list
//! (`SSL_CTX_get_ciphers`) and what a client made from it would offer
//! (`SSL_get1_supported_ciphers`). Both only read; `SSL_CIPHER` entries are static tables inside
//! libssl, so the references handed out stay valid while the builder they came from is borrowed.

use foreign_types::ForeignTypeRef;
use openssl::ssl::{SslCipherRef, SslContextBuilder};
use openssl_sys as sys;

unsafe extern "C" {
    fn SSL_CTX_get_ciphers(ctx: *const sys::SSL_CTX) -> *mut sys::stack_st_SSL_CIPHER;
    fn SSL_get1_supported_ciphers(ssl: *mut sys::SSL) -> *mut sys::stack_st_SSL_CIPHER;
}

/// The context's cipher list in preference order: its TLS 1.3 suites, then what its
/// `set_cipher_list` string resolved to. Wraps `SSL_CTX_get_ciphers`.
#[doc(alias = "SSL_CTX_get_ciphers")]
pub(crate) fn context_ciphers(builder: &SslContextBuilder) -> Vec<&SslCipherRef> {
    // SAFETY: `builder` owns a live SSL_CTX for the whole borrow. The returned stack belongs to
    // the context (not freed here) and is only read before this function returns.
    let stack = unsafe { SSL_CTX_get_ciphers(builder.as_ptr()) };
    // SAFETY: `stack` is null or the context's live stack; its elements are static SSL_CIPHERs.
    unsafe { read_stack(stack) }
}

/// The ciphers a client connection made from this context would offer: the context's list
/// minus what its security level, protocol range and missing credentials (PSK callback, SRP
/// user) rule out. Wraps `SSL_get1_supported_ciphers` on a scratch `SSL`.
#[doc(alias = "SSL_get1_supported_ciphers")]
pub(crate) fn offered_ciphers(builder: &SslContextBuilder) -> Vec<&SslCipherRef> {
    // SAFETY: `builder` owns a live SSL_CTX; SSL_new takes its own reference on it.
    let ssl = unsafe { sys::SSL_new(builder.as_ptr()) };
    if ssl.is_null() {
        return Vec::new();
    }
    // SAFETY: `ssl` is the live SSL created above. The result is null or a new stack we own.
    let stack = unsafe { SSL_get1_supported_ciphers(ssl) };
    // SAFETY: `stack` is null or a live stack of static SSL_CIPHERs (see the module docs).
    let ciphers = unsafe { read_stack(stack) };
    // SAFETY: `stack` (if any) and `ssl` were created above, are owned here and freed once;
    // the cipher references read from the stack point into libssl's static tables, not into it.
    unsafe {
        if !stack.is_null() {
            sys::OPENSSL_sk_free(stack.cast());
        }
        sys::SSL_free(ssl);
    }
    ciphers
}

/// Reads a `STACK_OF(SSL_CIPHER)` into references.
///
/// # Safety
/// `stack` must be null or a valid stack whose elements are valid `SSL_CIPHER` pointers that
/// outlive `'a`.
unsafe fn read_stack<'a>(stack: *mut sys::stack_st_SSL_CIPHER) -> Vec<&'a SslCipherRef> {
    if stack.is_null() {
        return Vec::new();
    }
    // SAFETY: the caller guarantees `stack` is a valid stack.
    let count = unsafe { sys::OPENSSL_sk_num(stack.cast_const().cast()) };
    (0..count.max(0))
        .filter_map(|i| {
            // SAFETY: `i` is within 0..count of a valid stack.
            let cipher = unsafe { sys::OPENSSL_sk_value(stack.cast_const().cast(), i) };
            // SAFETY: non-null elements are valid SSL_CIPHERs outliving 'a (caller's promise).
            (!cipher.is_null()).then(|| unsafe { SslCipherRef::from_ptr(cipher.cast()) })
        })
        .collect()
}
