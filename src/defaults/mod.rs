//! Process-wide state (Qt's global default configuration and CA database): the default
//! configuration, the default and system CA certificates, the supported and default ciphers,
//! and the OpenSSL library versions.
//!
//! Everything is computed on first use and is thread-safe. The default configuration sits
//! behind one mutex; readers get copies, so a socket's configuration never changes under it.
//!
//! CA database, as Qt 6 does it on Unix: if one of Qt's certificate directories holds OpenSSL
//! hash links, system roots are **not** read at start-up; contexts register those directories
//! and OpenSSL loads a root by subject hash only when a chain needs it. The default CA list then
//! stays empty (`default_ca_certificates()` is empty while verification against system roots
//! works). Otherwise the default CA list is the whole system store, read once. The system store
//! itself ([`SslConfiguration::system_ca_certificates`]) is read only by a process that asks
//! for it, and only once. `set_default_ca_certificates` switches on-demand loading off for the
//! whole process (Qt: the application brings its own roots); the `add_default_*` functions keep
//! it.

mod ca;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};

use once_cell::sync::Lazy;
use openssl::ssl::{SslContextBuilder, SslMethod};

use crate::{EncodingFormat, PatternSyntax, SslCertificate, SslCipher, SslConfiguration};

/// The process-wide defaults behind one lock.
struct Globals {
    /// What `default_configuration()` returns and new sockets copy.
    config: SslConfiguration,
    /// Qt's `s_loadRootCertsOnDemand`: hashed directories exist and `set_default_ca_certificates`
    /// has not been called.
    on_demand: bool,
}

static GLOBALS: Lazy<Mutex<Globals>> = Lazy::new(|| {
    let on_demand = !ca::hashed_dirs().is_empty();
    let mut config = SslConfiguration::new();
    config.ciphers = default_rule_ciphers().into();
    if !on_demand {
        for (certificate, file) in ca::system_store() {
            config.ca_files.insert(certificate.clone(), file.clone());
            config.ca_certificates.push(certificate.clone());
        }
    }
    Mutex::new(Globals { config, on_demand })
});

/// Qt's supported ciphers: the ciphers of a fresh client `SSL` (OpenSSL's DEFAULT list, in its
/// order), without the anonymous `ADH`/`EXP-ADH`/`AECDH` ones.
static SUPPORTED: Lazy<Vec<SslCipher>> = Lazy::new(|| {
    let Some(ciphers) = SslContextBuilder::new(SslMethod::tls_client())
        .ok()
        .map(|b| {
            crate::ffi::ciphers::context_ciphers(&b)
                .into_iter()
                .map(SslCipher::from_openssl)
                .collect::<Vec<_>>()
        })
    else {
        return Vec::new();
    };
    ciphers
        .into_iter()
        .filter(|c| {
            let name = c.name.to_ascii_lowercase();
            !c.is_null()
                && !["adh", "exp-adh", "aecdh"]
                    .iter()
                    .any(|p| name.starts_with(p))
        })
        .collect()
});

fn globals() -> MutexGuard<'static, Globals> {
    // The state stays consistent even if a holder panicked: every update is a single assignment.
    GLOBALS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The supported ciphers, borrowed (see [`SUPPORTED`]).
pub(crate) fn supported_cipher_list() -> &'static [SslCipher] {
    &SUPPORTED
}

/// Qt 5+'s default-cipher rule: the supported ciphers with at least 128 bits of strength.
fn default_rule_ciphers() -> Vec<SslCipher> {
    SUPPORTED
        .iter()
        .filter(|c| c.used_bits >= 128)
        .cloned()
        .collect()
}

/// The process's default cipher list (empty if someone set it so).
pub(crate) fn default_ciphers() -> Vec<SslCipher> {
    globals().config.ciphers.to_vec()
}

/// The process's default cipher list, shared rather than copied: for code that only reads it per
/// connection (the context cache's fingerprint hashes the names).
pub(crate) fn default_cipher_list() -> Arc<[SslCipher]> {
    Arc::clone(&globals().config.ciphers)
}

/// Replaces the default cipher list of sockets created afterwards.
pub(crate) fn set_default_ciphers(ciphers: Vec<SslCipher>) {
    let mut g = globals();
    g.config.ciphers = ciphers.into();
    g.config.cipher_string = None;
    g.config.cipher_suites = None;
}

/// A copy of the default configuration.
pub(crate) fn default_configuration() -> SslConfiguration {
    globals().config.clone()
}

