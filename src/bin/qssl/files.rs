//! Certificates, CA files and directories and private keys from files, with messages that name
//! the file and say what is wrong (missing, unreadable, no certificate, wrong or missing
//! passphrase).

use std::path::Path;

use qsslsocket::{
    EncodingFormat, KeyAlgorithm, KeyType, PatternSyntax, SslCertificate, SslConfiguration, SslKey,
};

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

/// `--ca`: adds the certificates of a PEM or DER file, or the PEM certificates of the files in a
/// directory (`DIR/*`: hidden files and subdirectories are left out), through
/// `SslConfiguration::add_ca_certificates_from_path`, so that a verification names the file its
/// trust anchor came from.
pub(crate) fn add_ca(config: &mut SslConfiguration, path: &Path) -> Result<(), String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| format!("cannot read CA file or directory {}: {e}", path.display()))?;
    if !meta.is_dir() {
        // The path API skips a file it cannot read: say why here.
        std::fs::File::open(path)
            .map_err(|e| format!("cannot read CA file {}: {e}", path.display()))?;
        let added = [EncodingFormat::Pem, EncodingFormat::Der]
            .into_iter()
            .any(|format| {
                config.add_ca_certificates_from_path(path, format, PatternSyntax::FixedString)
            });
        return if added {
            Ok(())
        } else {
            Err(format!(
                "{} holds no certificate (neither PEM nor DER)",
                path.display()
            ))
        };
    }
    std::fs::read_dir(path)
        .map_err(|e| format!("cannot list the CA directory {}: {e}", path.display()))?;
    let pattern = format!("{}/*", wildcard_literal(&path.to_string_lossy()));
    if config.add_ca_certificates_from_path(&pattern, EncodingFormat::Pem, PatternSyntax::Wildcard)
    {
        Ok(())
    } else {
        Err(format!(
            "the CA directory {} holds no PEM certificate",
            path.display()
        ))
    }
}

/// `path` as a wildcard pattern that matches exactly it (`*`, `?` and `[` in brackets), without
/// trailing slashes.
fn wildcard_literal(path: &str) -> String {
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { path } else { trimmed };
    let mut out = String::with_capacity(trimmed.len());
    for c in trimmed.chars() {
        match c {
            '*' | '?' | '[' => {
                out.push('[');
                out.push(c);
                out.push(']');
            }
            c => out.push(c),
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directories_become_literal_wildcards() {
        assert_eq!(wildcard_literal("/etc/ssl/certs/"), "/etc/ssl/certs");
        assert_eq!(wildcard_literal("a*b?c[d]"), "a[*]b[?]c[[]d]");
        assert_eq!(wildcard_literal("/"), "/");
    }

    #[test]
    fn a_ca_directory_adds_its_visible_files() {
        // Wildcard characters in the directory's name are taken literally.
        let dir = tempfile::Builder::new()
            .prefix("qssl-ca-[*]-")
            .tempdir()
            .unwrap();
        let cert = crate::mint::self_signed("ca dir test")
            .expect("minted")
            .certificate;
        std::fs::write(dir.path().join("one.pem"), cert.to_pem()).unwrap();
        let other = crate::mint::self_signed("hidden")
            .expect("minted")
            .certificate;
        std::fs::write(dir.path().join(".hidden.pem"), other.to_pem()).unwrap();
        let mut config = SslConfiguration::new();
        add_ca(&mut config, dir.path()).expect("added");
        assert_eq!(config.ca_certificates(), vec![cert]);
    }
}
