//! How certificates, ciphers, SSL errors, verification reports and byte counters look, as JSON
//! and as text, in every subcommand.

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

use qsslsocket::{
    AuditEntry, ByteTotals, DigestAlgorithm, IgnoreRule, SslCertificate, SslCipher, SslError,
    SslProtocol, SubjectInfo, VerificationReport,
};

use crate::output::Json;

/// Lower-case hex with colons (`ab:cd:..`), as Qt and `openssl x509 -fingerprint` write digests.
pub(crate) fn colon_hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// A UTC time as RFC 3339 (`2026-11-26T19:24:58Z`).
pub(crate) fn utc(time: SystemTime) -> String {
    let secs = match time.duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_secs() as i64,
        Err(e) => -(e.duration().as_secs() as i64),
    };
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// A distinguished name as `CN=..,O=..`, from the subject or issuer attributes.
pub(crate) fn dn(cert: &SslCertificate, issuer: bool) -> String {
    let attributes = if issuer {
        cert.issuer_info_attributes()
    } else {
        cert.subject_info_attributes()
    };
    let mut parts = Vec::new();
    for attribute in attributes {
        let values = if issuer {
            cert.issuer_info_by_attribute(&attribute)
        } else {
            cert.subject_info_by_attribute(&attribute)
        };
        let name = String::from_utf8_lossy(&attribute).into_owned();
        parts.extend(values.into_iter().map(|v| format!("{name}={v}")));
    }
    parts.join(",")
}

pub(crate) fn cert_json(cert: &SslCertificate) -> Json {
    let san: Vec<Json> = cert
        .subject_alternative_names()
        .into_iter()
        .map(|(kind, value)| Json::from(format!("{kind:?}:{value}")))
        .collect();
    Json::obj()
        .with("subject", dn(cert, false))
        .with("issuer", dn(cert, true))
        .with(
            "common_name",
            cert.subject_info(SubjectInfo::CommonName).join(","),
        )
        .with("subject_alternative_names", san)
        .with(
            "serial_number",
            String::from_utf8_lossy(&cert.serial_number()).into_owned(),
        )
        .with("not_before", utc(cert.effective_date()))
        .with("not_after", utc(cert.expiry_date()))
        .with("self_signed", cert.is_self_signed())
        .with("public_key_bits", cert.public_key().length())
        .with(
            "public_key_algorithm",
            format!("{:?}", cert.public_key().algorithm()),
        )
        .with("sha256", colon_hex(&cert.digest(DigestAlgorithm::Sha256)))
}

/// One certificate in a few lines, indented by `indent`.
pub(crate) fn cert_text(cert: &SslCertificate, indent: &str) -> String {
    let san: Vec<String> = cert
        .subject_alternative_names()
        .into_iter()
        .map(|(kind, value)| format!("{kind:?}:{value}"))
        .collect();
    let mut s = format!(
        "{indent}subject  {}\n{indent}issuer   {}\n{indent}valid    {} .. {}{}\n{indent}key      {:?} {} bits\n{indent}sha256   {}",
        dn(cert, false),
        dn(cert, true),
        utc(cert.effective_date()),
        utc(cert.expiry_date()),
        if cert.is_self_signed() {
            "  (self-signed)"
        } else {
            ""
        },
        cert.public_key().algorithm(),
        cert.public_key().length(),
        colon_hex(&cert.digest(DigestAlgorithm::Sha256)),
    );
    if !san.is_empty() {
        let _ = write!(s, "\n{indent}SAN      {}", san.join(", "));
    }
    s
}

pub(crate) fn cipher_json(cipher: &SslCipher) -> Json {
    if cipher.is_null() {
        return Json::Null;
    }
    Json::obj()
        .with("name", cipher.name())
        .with("protocol", cipher.protocol().name())
        .with("protocol_string", cipher.protocol_string())
        .with("key_exchange_method", cipher.key_exchange_method())
        .with("authentication_method", cipher.authentication_method())
        .with("encryption_method", cipher.encryption_method())
        .with("used_bits", cipher.used_bits())
        .with("supported_bits", cipher.supported_bits())
}