/// The default CA list (empty on a system with on-demand loading, until CAs are added).
pub(crate) fn default_ca_certificates() -> Vec<SslCertificate> {
    globals().config.ca_certificates.clone()
}

/// Whether `certificate` is in the default CA list (without copying the list).
pub(crate) fn is_default_ca_certificate(certificate: &SslCertificate) -> bool {
    globals().config.ca_certificates.contains(certificate)
}

/// Whether contexts may register the hashed system directories: they exist, and
/// `set_default_ca_certificates` has not been called. (A configuration can still opt out, see
/// `SslConfiguration::allows_on_demand_roots`.)
pub(crate) fn system_roots_available_on_demand() -> bool {
    globals().on_demand
}

/// Qt's certificate directories that exist and hold hash links, for on-demand root lookup
/// (`SSL_CTX_load_verify_dir`). Computed once; not affected by `set_default_ca_certificates`,
/// so check [`system_roots_available_on_demand`] first.
pub(crate) fn on_demand_root_dirs() -> &'static [PathBuf] {
    ca::hashed_dirs()
}

/// The default trust store, for verification outside a socket (`CertificateVerifier`).
#[derive(Clone, Debug, Default)]
pub(crate) struct DefaultTrust {
    /// The default CA list.
    pub(crate) certificates: Vec<SslCertificate>,
    /// Where those of them that were loaded from files came from.
    pub(crate) files: HashMap<SslCertificate, PathBuf>,
    /// The hashed directories to look roots up in; empty when on-demand loading is off.
    pub(crate) on_demand_dirs: &'static [PathBuf],
}

/// A snapshot of the default trust store.
pub(crate) fn default_trust() -> DefaultTrust {
    let g = globals();
    DefaultTrust {
        certificates: g.config.ca_certificates.clone(),
        files: g.config.ca_files.clone(),
        on_demand_dirs: if g.on_demand { ca::hashed_dirs() } else { &[] },
    }
}

/// Replaces the default CA list and switches on-demand system roots off for the process.
pub(crate) fn set_default_ca_certificates(certificates: Vec<SslCertificate>) {
    let mut g = globals();
    g.config.ca_certificates = certificates.into_iter().filter(|c| !c.is_null()).collect();
    let Globals { config, .. } = &mut *g;
    config
        .ca_files
        .retain(|c, _| config.ca_certificates.contains(c));
    g.on_demand = false;
}

/// Appends one CA to the default list unless it is already there (Qt checks too).
pub(crate) fn add_default_ca_certificate(certificate: SslCertificate) {
    let mut g = globals();
    if !certificate.is_null() && !g.config.ca_certificates.contains(&certificate) {
        g.config.ca_certificates.push(certificate);
    }
}

/// Appends CAs to the default list (as Qt, without looking for duplicates).
pub(crate) fn add_default_ca_certificates(certificates: &[SslCertificate]) {
    let mut g = globals();
    g.config
        .ca_certificates
        .extend(certificates.iter().filter(|c| !c.is_null()).cloned());
}

/// Loads CAs from `path` (a file, or a pattern for `Wildcard`/`RegExp`) into the default list,
/// remembering their files. False if nothing was loaded.
pub(crate) fn add_default_ca_certificates_from_path(
    path: &Path,
    format: EncodingFormat,
    syntax: PatternSyntax,
) -> bool {
    let found = SslCertificate::from_path_with_origin(path, format, syntax);
    if found.is_empty() {
        return false;
    }
    let mut g = globals();
    for (certificate, file) in found {
        g.config.ca_files.insert(certificate.clone(), file);
        g.config.ca_certificates.push(certificate);
    }
    true
}

/// Whether TLS works at all: OpenSSL creates a client context and lists ciphers. Checked once.
pub(crate) fn supports_ssl() -> bool {
    static OK: Lazy<bool> = Lazy::new(|| {
        SslContextBuilder::new(SslMethod::tls_client()).is_ok() && !SUPPORTED.is_empty()
    });
    *OK
}

/// `OpenSSL_version_num()` of the library loaded at run time.
pub(crate) fn library_version_number() -> i64 {
    openssl::version::number()
}

/// `OpenSSL_version(OPENSSL_VERSION)` of the library loaded at run time.
pub(crate) fn library_version_string() -> String {
    openssl::version::version().to_owned()
}

