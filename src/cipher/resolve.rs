//! Cipher strings and the two OpenSSL lists a context is given.
//!
//! `SslConfiguration::set_ciphers_str` goes through [`resolve_cipher_string`]. Unlike Qt, which
//! looked up each `:`-separated name in its supported list and ignored everything else, the
//! string is handed to OpenSSL, so its whole syntax works (`HIGH:!aNULL`, `+kRSA`, `@STRENGTH`,
//! `@SECLEVEL=n`). Qt's behaviour for exact names is kept:
//!
//! - Tokens are separated by `:` (OpenSSL also accepts `,`, `;` and spaces).
//! - TLS 1.3 suite names (`TLS_AES_128_GCM_SHA256`) are routed to OpenSSL's separate TLS 1.3
//!   list (`SSL_CTX_set_ciphersuites`); everything else forms the TLS 1.2-and-below string
//!   (`SSL_CTX_set_cipher_list`). A group the string does not mention keeps OpenSSL's defaults,
//!   as with Qt's `setCiphers` (so TLS 1.2 names alone do not restrict TLS 1.3).
//! - Unknown names are dropped and the order of the others is kept. This is OpenSSL's own rule:
//!   a cipher string with some unknown names resolves silently to the known ones; only a
//!   string in which *nothing* matches is rejected (`no cipher match`), and an invalid
//!   `@command` (`@FOO`, `@SECLEVEL=9`) rejects the whole string.
//! - A string in which nothing resolves leaves the defaults: `ciphers()` is empty, which means
//!   "the default ciphers at handshake time", as in Qt 6.
//!
//! What `ciphers()` then returns is what OpenSSL resolved, minus suites the string's security
//! level (its `@SECLEVEL=n`, else the library default, 2 on Debian 12) or the library's
//! protocol range rule out, since OpenSSL would never offer those (Qt likewise never lists
//! anonymous suites). Suites that only lack credentials stay listed, as they do in Qt's and
//! OpenSSL's own lists: PSK suites (used when a pre-shared key is configured) and SRP suites
//! (which qsslsocket never offers, having no SRP support). The resolved list can therefore
//! hold suites Qt's supported list lacks (OpenSSL's DEFAULT list omits e.g.
//! `DHE-DSS-AES256-SHA`, so Qt's `setCiphers(QString)` drops it): the crate honours every name
//! this OpenSSL can negotiate. Interleaving between the TLS 1.3 and the other suites follows the
//! string; within each group the order is OpenSSL's (what `@STRENGTH` or `+` produced).
//!
//! Resolution uses a throw-away client context, never a socket's, so a configuration value does
//! not depend on a socket. [`SslCipher::report`](crate::SslCipher::report) explains a string
//! token by token.

use openssl::ssl::{SslContextBuilder, SslMethod};

use crate::SslCipher;
use crate::ffi::ciphers::{context_ciphers, offered_ciphers};

/// What a `set_ciphers_str` string resolved to.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct ResolvedCiphers {
    /// What `ciphers()` reports, in the order described in the module docs.
    pub(crate) ciphers: Vec<SslCipher>,
    /// The TLS 1.2-and-below string for `SSL_CTX_set_cipher_list`: the given string without its
    /// TLS 1.3 names. `None` when that part resolved to nothing (OpenSSL's default list stays).
    pub(crate) openssl_string: Option<String>,
    /// The TLS 1.3 names for `SSL_CTX_set_ciphersuites`, `:`-joined. `None` when the string
    /// names no TLS 1.3 suite (OpenSSL's default TLS 1.3 suites stay).
    pub(crate) tls13_string: Option<String>,
}

/// The two strings a context is configured with. `None` leaves OpenSSL's default for that
/// group; both `None` means there is no cipher to configure at all (Qt then fails the
/// handshake with "Invalid or empty cipher list ()").
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub(crate) struct CipherLists {
    /// For `SSL_CTX_set_cipher_list` (TLS 1.2 and below).
    pub(crate) tls12: Option<String>,
    /// For `SSL_CTX_set_ciphersuites` (TLS 1.3).
    pub(crate) tls13: Option<String>,
}

/// Qt 5.15/6's split of a `set_ciphers` list: TLS 1.3 suites `:`-joined for
/// `SSL_CTX_set_ciphersuites`, all others for `SSL_CTX_set_cipher_list`; a group left empty is
/// not set.
pub(crate) fn cipher_lists_for(ciphers: &[SslCipher]) -> CipherLists {
    let join = |tls13: bool| {
        let names: Vec<&str> = ciphers
            .iter()
            .filter(|c| !c.is_null() && c.is_tls13() == tls13)
            .map(|c| c.name.as_str())
            .collect();
        (!names.is_empty()).then(|| names.join(":"))
    };
    CipherLists {
        tls12: join(false),
        tls13: join(true),
    }
}