/// The header of [`cipher_row`].
pub(crate) const CIPHER_HEADER: &str = "name                                 protocol  kx        au        enc                     bits";

/// One QSslCipher as a table row.
pub(crate) fn cipher_row(cipher: &SslCipher) -> String {
    format!(
        "{:36} {:9} {:9} {:9} {:23} {}/{}",
        cipher.name(),
        cipher.protocol_string(),
        cipher.key_exchange_method(),
        cipher.authentication_method(),
        cipher.encryption_method(),
        cipher.used_bits(),
        cipher.supported_bits()
    )
}

/// The session line: protocol and the cipher's fields.
pub(crate) fn session_text(protocol: SslProtocol, cipher: &SslCipher) -> String {
    if cipher.is_null() {
        return format!("protocol {protocol}, no cipher");
    }
    format!(
        "protocol {protocol}; cipher {} ({}, key exchange {}, authentication {}, encryption {}, {}/{} bits)",
        cipher.name(),
        cipher.protocol_string(),
        cipher.key_exchange_method(),
        cipher.authentication_method(),
        cipher.encryption_method(),
        cipher.used_bits(),
        cipher.supported_bits()
    )
}

pub(crate) fn error_json(error: &SslError) -> Json {
    Json::obj()
        .with("kind", error.error().name())
        .with("code", error.error() as i32)
        .with("text", error.error_string())
        .with("certificate", error.certificate().map(|c| dn(&c, false)))
}

fn ignore_rule(rule: &IgnoreRule) -> String {
    match rule {
        IgnoreRule::IgnoreAll => "ignore_ssl_errors()".to_owned(),
        IgnoreRule::ListEntry(i) => format!("ignore_ssl_errors_list entry {i}"),
        IgnoreRule::VerifyMode => "peer verify mode".to_owned(),
    }
}

pub(crate) fn audit_json(entry: &AuditEntry) -> Json {
    error_json(&entry.error)
        .with("depth", entry.depth)
        .with("ignored_by", entry.ignored_by.as_ref().map(ignore_rule))
}

/// `depth N  Kind: text  [subject]  (ignored by ..)`.
pub(crate) fn audit_text(entry: &AuditEntry) -> String {
    let mut s = format!(
        "depth {}  {}: {}",
        entry.depth,
        entry.error.error(),
        entry.error.error_string()
    );
    if let Some(cert) = entry.error.certificate() {
        let _ = write!(s, "  [{}]", dn(&cert, false));
    }
    if let Some(rule) = &entry.ignored_by {
        let _ = write!(s, "  (ignored by {})", ignore_rule(rule));
    }
    s
}

pub(crate) fn report_json(report: &VerificationReport) -> Json {
    Json::obj()
        .with("trusted", report.is_trusted())
        .with(
            "entries",
            report.entries().iter().map(audit_json).collect::<Vec<_>>(),
        )
        .with("trust_anchor", report.trust_anchor().map(|c| dn(&c, false)))
        .with(
            "trust_anchor_source",
            report.trust_anchor_source().map(|s| format!("{s:?}")),
        )
}

pub(crate) fn totals_json(t: &ByteTotals) -> Json {
    Json::obj()
        .with("plaintext_written", t.plaintext_written)
        .with("plaintext_read", t.plaintext_read)
        .with("ciphertext_written", t.ciphertext_written)
        .with("ciphertext_read", t.ciphertext_read)
}

pub(crate) fn totals_text(t: &ByteTotals) -> String {
    format!(
        "plaintext {} written / {} read; ciphertext {} written / {} read",
        t.plaintext_written, t.plaintext_read, t.ciphertext_written, t.ciphertext_read
    )
}

/// Text shown for bytes a peer sent: printable as is, the rest escaped.
pub(crate) fn printable(data: &[u8]) -> String {
    data.escape_ascii().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(utc(UNIX_EPOCH), "1970-01-01T00:00:00Z");
        let t = UNIX_EPOCH + std::time::Duration::from_secs(951_782_400 + 3_723);
        assert_eq!(utc(t), "2000-02-29T01:02:03Z");
    }
}
