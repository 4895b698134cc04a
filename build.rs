//! Reads what `openssl-sys` learnt about the linked OpenSSL (no header parsing) and turns it into
//! cfgs, so the crate can say at compile time what the library can and cannot do.
//!
//! `openssl-sys` has `links = "openssl"` and prints `cargo:version_number` / `cargo:conf`, which
//! reach a crate that depends on it directly as `DEP_OPENSSL_VERSION_NUMBER` / `DEP_OPENSSL_CONF`.

use std::env;

/// The oldest OpenSSL the crate supports: 1.1.1 brought TLS 1.3, `SSL_CTX_set_ciphersuites` and
/// the min/max protocol version API that protocol ranges are built on (vendor-notes/README.md).
const FLOOR: u64 = 0x1010_1000;

/// `cfg(NAME)` when the linked OpenSSL is at least this version. Only what src/ tests: at the
/// floor every 1.1.1 feature is there, so there is no `ossl111`.
const VERSION_CFGS: [(&str, u64); 1] = [("ossl300", 0x3000_0000)];

/// The `DEP_OPENSSL_CONF` flags that become `cfg(osslconf = "FLAG")`: only what src/ tests.
const CONF_FLAGS: [&str; 2] = ["OPENSSL_NO_SSL3_METHOD", "OPENSSL_NO_PSK"];

fn main() {
    for var in [
        "DEP_OPENSSL_VERSION_NUMBER",
        "DEP_OPENSSL_CONF",
        "DEP_OPENSSL_LIBRESSL_VERSION_NUMBER",
    ] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    for (cfg, _) in VERSION_CFGS {
        println!("cargo::rustc-check-cfg=cfg({cfg})");
    }
    let values: Vec<String> = CONF_FLAGS.iter().map(|f| format!("{f:?}")).collect();
    println!(
        "cargo::rustc-check-cfg=cfg(osslconf, values({}))",
        values.join(", ")
    );

    if env::var_os("DEP_OPENSSL_LIBRESSL_VERSION_NUMBER").is_some() {
        fail(
            "LibreSSL is not supported: qsslsocket mirrors Qt's OpenSSL backend (see vendor-notes/README.md)",
        );
    }
    let raw = env::var("DEP_OPENSSL_VERSION_NUMBER")
        .unwrap_or_else(|_| fail("openssl-sys did not report DEP_OPENSSL_VERSION_NUMBER"));
    let version = u64::from_str_radix(raw.trim(), 16)
        .unwrap_or_else(|_| fail(&format!("unreadable DEP_OPENSSL_VERSION_NUMBER {raw:?}")));
    if version < FLOOR {
        fail(&format!(
            "OpenSSL {version:#x} is older than the supported floor 1.1.1 (needs TLS 1.3 and the \
             min/max protocol API); see vendor-notes/README.md"
        ));
    }
    for (cfg, min) in VERSION_CFGS {
        if version >= min {
            println!("cargo:rustc-cfg={cfg}");
        }
    }
    let conf = env::var("DEP_OPENSSL_CONF").unwrap_or_default();
    for flag in conf.split(',').map(str::trim) {
        if CONF_FLAGS.contains(&flag) {
            println!("cargo:rustc-cfg=osslconf=\"{flag}\"");
        }
    }
    println!("cargo:rustc-env=QSSL_OPENSSL_BUILD_VERSION_NUMBER={version}");
}

fn fail(message: &str) -> ! {
    eprintln!("error: qsslsocket: {message}");
    std::process::exit(1);
}
