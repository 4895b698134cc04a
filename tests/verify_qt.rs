//! `SslCertificate::verify` (Qt's static `QSslCertificate::verify`) against the real Qt (PyQt6
//! 6.11 via `tests/peers/qt_verify.py`): the same chains and host names, with the test root added
//! to the default CA list on both sides, give the same errors, in the same order, naming the
//! same certificates. Its own test binary: it changes the process's default configuration.

mod common;

use common::external::ask_qt;
use common::pki::{Eku, Spec, mint, pki};
use qsslsocket::*;
use serde_json::{Value, json};

#[test]
fn verify_gives_qts_errors_in_qts_order() {
    let p = pki();
    let other_root = mint(&Spec::ca("Other Root"), None);
    let other_leaf = mint(&Spec::leaf("localhost"), Some(&other_root));
    let client_only = mint(
        &Spec::leaf("localhost").eku(&[Eku::ClientAuth]),
        Some(&p.intermediate),
    );
    let leaf_as_issuer = mint(&Spec::leaf("not a ca"), Some(&p.intermediate));
    let under_leaf = mint(&Spec::leaf("localhost"), Some(&leaf_as_issuer));
    let short_path = mint(&Spec::ca("Short Path CA").pathlen(0), Some(&p.root));
    let below_short = mint(&Spec::ca("Below Short CA"), Some(&short_path));
    let too_deep = mint(&Spec::leaf("localhost"), Some(&below_short));
    let expired_wrong_host = mint(
        &Spec::leaf("elsewhere.example").validity(-30, -1),
        Some(&p.intermediate),
    );
    let cases: Vec<(&str, Vec<SslCertificate>, &str)> = vec![
        ("good", p.server_chain(), "localhost"),
        ("good by IP", p.server_chain(), "127.0.0.1"),
        ("wrong host", p.server_chain(), "other.example"),
        ("no host", p.server_chain(), ""),
        (
            "expired",
            vec![p.expired.certificate(), p.intermediate.certificate()],
            "localhost",
        ),
        (
            "not yet valid",
            vec![p.not_yet_valid.certificate(), p.intermediate.certificate()],
            "localhost",
        ),
        (
            "missing intermediate",
            vec![p.leaf.certificate()],
            "localhost",
        ),
        (
            "self-signed",
            vec![p.self_signed.certificate()],
            "localhost",
        ),
        (
            "untrusted root",
            vec![other_leaf.certificate()],
            "localhost",
        ),
        (
            "untrusted root sent along",
            vec![other_leaf.certificate(), other_root.certificate()],
            "localhost",
        ),
        (
            "client certificate",
            vec![client_only.certificate(), p.intermediate.certificate()],
            "localhost",
        ),
        (
            "a leaf as issuer",
            vec![
                under_leaf.certificate(),
                leaf_as_issuer.certificate(),
                p.intermediate.certificate(),
            ],
            "localhost",
        ),
        (
            "path length exceeded",
            vec![
                too_deep.certificate(),
                below_short.certificate(),
                short_path.certificate(),
            ],
            "localhost",
        ),
        (
            "expired and wrong host",
            vec![
                expired_wrong_host.certificate(),
                p.intermediate.certificate(),
            ],
            "localhost",
        ),
        ("empty chain", vec![], "localhost"),
        (
            "SHA-1 signed",
            vec![p.sha1.certificate(), p.intermediate.certificate()],
            "localhost",
        ),
    ];

    // Host names against one certificate: with Qt's matcher (QtCompatibleHostNameMatching)
    // the crate must agree with Qt on every one; by default (RFC 6125/9525) the differences are
    // the deliberate ones.
    let named = mint(
        &Spec::leaf("cn.example")
            .dns(&[
                "localhost",
                "*.example.com",
                "xn--bcher-kva.example",
                "a*.wild.example",
            ])
            .ips(&["127.0.0.1", "::1"]),
        Some(&p.intermediate),
    );
    let named_chain = vec![named.certificate(), p.intermediate.certificate()];
    let hosts = [
        "localhost",
        "LOCALHOST",
        "localhost.",
        "a.example.com",
        "a.b.example.com",
        "example.com",
        "*.example.com",
        "bücher.example",
        "xn--bcher-kva.example",
        "BÜCHER.example",
        "ab.wild.example",
        "b.wild.example",
        "127.0.0.1",
        "::1",
        "[::1]",
        "0:0:0:0:0:0:0:1",
        "127.000.000.001",
        "cn.example",
        "",
    ];
    let mut cases = cases;
    let host_cases: Vec<String> = hosts.iter().map(|h| format!("host {h:?}")).collect();
    for (name, host) in host_cases.iter().zip(hosts) {
        cases.push((name.as_str(), named_chain.clone(), host));
    }

    let pem = |c: &SslCertificate| String::from_utf8(c.to_pem()).expect("PEM");
    let spec = json!({
        "roots": [pem(&p.root.certificate())],
        "cases": cases.iter().map(|(name, chain, host)| json!({
            "name": name, "chain": chain.iter().map(pem).collect::<Vec<_>>(), "host": host,
        })).collect::<Vec<_>>(),
    });
    let qt = ask_qt("qt_verify.py", &[], spec.to_string().as_bytes()).remove(0);

    SslSocket::add_default_ca_certificate(p.root.certificate());
    let rfc_differences = differences(&cases, &qt);
    let mut config = SslConfiguration::default_configuration();
    config.set_ssl_option(SslOption::QtCompatibleHostNameMatching, true);
    SslConfiguration::set_default_configuration(config);
    let qt_mode_differences = differences(&cases, &qt);
    assert!(
        qt_mode_differences.is_empty(),
        "{}",
        qt_mode_differences.join("\n")
    );
    // The deliberate ones (README): no CN when there are SANs, no partial wildcards.
    assert_eq!(
        rfc_differences,
        ["host \"ab.wild.example\"", "host \"cn.example\""],
        "in RFC mode"
    );
}

/// The cases where the crate's `SslCertificate::verify` answers differently from Qt's.
fn differences(cases: &[(&str, Vec<SslCertificate>, &str)], qt: &Value) -> Vec<String> {
    let mut differences = Vec::new();
    for (name, chain, host) in cases {
        let ours: Vec<Value> = SslCertificate::verify(chain, host)
            .iter()
            .map(|e| {
                let cn = e
                    .certificate()
                    .and_then(|c| c.subject_info(SubjectInfo::CommonName).into_iter().next());
                json!([e.error().name(), cn])
            })
            .collect();
        if qt[*name] != json!(ours) {
            eprintln!("{name}:\n  Qt:    {}\n  crate: {}", qt[*name], json!(ours));
            differences.push(name.to_string());
        }
    }
    differences
}
