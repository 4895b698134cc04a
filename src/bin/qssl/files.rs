//! Certificates, CA directories and private keys from files, with messages that name the file
//! and say what is wrong (missing, unreadable, no certificate, wrong or missing passphrase).

use std::path::{Path, PathBuf};

use qsslsocket::{EncodingFormat, KeyAlgorithm, KeyType, PatternSyntax, SslCertificate, SslKey};

fn read_file(path: &Path, what: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("cannot read {what} {}: {e}", path.display()))
}

/// The certificates in a PEM or DER file (at least one).
pub(crate) fn load_certificates(path: &Path) -> Result<Vec<SslCertificate>, String> {
    let data = read_file(path, "certificate file")?;
    let mut certs = SslCertificate::from_data(&data, EncodingFormat::Pem);
    if certs.is_empty() {
        certs = SslCertificate::from_data(&data, EncodingFormat::Der);
    }
    if certs.is_empty() {
        return Err(format!(
            "{} holds no certificate (neither PEM nor DER)",
            path.display()
        ));
    }
    Ok(certs)
}

/// `--ca`: a file, or every certificate in a directory (PEM files and hashed links).
pub(crate) fn load_ca(path: &Path) -> Result<Vec<SslCertificate>, String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read CA file or directory {}: {e}", path.display()))?;
    if !meta.is_dir() {
        return load_certificates(path);
    }
    let entries = std::fs::read_dir(path)
        .map_err(|e| format!("cannot list the CA directory {}: {e}", path.display()))?;
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let mut certs: Vec<SslCertificate> = Vec::new();
    for file in files.iter().filter(|f| f.is_file()) {
        for cert in SslCertificate::from_path(file, EncodingFormat::Pem, PatternSyntax::FixedString)
        {
            if !certs.contains(&cert) {
                certs.push(cert);
            }
        }
    }
    if certs.is_empty() {
        return Err(format!(
            "the CA directory {} holds no PEM certificate",
            path.display()
        ));
    }
    Ok(certs)
}

/// A private key in PEM or DER, of any algorithm, decrypted with `pass`.
pub(crate) fn load_key(path: &Path, pass: &str) -> Result<SslKey, String> {
    let data = read_file(path, "key file")?;
    let mut first_error = None;
    for format in [EncodingFormat::Pem, EncodingFormat::Der] {
        let key = SslKey::new(
            &data,
            KeyAlgorithm::Opaque,
            format,
            KeyType::PrivateKey,
            pass.as_bytes(),
        );
        if !key.is_null() {
            return Ok(key);
        }
        first_error.get_or_insert(key.error_string());
    }
    let why = first_error.unwrap_or_default();
    let hint = if String::from_utf8_lossy(&data).contains("ENCRYPTED") {
        if pass.is_empty() {
            " (the key is encrypted: give its passphrase with --pass)"
        } else {
            " (the key is encrypted: is the passphrase right?)"
        }
    } else {
        ""
    };
    Err(format!(
        "cannot load the private key {}: {why}{hint}",
        path.display()
    ))
}
