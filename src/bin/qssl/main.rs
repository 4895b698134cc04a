//! `qssl`: the qsslsocket crate at work from a shell.
//!
//! Built only on the crate's public API (plus clap, and openssl to mint certificates). Every
//! subcommand takes `--json` for scripts. Exit status: 0 on success, 1 when the operation failed
//! (connection refused, handshake failed, cipher string not fully provided), 2 for bad input
//! (wrong arguments, unreadable files, bad passphrases, unknown names).

/// `println!` that ends the process quietly when stdout is closed.
macro_rules! outln {
    () => { $crate::output::write_line(format_args!("")) };
    ($($arg:tt)*) => { $crate::output::write_line(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics.
macro_rules! errln {
    ($($arg:tt)*) => { $crate::output::write_err(format_args!($($arg)*), true) };
}

/// `eprint!` that never panics.
macro_rules! err {
    ($($arg:tt)*) => { $crate::output::write_err(format_args!($($arg)*), false) };
}

mod ciphers;
mod connect;
mod demo;
mod files;
mod mint;
mod options;
mod output;
mod probe;
mod rawhello;
mod serve;
mod session;
mod show;
mod starttls;
mod trace;
mod util;

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use qsslsocket::{SslProtocol, SslSocket};

use output::Json;

/// qssl: a TLS client, server and inspector that speaks Qt's QSslSocket vocabulary, on the
/// system OpenSSL.
#[derive(Parser, Debug)]
#[command(
    name = "qssl",
    about,
    disable_version_flag = true,
    arg_required_else_help = true,
    after_help = "Exit status: 0 success, 1 the operation failed, 2 bad input."
)]
struct Cli {
    /// Print the crate's and OpenSSL's versions (build and run time) and exit.
    #[arg(short = 'V', long)]
    version: bool,

    /// Machine-readable output: one JSON document on stdout (`serve`: one per line).
    #[arg(long, global = true)]
    json: bool,

    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// A self-contained tour: a local SslServer with a certificate minted now, a client that
    /// does not trust it (sslErrors), then one that ignores exactly that error, and an echo.
    Demo(demo::DemoArgs),
    /// Connect to HOST:PORT and show the handshake, the session and the peer's chain.
    Connect(connect::ConnectArgs),
    /// A TLS echo (or fixed-reply) server that reports each connection's handshake.
    Serve(serve::ServeArgs),
    /// The supported ciphers, or what this OpenSSL makes of a cipher string.
    Ciphers(ciphers::CiphersArgs),
    /// Which protocol versions and ciphers HOST:PORT accepts, and which this build can speak.
    Probe(probe::ProbeArgs),
}

/// Why a subcommand stopped: an exit status and a message for stderr.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: String,
    /// Details for `--json` (an object), when the command got far enough to have some.
    pub(crate) json: Option<Json>,
}

impl Failure {
    /// Bad input: exit status 2.
    pub(crate) fn input(message: impl Into<String>) -> Failure {
        Failure {
            code: 2,
            message: message.into(),
            json: None,
        }
    }

    /// The operation failed: exit status 1.
    pub(crate) fn failed(message: impl Into<String>) -> Failure {
        Failure {
            code: 1,
            message: message.into(),
            json: None,
        }
    }

    pub(crate) fn with_json(mut self, json: Json) -> Failure {
        self.json = Some(json);
        self
    }
}

impl From<String> for Failure {
    fn from(message: String) -> Failure {
        Failure::input(message)
    }
}

/// What a subcommand returns on success: the JSON document to print with `--json` (None when
/// it printed its own).
pub(crate) type Outcome = Result<Option<Json>, Failure>;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.version {
        print_version(cli.json);
        return ExitCode::SUCCESS;
    }
    let json = cli.json;
    let result = match cli.command {
        Some(Command::Demo(args)) => demo::run(&args, json),
        Some(Command::Connect(args)) => connect::run(&args, json),
        Some(Command::Serve(args)) => serve::run(&args, json),
        Some(Command::Ciphers(args)) => ciphers::run(&args, json),
        Some(Command::Probe(args)) => probe::run(&args, json),
        None => Err(Failure::input(
            "no subcommand given; see `qssl --help` (demo, connect, serve, ciphers, probe)",
        )),
    };
    match result {
        Ok(document) => {
            if let (true, Some(document)) = (json, document) {
                outln!("{}", document.pretty());
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            errln!("qssl: {}", failure.message);
            if json {
                let document = failure
                    .json
                    .unwrap_or_else(Json::obj)
                    .with("ok", false)
                    .with("failure", failure.message.as_str())
                    .with("exit_status", i64::from(failure.code));
                outln!("{}", document.pretty());
            }
            ExitCode::from(failure.code)
        }
    }
}

fn print_version(json: bool) {
    let crate_version = env!("CARGO_PKG_VERSION");
    let build = SslSocket::ssl_library_build_version_string();
    let build_number = SslSocket::ssl_library_build_version_number();
    let runtime = SslSocket::ssl_library_version_string();
    let runtime_number = SslSocket::ssl_library_version_number();
    let protocols: Vec<(SslProtocol, bool)> = options::VERSIONS
        .iter()
        .map(|&p| (p, SslSocket::is_protocol_supported(p)))
        .collect();
    if json {
        let protocols: Vec<Json> = protocols
            .iter()
            .map(|(p, ok)| {
                Json::obj()
                    .with("protocol", p.name())
                    .with("label", options::protocol_label(*p))
                    .with("supported", *ok)
            })
            .collect();
        let document = Json::obj()
            .with("qssl", crate_version)
            .with("qsslsocket", crate_version)
            .with(
                "openssl_build",
                Json::obj()
                    .with("version", build)
                    .with("number", format!("{build_number:#010x}")),
            )
            .with(
                "openssl_runtime",
                Json::obj()
                    .with("version", runtime)
                    .with("number", format!("{runtime_number:#010x}")),
            )
            .with("protocols", protocols);
        outln!("{}", document.pretty());
        return;
    }
    outln!("qssl {crate_version} (qsslsocket {crate_version})");
    outln!("OpenSSL (build):    {build} ({build_number:#010x})");
    outln!("OpenSSL (run time): {runtime} ({runtime_number:#010x})");
    let list: Vec<String> = protocols
        .iter()
        .map(|(p, ok)| {
            format!(
                "{} {}",
                options::protocol_label(*p),
                if *ok { "yes" } else { "no" }
            )
        })
        .collect();
    outln!("Handshakes this build can do: {}", list.join(", "));
}