/// The `OPENSSL_VERSION_NUMBER` of the headers the crate was built against (from build.rs).
pub(crate) fn build_version_number() -> i64 {
    BUILD_VERSION_NUMBER
}

/// "OpenSSL x.y.z" for the build-time version (1.1.1 releases get their patch letter).
pub(crate) fn build_version_string() -> String {
    version_text(BUILD_VERSION_NUMBER)
}

const BUILD_VERSION_NUMBER: i64 = parse_decimal(env!("QSSL_OPENSSL_BUILD_VERSION_NUMBER"));

/// Parses the decimal build.rs exports (0 if it is not one).
const fn parse_decimal(s: &str) -> i64 {
    let bytes = s.as_bytes();
    let mut value: i64 = 0;
    let mut i = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() {
            return 0;
        }
        value = value * 10 + (bytes[i] - b'0') as i64;
        i += 1;
    }
    value
}

/// Formats an `OPENSSL_VERSION_NUMBER`: `0xMNN00PP0` for 3.x, `0xMNNFFPPS` before.
fn version_text(number: i64) -> String {
    let major = (number >> 28) & 0xf;
    let minor = (number >> 20) & 0xff;
    if major >= 3 {
        return format!("OpenSSL {major}.{minor}.{}", (number >> 4) & 0xff);
    }
    let fix = (number >> 12) & 0xff;
    let patch = (number >> 4) & 0xff;
    let letter = if (1..=26).contains(&patch) {
        char::from(b'a' + patch as u8 - 1).to_string()
    } else {
        String::new()
    };
    format!("OpenSSL {major}.{minor}.{fix}{letter}")
}

impl SslConfiguration {
    /// A copy of the process-wide default configuration, which every new socket copies (Qt:
    /// `QSslConfiguration::defaultConfiguration()`). Its ciphers are the default ciphers and its
    /// CA list the default CA list (empty when system roots are loaded on demand).
    #[doc(alias = "defaultConfiguration")]
    pub fn default_configuration() -> SslConfiguration {
        default_configuration()
    }

    /// Replaces the process-wide default configuration (Qt:
    /// `QSslConfiguration::setDefaultConfiguration`). Sockets created afterwards copy it;
    /// existing sockets keep theirs. Its cipher list becomes the default cipher list, so a
    /// configuration without ciphers leaves new sockets without any (their handshakes then fail
    /// with "Invalid or empty cipher list ()", as in Qt).
    #[doc(alias = "setDefaultConfiguration")]
    pub fn set_default_configuration(configuration: SslConfiguration) {
        globals().config = configuration;
    }

    /// Every CA certificate of the system store (Qt: `QSslConfiguration::systemCaCertificates`):
    /// the `*.pem` and `*.crt` files in Qt's certificate directories, Qt's two bundle files, and
    /// what `openssl-probe` finds (`SSL_CERT_FILE`, `SSL_CERT_DIR`, the distribution's bundle).
    /// Read on the first call only, and never by a process that does not call it. Unlike Qt,
    /// which lists a certificate once per file holding it (Debian has every root twice: as a
    /// `.pem` link and in `ca-certificates.crt`), each certificate appears once.
    #[doc(alias = "systemCaCertificates")]
    pub fn system_ca_certificates() -> Vec<SslCertificate> {
        ca::system_store().iter().map(|(c, _)| c.clone()).collect()
    }

    /// The ciphers the linked OpenSSL supports (Qt: `QSslConfiguration::supportedCiphers`):
    /// OpenSSL's default list for a client (`SSL_get_ciphers` of a fresh client, i.e. the
    /// `DEFAULT` cipher string, 60 suites on Debian 12), in its order, without anonymous suites.
    /// As in Qt this is not `ALL`: suites outside `DEFAULT` (`DHE-DSS-*`, `CAMELLIA`, `ARIA`,
    /// and those below the security level) are not listed, though
    /// [`set_ciphers_str`](SslConfiguration::set_ciphers_str) accepts the ones OpenSSL offers.
    #[doc(alias = "supportedCiphers")]
    pub fn supported_ciphers() -> Vec<SslCipher> {
        SUPPORTED.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_texts() {
        assert_eq!(version_text(0x3000_0130), "OpenSSL 3.0.19");
        assert_eq!(version_text(0x1010_117f), "OpenSSL 1.1.1w");
        assert_eq!(parse_decimal("805306672"), 0x3000_0130);
        assert_eq!(parse_decimal("x"), 0);
    }
}
