//! Cipher strings from configuration (`set_ciphers_str`, `SslCipher::report`, `SslCipher::new`):
//! any text resolves without panicking, and resolving is deterministic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use qsslsocket::{SslCipher, SslConfiguration};

fuzz_target!(|input: &[u8]| {
    let Ok(text) = std::str::from_utf8(input) else {
        return;
    };
    let mut config = SslConfiguration::default_configuration();
    config.set_ciphers_str(text);
    let ciphers = config.ciphers();
    let mut again = SslConfiguration::default_configuration();
    again.set_ciphers_str(text);
    assert_eq!(again.ciphers(), ciphers);
    let report = SslCipher::report(text);
    let _ = (
        report.entries(),
        report.security_level(),
        report.is_rejected(),
    );
    let _ = (report.is_fully_provided(), report.cipher_string());
    let _ = SslCipher::new(text);
});
