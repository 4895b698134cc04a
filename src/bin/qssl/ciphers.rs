//! `qssl ciphers [STRING]`: the supported (or default) ciphers as QSslCipher rows; with a
//! cipher string, `SslCipher::report`'s per-token answer and the final ordered list.

use clap::Args;
use qsslsocket::{CipherOperator, CipherReport, SslCipher, SslSocket};

use crate::options::{CipherCheck, cipher_string_problem};
use crate::output::Json;
use crate::show::{CIPHER_HEADER, cipher_json, cipher_row};
use crate::{Failure, Outcome};

#[derive(Args, Debug)]
pub(crate) struct CiphersArgs {
    /// An OpenSSL cipher string to explain, e.g. `DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA:AES256-SHA`.
    #[arg(value_name = "STRING")]
    string: Option<String>,

    /// Without STRING: list the default ciphers (what sockets use) instead of every supported one.
    #[arg(long, conflicts_with = "string")]
    default: bool,
}

pub(crate) fn run(args: &CiphersArgs, json: bool) -> Outcome {
    let Some(string) = &args.string else {
        let (what, list) = if args.default {
            ("default", SslSocket::default_ciphers())
        } else {
            ("supported", SslSocket::supported_ciphers())
        };
        if !json {
            outln!(
                "{} {what} ciphers ({}):",
                list.len(),
                SslSocket::ssl_library_version_string()
            );
            outln!("{CIPHER_HEADER}");
            for cipher in &list {
                outln!("{}", cipher_row(cipher));
            }
        }
        return Ok(Some(Json::obj().with("ok", true).with("list", what).with(
            "ciphers",
            list.iter().map(cipher_json).collect::<Vec<_>>(),
        )));
    };
    if string.trim().is_empty() {
        return Err(Failure::input("the cipher string is empty"));
    }
    let report = SslCipher::report(string);
    if !json {
        outln!("{}", report.to_string().trim_end());
        if !report.ciphers().is_empty() {
            outln!("\nThe ordered list OpenSSL would use:");
            outln!("{CIPHER_HEADER}");
            for cipher in report.ciphers() {
                outln!("{}", cipher_row(cipher));
            }
        }
    }
    let document = report_json(&report);
    match cipher_string_problem(&report, CipherCheck::FullyProvided) {
        Some(problem) => Err(Failure::failed(problem).with_json(document)),
        None => Ok(Some(document.with("ok", true))),
    }
}

fn report_json(report: &CipherReport) -> Json {
    let tokens: Vec<Json> = report
        .entries()
        .iter()
        .map(|e| {
            let operator = match e.operator {
                CipherOperator::Add => "add",
                CipherOperator::Remove => "remove",
                CipherOperator::Forbid => "forbid",
                CipherOperator::MoveToEnd => "move_to_end",
                _ => "other",
            };
            Json::obj()
                .with("token", e.token.as_str())
                .with("operator", operator)
                .with("kind", e.kind.to_string())
                .with("provided", e.is_provided())
                .with("availability", e.availability.to_string())
                .with(
                    "ciphers",
                    e.ciphers
                        .iter()
                        .map(|c| Json::from(c.name()))
                        .collect::<Vec<_>>(),
                )
                .with(
                    "notes",
                    e.notes
                        .iter()
                        .map(|n| Json::from(n.as_str()))
                        .collect::<Vec<_>>(),
                )
        })
        .collect();
    Json::obj()
        .with("cipher_string", report.cipher_string())
        .with("security_level", report.security_level())
        .with("rejected", report.is_rejected())
        .with("fully_provided", report.is_fully_provided())
        .with("tokens", tokens)
        .with(
            "ciphers",
            report.ciphers().iter().map(cipher_json).collect::<Vec<_>>(),
        )
}
