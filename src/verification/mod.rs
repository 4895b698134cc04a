//! Peer verification with Qt's semantics: host-name matching, the blacklist, Qt's error order
//! and ignore rules, the audit record, and `CertificateVerifier`.
