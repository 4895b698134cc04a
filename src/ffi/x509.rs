//! X.509 verification calls the `openssl` crate does not wrap: the TLS defaults of a store
//! context, its verify parameters, an error-collecting verify callback, the number of untrusted
//! certificates in the built chain, the direct host/IP checks, and the raw bytes of a SAN entry.

use std::cell::RefCell;

use foreign_types::ForeignTypeRef;
use libc::{c_char, c_int, c_uint};
use openssl::error::ErrorStack;
use openssl::x509::verify::X509VerifyParamRef;
use openssl::x509::{GeneralNameRef, X509, X509Ref, X509StoreContextRef};
use openssl_sys as sys;

unsafe extern "C" {
    fn X509_STORE_CTX_set_default(ctx: *mut sys::X509_STORE_CTX, name: *const c_char) -> c_int;
    fn X509_STORE_CTX_get0_param(ctx: *mut sys::X509_STORE_CTX) -> *mut sys::X509_VERIFY_PARAM;
    fn X509_STORE_CTX_get_num_untrusted(ctx: *mut sys::X509_STORE_CTX) -> c_int;
    fn X509_STORE_CTX_set_verify_cb(ctx: *mut sys::X509_STORE_CTX, verify_cb: VerifyCallback);
    fn X509_STORE_CTX_get_verify_cb(ctx: *const sys::X509_STORE_CTX) -> VerifyCallback;
}

/// OpenSSL's `X509_STORE_CTX_verify_cb` (a nullable function pointer).
type VerifyCallback = Option<unsafe extern "C" fn(c_int, *mut sys::X509_STORE_CTX) -> c_int>;

/// Gives `ctx` the purpose, trust and parameters OpenSSL's own TLS client uses when it verifies
/// a server (`X509_STORE_CTX_set_default(ctx, "ssl_server")`, as `ssl_verify_cert_chain` does).
/// Returns whether OpenSSL accepted it.
#[doc(alias = "X509_STORE_CTX_set_default")]
pub(crate) fn set_ssl_server_defaults(ctx: &mut X509StoreContextRef) -> bool {
    // SAFETY: `ctx` is a valid, initialised store context borrowed mutably for the call, and
    // the name is a NUL-terminated static string that OpenSSL only reads.
    unsafe { X509_STORE_CTX_set_default(ctx.as_ptr(), c"ssl_server".as_ptr()) == 1 }
}

/// The verify parameters of `ctx` (time, depth, auth level, ...), to adjust after `init`.
#[doc(alias = "X509_STORE_CTX_get0_param")]
pub(crate) fn param_mut(ctx: &mut X509StoreContextRef) -> &mut X509VerifyParamRef {
    // SAFETY: an initialised store context always owns a parameter block
    // (X509_STORE_CTX_init allocates it and fails otherwise); the returned reference borrows
    // `ctx` mutably, so it cannot outlive the context nor alias another borrow of it.
    unsafe { X509VerifyParamRef::from_ptr_mut(X509_STORE_CTX_get0_param(ctx.as_ptr())) }
}

/// How many certificates at the start of the built chain came from the untrusted input (the
/// leaf and the intermediates); the ones after them came from the trust store.
#[doc(alias = "X509_STORE_CTX_get_num_untrusted")]
pub(crate) fn num_untrusted(ctx: &mut X509StoreContextRef) -> usize {
    // SAFETY: `ctx` is a valid store context; the call only reads a counter.
    let n = unsafe { X509_STORE_CTX_get_num_untrusted(ctx.as_ptr()) };
    usize::try_from(n).unwrap_or(0)
}

/// One error the verify callback saw: the `X509_V_ERR_*` code, the depth, and the certificate
/// OpenSSL was looking at (`X509_STORE_CTX_get_current_cert`).
pub(crate) type RawVerifyError = (c_int, i32, Option<X509>);