/// Resolves a `set_ciphers_str` string (see the module docs).
pub(crate) fn resolve_cipher_string(s: &str) -> ResolvedCiphers {
    let Some(mut scratch) = Scratch::new() else {
        return ResolvedCiphers::default();
    };
    let tokens = tokens(s);
    let mut tls13: Vec<(usize, &str)> = Vec::new();
    let mut tls12: Vec<(usize, &str)> = Vec::new();
    for (i, &token) in tokens.iter().enumerate() {
        if !c_text(token) {
            // No suite or keyword has a NUL in its name (Qt would not find it either): an
            // unknown name, dropped like the others. OpenSSL's C string would end at it.
            continue;
        }
        let body = token.trim_start_matches(['!', '-', '+']);
        if scratch.is_tls13_name(body) {
            // Operators mean nothing to OpenSSL's TLS 1.3 list; a prefixed TLS 1.3 name is
            // dropped (SslCipher::report says so).
            if body == token && !tls13.iter().any(|&(_, n)| n == body) {
                tls13.push((i, body));
            }
        } else {
            tls12.push((i, token));
        }
    }
    let tls12_string =
        (!tls12.is_empty()).then(|| tls12.iter().map(|&(_, t)| t).collect::<Vec<_>>().join(":"));
    let tls13_string =
        (!tls13.is_empty()).then(|| tls13.iter().map(|&(_, t)| t).collect::<Vec<_>>().join(":"));

    let tls12_applied = scratch.set_lists(
        tls12_string.as_deref(),
        tls13_string.as_deref().unwrap_or(""),
    );
    let kept = scratch.usable();
    let (r13, r12): (Vec<SslCipher>, Vec<SslCipher>) =
        kept.into_iter().partition(SslCipher::is_tls13);
    let r12 = if tls12_applied { r12 } else { Vec::new() };

    // Merge the groups by where the string first names each suite; a suite a keyword brought
    // in sits right after its predecessor in its group (or where its group starts).
    let first_named = |name: &str| tokens.iter().position(|t| *t == name);
    let keys = |group: &[SslCipher], start: usize| {
        let mut last = start;
        group
            .iter()
            .map(|c| {
                last = first_named(&c.name).unwrap_or(last);
                last
            })
            .collect::<Vec<_>>()
    };
    let k13 = keys(&r13, tls13.first().map_or(0, |&(i, _)| i));
    let k12 = keys(&r12, tls12.first().map_or(0, |&(i, _)| i));
    let mut ciphers = Vec::with_capacity(r13.len() + r12.len());
    let (mut a, mut b) = (0, 0);
    while a < r13.len() || b < r12.len() {
        if b >= r12.len() || (a < r13.len() && k13[a] <= k12[b]) {
            ciphers.push(r13[a].clone());
            a += 1;
        } else {
            ciphers.push(r12[b].clone());
            b += 1;
        }
    }

    ResolvedCiphers {
        openssl_string: tls12_string.filter(|_| !r12.is_empty()),
        tls13_string: tls13_string.filter(|_| !r13.is_empty()),
        ciphers,
    }
}

/// Whether `s` can go to OpenSSL as a C string (no NUL byte; the `openssl` crate panics on one).
pub(super) fn c_text(s: &str) -> bool {
    !s.contains('\0')
}

/// Splits a cipher string where OpenSSL does (`:`, `,`, `;`, space), dropping empty tokens.
pub(super) fn tokens(s: &str) -> Vec<&str> {
    s.split([':', ',', ';', ' '])
        .filter(|t| !t.is_empty())
        .collect()
}

/// A throw-away client context to ask OpenSSL what strings resolve to.
pub(super) struct Scratch {
    builder: SslContextBuilder,
}

impl Scratch {
    /// A fresh client context (library defaults: security level, protocol range, lists) that
    /// counts PSK suites as usable, as they are once a pre-shared key is configured.
    pub(super) fn new() -> Option<Scratch> {
        #[allow(unused_mut)]
        let mut builder = SslContextBuilder::new(SslMethod::tls_client()).ok()?;
        #[cfg(not(osslconf = "OPENSSL_NO_PSK"))]
        builder.set_psk_client_callback(|_, _, _, _| Ok(0));
        Some(Scratch { builder })
    }

    /// Whether `name` is a TLS 1.3 suite OpenSSL knows. (`SSL_CTX_set_ciphersuites` also
    /// "accepts" the IANA name of a TLS 1.2 suite, leaving an empty TLS 1.3 list, so the list is
    /// checked, not just the return value.)
    pub(super) fn is_tls13_name(&mut self, name: &str) -> bool {
        !name.is_empty()
            && !name.contains(':')
            && c_text(name)
            && self.builder.set_ciphersuites(name).is_ok()
            && context_ciphers(&self.builder)
                .iter()
                .any(|c| c.name() == name && c.version() == "TLSv1.3")
    }

