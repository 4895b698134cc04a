//! The audit record's trust-anchor source when the anchor is one of the process's default CA
//! certificates. Changes process-wide defaults, so it runs in a test binary of its own.

mod common;

use common::pki::pki;
use common::server::{LOCALHOST, ServerThread, client};
use qsslsocket::{AnchorSource, SslSocket};

#[test]
fn an_anchor_added_as_a_value_that_is_also_a_default_ca_is_reported_as_the_default_store() {
    let server = ServerThread::spawn(LOCALHOST, |_| {});
    // Not a default CA yet: the socket's own CA list is the source.
    let mut s = client("localhost", server.port);
    assert!(s.wait_for_encrypted(10_000), "{}", s.error_string());
    let report = s.verification_report().expect("audit record");
    assert_eq!(report.trust_anchor(), Some(pki().root.certificate()));
    assert_eq!(report.trust_anchor_source(), Some(AnchorSource::Added));
    s.abort();

    SslSocket::add_default_ca_certificate(pki().root.certificate());
    let mut s = client("localhost", server.port);
    assert!(s.wait_for_encrypted(10_000), "{}", s.error_string());
    let report = s.verification_report().expect("audit record");
    assert_eq!(report.trust_anchor(), Some(pki().root.certificate()));
    assert_eq!(
        report.trust_anchor_source(),
        Some(AnchorSource::DefaultStore)
    );
    s.abort();
    drop(server.stop());
}