thread_local! {
    /// One collector per `verify_collecting` call active on this thread (innermost last).
    static COLLECTORS: RefCell<Vec<Vec<RawVerifyError>>> = const { RefCell::new(Vec::new()) };
}

/// Reads the current error of a store context, as a verify callback sees it.
pub(crate) fn current_error(ctx: &X509StoreContextRef) -> RawVerifyError {
    let depth = i32::try_from(ctx.error_depth()).unwrap_or(i32::MAX);
    (
        ctx.error().as_raw(),
        depth,
        ctx.current_cert().map(X509Ref::to_owned),
    )
}

unsafe extern "C" fn collecting_callback(ok: c_int, ctx: *mut sys::X509_STORE_CTX) -> c_int {
    if ok == 0 && !ctx.is_null() {
        // SAFETY: OpenSSL calls the callback with the store context it is verifying, valid for
        // the duration of the call; we only read from it.
        let ctx = unsafe { X509StoreContextRef::from_ptr(ctx) };
        let entry = current_error(ctx);
        let _ = COLLECTORS.try_with(|c| {
            if let Ok(mut stack) = c.try_borrow_mut() {
                if let Some(top) = stack.last_mut() {
                    top.push(entry);
                }
            }
        });
    }
    // Like Qt: always continue, so that every error is collected.
    1
}

/// Runs `X509_verify_cert` on `ctx` with a callback that records every error and lets the
/// verification continue (Qt's collecting callback). Returns OpenSSL's result and the errors in
/// the order OpenSSL found them.
#[doc(alias = "X509_verify_cert")]
pub(crate) fn verify_collecting(
    ctx: &mut X509StoreContextRef,
) -> (Result<bool, ErrorStack>, Vec<RawVerifyError>) {
    COLLECTORS.with(|c| c.borrow_mut().push(Vec::new()));
    // SAFETY: `ctx` is a valid store context borrowed mutably for the call; the getter only
    // reads the callback field (set by X509_STORE_CTX_init to the store's callback or OpenSSL's
    // internal default, never NULL), and the setter only writes it. The callback is a plain
    // function that upholds OpenSSL's callback contract (never unwinds, touches only
    // thread-local Rust state).
    let previous = unsafe {
        let previous = X509_STORE_CTX_get_verify_cb(ctx.as_ptr());
        X509_STORE_CTX_set_verify_cb(ctx.as_ptr(), Some(collecting_callback));
        previous
    };
    let result = ctx.verify_cert();
    // SAFETY: as above. Puts back the callback the context had before, not NULL:
    // X509_verify_cert calls `ctx->verify_cb` without a NULL check, so a NULL left here would
    // crash a later verification on the same context.
    unsafe { X509_STORE_CTX_set_verify_cb(ctx.as_ptr(), previous) };
    let errors = COLLECTORS
        .with(|c| c.borrow_mut().pop())
        .unwrap_or_default();
    (result, errors)
}

/// `X509_check_host(cert, name, flags)`: whether `name` (bytes, any content) matches a DNS SAN,
/// or the subject CN when OpenSSL's rules consult it. Malformed input is a mismatch.
#[doc(alias = "X509_check_host")]
pub(crate) fn check_host(cert: &X509Ref, name: &[u8], flags: c_uint) -> bool {
    if name.is_empty() {
        return false;
    }
    // SAFETY: `cert` is a valid certificate; `name` is a readable buffer of `name.len()` bytes
    // (OpenSSL reads exactly that many and rejects embedded NULs itself); no peer name is
    // returned (NULL out-pointer).
    unsafe {
        sys::X509_check_host(
            cert.as_ptr(),
            name.as_ptr().cast::<c_char>(),
            name.len(),
            flags,
            std::ptr::null_mut(),
        ) == 1
    }
}

