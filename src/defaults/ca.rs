//! The system's CA certificates: the hashed directories OpenSSL can look roots up in on demand,
//! and the whole store read from disk (only when someone asks, once per process).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

use once_cell::sync::{Lazy, OnceCell};

use crate::{EncodingFormat, PatternSyntax, SslCertificate};

/// Qt 6's Unix root-certificate directories, in Qt's order (`unixRootCertDirectories`).
const QT_ROOT_DIRS: [&str; 9] = [
    "/etc/ssl/certs/",       // (K)ubuntu, OpenSUSE, Mandriva, Debian
    "/usr/lib/ssl/certs/",   // Gentoo, Mandrake
    "/usr/share/ssl/",       // CentOS, Red Hat, SuSE
    "/usr/local/ssl/",       // OpenSSL tarball
    "/var/ssl/certs/",       // AIX
    "/usr/local/ssl/certs/", // Solaris
    "/etc/openssl/certs/",   // BlackBerry
    "/opt/openssl/certs/",   // HP-UX
    "/etc/ssl/",             // OpenBSD
];

/// The CA bundles Qt reads besides the directories (Fedora/Mandriva, FreeBSD's ca_root_nss).
const QT_BUNDLES: [&str; 2] = [
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/usr/local/share/certs/ca-root-nss.crt",
];

static HASHED_DIRS: Lazy<Vec<PathBuf>> = Lazy::new(find_hashed_dirs);
static SYSTEM_STORE: OnceCell<Vec<(SslCertificate, PathBuf)>> = OnceCell::new();

/// The directories of [`QT_ROOT_DIRS`] that exist and hold at least one OpenSSL hash link
/// (`[0-9a-f]{8}.[0-9]`), so OpenSSL can look a root up by subject hash while verifying.
/// A directory reached twice through symbolic links (Debian's `/usr/lib/ssl/certs` is
/// `/etc/ssl/certs`) is listed once, under Qt's first name for it. Computed once.
pub(crate) fn hashed_dirs() -> &'static [PathBuf] {
    &HASHED_DIRS
}

fn find_hashed_dirs() -> Vec<PathBuf> {
    let mut seen = HashSet::new();
    QT_ROOT_DIRS
        .iter()
        .map(PathBuf::from)
        .filter(|dir| has_hash_link(dir))
        .filter(|dir| seen.insert(fs::canonicalize(dir).unwrap_or_else(|_| dir.clone())))
        .collect()
}

/// Whether `dir` holds a file (or a link to one) named like OpenSSL's hash links.
fn has_hash_link(dir: &Path) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    entries.flatten().any(|entry| {
        entry.file_name().to_str().is_some_and(is_hash_link_name) && entry.path().is_file()
    })
}

/// `[0-9a-f]{8}.[0-9]`, the name `c_rehash` / `openssl rehash` gives a certificate link.
fn is_hash_link_name(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 10
        && b[..8]
            .iter()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c))
        && b[8] == b'.'
        && b[9].is_ascii_digit()
}

/// Every certificate of the system store with the file it came from (see
/// [`system_ca_certificates`](crate::SslConfiguration::system_ca_certificates)). Read on the
/// first call only; later calls return the same list.
pub(crate) fn system_store() -> &'static [(SslCertificate, PathBuf)] {
    SYSTEM_STORE.get_or_init(load_system_store)
}

/// Qt's files (`*.pem` and `*.crt` directly in its directories, plus its two bundles) and what
/// `openssl-probe` finds (`SSL_CERT_FILE` / `SSL_CERT_DIR`, the distribution's bundle), each
/// file once by canonical path, in path order; each certificate once, first file wins.
fn load_system_store() -> Vec<(SslCertificate, PathBuf)> {
    let probe = openssl_probe::probe();
    let dirs = QT_ROOT_DIRS.iter().map(PathBuf::from).chain(probe.cert_dir);
    let mut files: Vec<PathBuf> = dirs
        .filter_map(|dir| fs::read_dir(dir).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pem" || e == "crt"))
        .chain(QT_BUNDLES.iter().map(PathBuf::from))
        .chain(probe.cert_file)
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    let mut canonical = HashSet::new();
    files.retain(|p| canonical.insert(fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    read_files(&files)
}

/// The certificates of `files`, each read as Qt reads a system file (`fromPath(file, Pem)`, so
/// a block that does not decode is skipped and the others are kept); each certificate once,
/// first file wins.
fn read_files(files: &[PathBuf]) -> Vec<(SslCertificate, PathBuf)> {
    let mut seen = HashSet::new();
    files
        .iter()
        .flat_map(|file| {
            SslCertificate::from_path_with_origin(
                file,
                EncodingFormat::Pem,
                PatternSyntax::FixedString,
            )
        })
        .filter(|(certificate, _)| seen.insert(certificate.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verification::test_support::self_signed_ca;

    #[test]
    fn hash_link_names() {
        assert!(is_hash_link_name("9d04f354.0"));
        assert!(!is_hash_link_name("9D04F354.0"));
        assert!(!is_hash_link_name("9d04f354.r0"));
        assert!(!is_hash_link_name("ca-certificates.crt"));
    }

    #[test]
    fn a_corrupt_block_does_not_drop_the_rest_of_a_bundle() {
        let first = self_signed_ca("first root");
        let second = self_signed_ca("second root");
        let mut bundle = first.to_pem();
        // Not Base64, then Base64 that is not a certificate.
        bundle.extend_from_slice(b"-----BEGIN CERTIFICATE-----\n!!not base64!!\n");
        bundle.extend_from_slice(b"-----END CERTIFICATE-----\n");
        bundle.extend_from_slice(b"-----BEGIN CERTIFICATE-----\nMIIBAAAA\n");
        bundle.extend_from_slice(b"-----END CERTIFICATE-----\n");
        bundle.extend_from_slice(&second.to_pem());
        // The same root again in a second file: listed once, with the first file.
        let dir = tempfile::tempdir().unwrap();
        let bundle_path = dir.path().join("bundle.crt");
        let again_path = dir.path().join("again.pem");
        fs::write(&bundle_path, &bundle).unwrap();
        fs::write(&again_path, first.to_pem()).unwrap();

        let store = read_files(&[bundle_path.clone(), again_path]);
        assert_eq!(store, [(first, bundle_path.clone()), (second, bundle_path)]);
    }
}