    /// Sets the TLS 1.3 list (`""`: none) and, if given, the cipher list (which may carry
    /// `@SECLEVEL=n`). Returns whether the cipher list was given and accepted; when it is not,
    /// the context keeps its previous list.
    pub(super) fn set_lists(&mut self, tls12: Option<&str>, tls13: &str) -> bool {
        // An empty TLS 1.3 list is valid; a rejected one would leave the old list, which the
        // callers only use together with names already checked by `is_tls13_name`.
        if c_text(tls13) {
            let _ = self.builder.set_ciphersuites(tls13);
        }
        tls12.is_some_and(|s| c_text(s) && self.builder.set_cipher_list(s).is_ok())
    }

    /// Allows every protocol version this OpenSSL has (instead of the library's configured
    /// range). Returns whether OpenSSL accepted it.
    pub(super) fn set_protocol_range_to_all(&mut self) -> bool {
        self.builder.set_min_proto_version(None).is_ok()
            && self.builder.set_max_proto_version(None).is_ok()
    }

    /// Sets the security level (as `@SECLEVEL=n` would).
    pub(super) fn set_security_level(&mut self, level: u32) {
        self.builder.set_security_level(level);
    }

    /// The context's whole list (TLS 1.3 suites first), whatever rules out some of them.
    pub(super) fn listed(&self) -> Vec<SslCipher> {
        context_ciphers(&self.builder)
            .into_iter()
            .map(SslCipher::from_openssl)
            .collect()
    }

    /// What a client from this context would offer (security level, protocol range and, for
    /// PSK, the callback set in `new` all applied).
    pub(super) fn offered(&self) -> Vec<SslCipher> {
        offered_ciphers(&self.builder)
            .into_iter()
            .map(SslCipher::from_openssl)
            .collect()
    }

    /// The listed suites that are offered, plus listed SRP suites (masked only for want of an
    /// SRP user name, see the module docs), in list order.
    pub(super) fn usable(&self) -> Vec<SslCipher> {
        let offered = self.offered();
        self.listed()
            .into_iter()
            .filter(|c| offered.contains(c) || is_srp(c))
            .collect()
    }
}

/// Whether a suite uses pre-shared-key exchange (`PSK`, `RSAPSK`, `DHEPSK`, `ECDHEPSK`), usable
/// only with a PSK identity and key, which qsslsocket does not configure.
pub(super) fn is_psk(cipher: &SslCipher) -> bool {
    cipher.key_exchange_method.contains("PSK")
}

