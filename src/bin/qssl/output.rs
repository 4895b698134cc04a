//! Output for people and for scripts: a small JSON value (the binary has no serde), stdout and
//! stderr writers that never panic, and the event log that signal slots write to. The shapes of
//! certificates, ciphers and errors are in `show.rs`.

use std::fmt::{self, Write as _};
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// A JSON value. Objects keep insertion order.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// An empty object.
    pub(crate) fn obj() -> Json {
        Json::Obj(Vec::new())
    }

    /// This object with `key` set to `value` (replacing an earlier value).
    pub(crate) fn with(mut self, key: &str, value: impl Into<Json>) -> Json {
        self.set(key, value);
        self
    }

    /// Sets `key` on an object (no effect on other values).
    pub(crate) fn set(&mut self, key: &str, value: impl Into<Json>) {
        if let Json::Obj(fields) = self {
            let value = value.into();
            match fields.iter_mut().find(|(k, _)| k == key) {
                Some(field) => field.1 = value,
                None => fields.push((key.to_owned(), value)),
            }
        }
    }

    /// One line, no spaces (for streams of events).
    pub(crate) fn compact(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, None, 0);
        s
    }

    /// Indented by two spaces per level.
    pub(crate) fn pretty(&self) -> String {
        let mut s = String::new();
        self.write(&mut s, Some(2), 0);
        s
    }

    fn write(&self, out: &mut String, indent: Option<usize>, level: usize) {
        let newline = |out: &mut String, level: usize| {
            if let Some(n) = indent {
                out.push('\n');
                out.push_str(&" ".repeat(n * level));
            }
        };
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(i) => {
                let _ = write!(out, "{i}");
            }
            Json::Num(x) if x.is_finite() => {
                let _ = write!(out, "{x}");
            }
            Json::Num(_) => out.push_str("null"),
            Json::Str(s) => write_string(out, s),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    item.write(out, indent, level + 1);
                }
                newline(out, level);
                out.push(']');
            }
            Json::Obj(fields) if fields.is_empty() => out.push_str("{}"),
            Json::Obj(fields) => {
                out.push('{');
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    newline(out, level + 1);
                    write_string(out, key);
                    out.push(':');
                    if indent.is_some() {
                        out.push(' ');
                    }
                    value.write(out, indent, level + 1);
                }
                newline(out, level);
                out.push('}');
            }
        }
    }
}

fn write_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

impl fmt::Display for Json {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.compact())
    }
}

macro_rules! json_from_int {
    ($($t:ty),*) => {$(
        impl From<$t> for Json {
            fn from(v: $t) -> Json {
                i64::try_from(v).map_or(Json::Num(v as f64), Json::Int)
            }
        }
    )*};
}
json_from_int!(i32, i64, u16, u32, u64, usize);

impl From<bool> for Json {
    fn from(v: bool) -> Json {
        Json::Bool(v)
    }
}
impl From<f64> for Json {
    fn from(v: f64) -> Json {
        Json::Num(v)
    }
}
impl From<&str> for Json {
    fn from(v: &str) -> Json {
        Json::Str(v.to_owned())
    }
}
impl From<String> for Json {
    fn from(v: String) -> Json {
        Json::Str(v)
    }
}
impl From<Vec<Json>> for Json {
    fn from(v: Vec<Json>) -> Json {
        Json::Arr(v)
    }
}
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(v: Option<T>) -> Json {
        v.map_or(Json::Null, Into::into)
    }
}

/// Writes a line to stdout. When stdout is gone (`qssl ciphers | head`), the process ends
/// quietly instead of panicking as `outln!` would.
pub(crate) fn write_line(args: fmt::Arguments<'_>) {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_fmt(args)
        .and_then(|()| stdout.write_all(b"\n"))
        .is_err()
    {
        std::process::exit(0);
    }
}

/// Like [`write_line`], without the newline (for a line rewritten in place on stderr).
pub(crate) fn write_err(args: fmt::Arguments<'_>, newline: bool) {
    use std::io::Write;
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_fmt(args);
    if newline {
        let _ = stderr.write_all(b"\n");
    }
}

// ----- the event log -------------------------------------------------------------------------

/// Where slots report signals: printed at once (text) or collected (JSON). Cloned into slots.
#[derive(Clone, Debug)]
pub(crate) struct Events {
    inner: Arc<Mutex<EventsInner>>,
}

#[derive(Debug)]
struct EventsInner {
    json: bool,
    start: Instant,
    collected: Vec<Json>,
}

impl Events {
    pub(crate) fn new(json: bool) -> Events {
        Events {
            inner: Arc::new(Mutex::new(EventsInner {
                json,
                start: Instant::now(),
                collected: Vec::new(),
            })),
        }
    }

    /// Records that `who` saw `signal` with `detail` (text; may be empty).
    pub(crate) fn signal(&self, who: &str, signal: &str, detail: impl Into<String>) {
        let detail = detail.into();
        let mut inner = crate::util::lock(&self.inner);
        let ms = inner.start.elapsed().as_secs_f64() * 1000.0;
        if inner.json {
            let mut event = Json::obj()
                .with("t_ms", (ms * 10.0).round() / 10.0)
                .with("side", who)
                .with("signal", signal);
            if !detail.is_empty() {
                event.set("detail", detail);
            }
            inner.collected.push(event);
        } else if detail.is_empty() {
            outln!("{ms:8.1} ms  {who:7} {signal}");
        } else {
            outln!("{ms:8.1} ms  {who:7} {signal}({detail})");
        }
    }

    /// Prints a line in text mode (nothing in JSON mode).
    pub(crate) fn note(&self, line: impl AsRef<str>) {
        if !self.is_json() {
            outln!("{}", line.as_ref());
        }
    }

    pub(crate) fn is_json(&self) -> bool {
        crate::util::lock(&self.inner).json
    }

    /// Everything collected so far (JSON mode), emptying the log.
    pub(crate) fn take(&self) -> Vec<Json> {
        std::mem::take(&mut crate::util::lock(&self.inner).collected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_escapes_and_nests() {
        let j = Json::obj()
            .with("a", "x\"y\\\n\u{1}")
            .with("b", vec![Json::from(1i64), Json::Null, Json::from(true)])
            .with("c", Json::obj());
        assert_eq!(
            j.compact(),
            r#"{"a":"x\"y\\\n\u0001","b":[1,null,true],"c":{}}"#
        );
        assert!(j.pretty().contains("\n  \"b\": [\n    1,"));
    }
}
