//! The crate's enums against Qt's own (PyQt6 6.11 = Qt 6.11, via `tests/peers/qt_enums.py`):
//! every variant that Qt has carries Qt's name and value, `from_i32` and `FromStr` invert
//! `as i32` and `Display`, and the variants Qt does not have are the known crate additions.

mod common;

use std::collections::BTreeMap;
use std::str::FromStr;

use common::external::ask_qt;
use qsslsocket::*;

type QtEnums = BTreeMap<String, BTreeMap<String, i32>>;

fn qt_enums() -> QtEnums {
    let answer = ask_qt("qt_enums.py", &[], b"").remove(0);
    serde_json::from_value(answer).expect("{enum: {name: value}}")
}

/// Checks one enum; returns its variants that Qt does not have.
fn check<E>(qt: &QtEnums, name: &str, all: &[E], value: fn(E) -> i32) -> Vec<String>
where
    E: Copy + std::fmt::Display + FromStr + PartialEq + std::fmt::Debug,
    <E as FromStr>::Err: std::fmt::Debug,
{
    let qt = qt.get(name).unwrap_or_else(|| panic!("Qt has no {name}"));
    let mut extra = Vec::new();
    for &v in all {
        let text = v.to_string();
        assert_eq!(E::from_str(&text).expect("FromStr"), v, "{name}::{text}");
        match qt.get(&text) {
            Some(&q) => assert_eq!(value(v), q, "{name}::{text}: Qt's value is {q}"),
            None => extra.push(format!("{name}::{text}")),
        }
    }
    assert!(E::from_str("NoSuchVariant").is_err());
    extra
}

#[test]
fn names_and_values_are_qts() {
    let qt = qt_enums();
    let mut extra = Vec::new();
    macro_rules! checks {
        ($($e:ident),+) => {$(
            extra.extend(check(&qt, stringify!($e), $e::ALL, |v| v as i32));
            for &v in $e::ALL {
                assert_eq!($e::from_i32(v as i32), Some(v));
            }
        )+};
    }
    checks!(
        SslErrorKind,
        SslMode,
        PeerVerifyMode,
        SslProtocol,
        SocketState,
        SocketError,
        SocketOption,
        PauseMode,
        EncodingFormat,
        KeyAlgorithm,
        KeyType,
        PatternSyntax,
        SubjectInfo,
        AlternativeNameEntryType,
        DigestAlgorithm,
        SslOption
    );
    assert_eq!(SslProtocol::from_i32(1000), None);
    assert_eq!(
        qt["PatternSyntax"]["RegularExpression"],
        PatternSyntax::RegularExpression as i32
    );
    assert_eq!(
        extra,
        [
            // Qt 4.8/5 protocols that Qt 6 dropped (the API is Qt 4.8's plus Qt 5/6's), with
            // values that do not collide with Qt 6's.
            "SslProtocol::SslV3",
            "SslProtocol::SslV2",
            "SslProtocol::TlsV1SslV3",
            // A zero flag: PyQt6 lists no member for it.
            "PauseMode::PauseNever",
            // Qt 4.8/5's name for the regular-expression syntax; Qt 6's `RegularExpression`
            // is an associated constant with the same value (checked above).
            "PatternSyntax::RegExp",
            // The crate's opt-in to Qt's host-name matcher (README: differences from Qt).
            "SslOption::QtCompatibleHostNameMatching",
        ],
        "variants Qt does not have"
    );
}
