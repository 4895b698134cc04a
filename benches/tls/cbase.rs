//! The C baseline (`c_baseline.c`): libssl driven from C, built at run time with the system C
//! compiler. A second reference for the handshake rows: it shows what the `openssl` crate's own
//! layer (rust-stream, the baseline) costs over the library.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::Tls;

/// Compiles the C baseline into `scratch`; `None` (with a note) if that fails.
pub(crate) fn build(scratch: &Path) -> Option<PathBuf> {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/tls/c_baseline.c");
    let out = scratch.join("c_baseline");
    std::fs::create_dir_all(scratch).ok()?;
    let status = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".to_owned()))
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(&source)
        .args(["-lssl", "-lcrypto", "-lpthread"])
        .status();
    match status {
        Ok(s) if s.success() => Some(out),
        other => {
            eprintln!("note: C baseline not built ({other:?}); resumed handshakes lack a baseline");
            None
        }
    }
}

pub(crate) fn command(binary: &Path, dir: &Path, tls: Tls, seconds: f64, resume: bool) -> Command {
    let mut cmd = Command::new(binary);
    cmd.arg(dir)
        .arg(if tls.v13 { "13" } else { "12" })
        .arg(tls.kind.name())
        .arg(seconds.to_string())
        .arg(if resume { "1" } else { "0" });
    cmd
}