/// `X509_check_ip(cert, address)`: whether the 4- or 16-byte `address` equals an IP SAN.
#[doc(alias = "X509_check_ip")]
pub(crate) fn check_ip(cert: &X509Ref, address: &[u8]) -> bool {
    if address.len() != 4 && address.len() != 16 {
        return false;
    }
    // SAFETY: `cert` is a valid certificate and `address` a readable buffer of its length.
    unsafe { sys::X509_check_ip(cert.as_ptr(), address.as_ptr(), address.len(), 0) == 1 }
}

/// The raw bytes of a dNSName SAN entry, whatever they contain (the `openssl` crate only hands
/// out entries that are valid UTF-8). `None` for other entry types.
pub(crate) fn dns_name_bytes(name: &GeneralNameRef) -> Option<&[u8]> {
    ia5_entry_bytes(name, sys::GEN_DNS)
}

/// The raw bytes of an rfc822Name (email) SAN entry, as `dns_name_bytes`.
pub(crate) fn email_bytes(name: &GeneralNameRef) -> Option<&[u8]> {
    ia5_entry_bytes(name, sys::GEN_EMAIL)
}

/// The bytes of `name` if it is an entry of `kind`, one of the IA5String kinds (GEN_DNS,
/// GEN_EMAIL).
fn ia5_entry_bytes(name: &GeneralNameRef, kind: std::ffi::c_int) -> Option<&[u8]> {
    debug_assert!(kind == sys::GEN_DNS || kind == sys::GEN_EMAIL);
    let raw = name.as_ptr();
    // SAFETY: `raw` points to a valid GENERAL_NAME borrowed for the lifetime of `name`; for
    // types GEN_DNS and GEN_EMAIL its `d` member is an ASN1_IA5STRING owned by it, whose data
    // pointer and length describe a readable buffer for as long as the GENERAL_NAME lives.
    unsafe {
        if (*raw).type_ != kind {
            return None;
        }
        let string = (*raw).d.cast::<sys::ASN1_STRING>();
        if string.is_null() {
            return None;
        }
        let len = usize::try_from(sys::ASN1_STRING_length(string)).ok()?;
        let data = sys::ASN1_STRING_get0_data(string);
        if data.is_null() {
            return Some(&[]);
        }
        Some(std::slice::from_raw_parts(data, len))
    }
}

#[cfg(test)]
mod tests {
    use openssl::stack::Stack;
    use openssl::x509::X509StoreContext;
    use openssl::x509::store::X509StoreBuilder;

    use super::*;

    fn current_callback(ctx: &mut X509StoreContextRef) -> VerifyCallback {
        // SAFETY: `ctx` is a valid, initialised store context; the getter only reads a field.
        unsafe { X509_STORE_CTX_get_verify_cb(ctx.as_ptr()) }
    }

    #[test]
    fn collecting_puts_the_previous_callback_back() {
        let (cert, _) = crate::engine::probe::self_signed("collector").unwrap();
        let store = X509StoreBuilder::new().unwrap().build();
        let chain = Stack::new().unwrap();
        let mut ctx = X509StoreContext::new().unwrap();
        let (before, after, result, errors) = ctx
            .init(&store, &cert, &chain, |c| {
                let before = current_callback(c);
                let (result, errors) = verify_collecting(c);
                Ok((before, current_callback(c), result, errors))
            })
            .unwrap();
        // Both are OpenSSL's own function (one address), so comparing addresses is meaningful.
        let address = |cb: VerifyCallback| cb.map(|f| f as usize);
        assert!(
            before.is_some(),
            "X509_STORE_CTX_init installs OpenSSL's default"
        );
        assert_eq!(
            address(before),
            address(after),
            "not NULL, which X509_verify_cert would call"
        );
        // The collecting callback lets verification go on, so OpenSSL reports success and the
        // errors are in the list.
        assert_eq!(result.ok(), Some(true));
        assert_eq!(
            errors.first().map(|e| e.0),
            Some(openssl_sys::X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT)
        );
    }
}
