//! `qssl`: the qsslsocket crate at work from a shell.

use clap::Parser;

/// qssl: a TLS client, server and inspector that speaks Qt's QSslSocket vocabulary.
#[derive(Parser, Debug)]
#[command(name = "qssl", version, about)]
struct Cli {}

fn main() {
    let _cli = Cli::parse();
}