/// Whether a suite uses SRP key exchange (offered only with an SRP user name).
pub(super) fn is_srp(cipher: &SslCipher) -> bool {
    cipher.key_exchange_method == "SRP"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(r: &ResolvedCiphers) -> Vec<&str> {
        r.ciphers.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn exact_names_keep_their_order_across_groups() {
        let r = resolve_cipher_string("AES256-SHA:TLS_AES_128_GCM_SHA256:NOPE:AES128-SHA");
        assert_eq!(
            names(&r),
            ["AES256-SHA", "TLS_AES_128_GCM_SHA256", "AES128-SHA"]
        );
        assert_eq!(
            r.openssl_string.as_deref(),
            Some("AES256-SHA:NOPE:AES128-SHA")
        );
        assert_eq!(r.tls13_string.as_deref(), Some("TLS_AES_128_GCM_SHA256"));
    }

    #[test]
    fn a_nul_byte_makes_an_unknown_name_not_a_panic() {
        // Found by fuzz/cipher_string: the `openssl` crate panics on a NUL in a C string.
        let r = resolve_cipher_string("\0\0HIGH:!aNULL:AES256-SHA:TLS_AES_128\0_GCM_SHA256");
        assert_eq!(r.openssl_string.as_deref(), Some("!aNULL:AES256-SHA"));
        assert_eq!(names(&r), ["AES256-SHA"]);
        assert_eq!(r.tls13_string, None);
        assert_eq!(
            resolve_cipher_string("\0"),
            ResolvedCiphers::default(),
            "nothing else named: the defaults stay"
        );
        let report = crate::SslCipher::report("AES256-SHA:\0HIGH");
        assert_eq!(
            report.entries()[1].availability,
            crate::CipherAvailability::UnknownName
        );
        assert_eq!(report.ciphers(), [crate::SslCipher::new("AES256-SHA")]);
    }

    #[test]
    fn nothing_resolved_leaves_defaults() {
        for s in [
            "",
            "NOPE:FOO",
            "AES256-SHA:@FOO",
            "ADH-AES256-SHA",
            "!TLS_AES_128_GCM_SHA256",
            "TLS_RSA_WITH_AES_256_CBC_SHA",
        ] {
            let r = resolve_cipher_string(s);
            assert_eq!(r, ResolvedCiphers::default(), "{s:?}");
        }
    }

    #[test]
    fn seclevel_zero_lets_anonymous_suites_through() {
        let r = resolve_cipher_string("ADH-AES256-SHA:@SECLEVEL=0");
        assert_eq!(names(&r), ["ADH-AES256-SHA"]);
        assert_eq!(r.tls13_string, None);
    }

    /// Runs a TLS 1.2 handshake over a socket pair: the server offers `server` (RSA
    /// certificate, automatic DH parameters), the client is configured with `client` the way
    /// the context builder does. Returns the negotiated suite.
    fn handshake(server: &str, client: &CipherLists) -> Result<String, String> {
        use openssl::ssl::{Ssl, SslVerifyMode, SslVersion};
        use std::os::unix::net::UnixStream;

        static IDENTITY: once_cell::sync::Lazy<(
            openssl::x509::X509,
            openssl::pkey::PKey<openssl::pkey::Private>,
        )> = once_cell::sync::Lazy::new(|| {
            // RSA: the lists under test include RSA key exchange and authentication.
            let key =
                openssl::pkey::PKey::from_rsa(openssl::rsa::Rsa::generate(2048).unwrap()).unwrap();
            let name = crate::certificate::mint::common_name("localhost").unwrap();
            let cert = crate::certificate::mint::self_signed(&name, &key, 2, []).unwrap();
            (cert, key)
        });
        let mut s = SslContextBuilder::new(SslMethod::tls_server()).unwrap();
        s.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
        s.set_certificate(&IDENTITY.0).unwrap();
        s.set_private_key(&IDENTITY.1).unwrap();
        s.set_cipher_list(server).unwrap();
        crate::ffi::openssl::set_dh_auto(&mut s);
        let s = s.build();
        let mut c = SslContextBuilder::new(SslMethod::tls_client()).unwrap();
        c.set_max_proto_version(Some(SslVersion::TLS1_2)).unwrap();
        if let Some(list) = &client.tls12 {
            c.set_cipher_list(list).map_err(|e| e.to_string())?;
        }
        if let Some(list) = &client.tls13 {
            c.set_ciphersuites(list).map_err(|e| e.to_string())?;
        }
        c.set_verify(SslVerifyMode::NONE);
        let c = c.build();
        let (a, b) = UnixStream::pair().unwrap();
        let server = std::thread::spawn(move || {
            Ssl::new(&s)
                .unwrap()
                .accept(a)
                .map(|_| ())
                .map_err(|e| e.to_string())
        });
        let result = Ssl::new(&c).unwrap().connect(b).map_err(|e| e.to_string());
        let _ = server.join();
        result.map(|stream| {
            stream
                .ssl()
                .current_cipher()
                .map(|c| c.name().to_owned())
                .unwrap_or_default()
        })
    }

    #[test]
    fn resolved_strings_negotiate_what_they_report() {
        for suite in [
            "DHE-RSA-AES256-SHA",
            "AES256-SHA",
            "ECDHE-RSA-AES128-GCM-SHA256",
        ] {
            let r = resolve_cipher_string(&format!("NO-SUCH:{suite}:TLS_AES_128_GCM_SHA256"));
            assert_eq!(names(&r), [suite, "TLS_AES_128_GCM_SHA256"]);
            let lists = CipherLists {
                tls12: r.openssl_string.clone(),
                tls13: r.tls13_string.clone(),
            };
            // The server offers many suites; the client's list decides.
            assert_eq!(handshake("ALL", &lists).as_deref(), Ok(suite));
            // The list form of the same ciphers configures the same.
            assert_eq!(
                handshake("ALL", &cipher_lists_for(&r.ciphers)).as_deref(),
                Ok(suite)
            );
        }
        let keyword = resolve_cipher_string("kRSA+AESGCM:@STRENGTH");
        let lists = CipherLists {
            tls12: keyword.openssl_string.clone(),
            tls13: None,
        };
        assert_eq!(
            handshake("ALL", &lists).as_deref(),
            Ok(keyword.ciphers[0].name.as_str())
        );
    }

    #[test]
    fn list_split_follows_qt() {
        let r = resolve_cipher_string("TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES128-GCM-SHA256");
        let lists = cipher_lists_for(&r.ciphers);
        assert_eq!(lists.tls13.as_deref(), Some("TLS_AES_256_GCM_SHA384"));
        assert_eq!(lists.tls12.as_deref(), Some("ECDHE-RSA-AES128-GCM-SHA256"));
        assert_eq!(cipher_lists_for(&[]), CipherLists::default());
        assert_eq!(tokens("a:b, c;;d"), ["a", "b", "c", "d"]);
    }
}
