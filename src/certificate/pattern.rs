//! `QSslCertificate::fromPath`'s file selection: a fixed path, or a wildcard / regular-expression
//! pattern resolved by walking the directory named by the pattern's literal prefix.
//!
//! Qt's rule, followed exactly: take the directory part of the pattern (up to its last `/`); find
//! the first special character (`*`, `?` or `[` in that directory part for a wildcard; any of
//! `$()*+.?[]^{}|` anywhere for a regular expression). If there is one, cut the directory part at
//! it and back to the previous `/`; if there is none and the pattern names a file, that file is
//! the answer. Then walk the remaining prefix recursively, following symbolic links, skipping
//! hidden entries, and keep every file whose path matches the whole (anchored) pattern. An empty
//! prefix walks `.` and matches paths relative to it (without `./`).
//!
//! The walk is bounded: every directory is entered at most once (by device and inode), so
//! symbolic-link loops end.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::PatternSyntax;

/// The files `path` selects under `syntax`, in walk order (directory entries sorted by name,
/// depth first). A pattern that is not a valid regular expression selects nothing.
pub(super) fn matching_files(path: &Path, syntax: PatternSyntax) -> Vec<PathBuf> {
    if syntax == PatternSyntax::FixedString {
        return if path.is_file() {
            vec![path.to_path_buf()]
        } else {
            Vec::new()
        };
    }
    let source = path.to_string_lossy();
    let directory_part = source.rfind('/').map_or(&*source, |slash| &source[..slash]);
    let special = match syntax {
        PatternSyntax::Wildcard => directory_part.find(['*', '?', '[']),
        _ => source.find([
            '$', '(', ')', '*', '+', '.', '?', '[', ']', '^', '{', '}', '|',
        ]),
    };
    let prefix = match special {
        Some(at) => {
            let cut = &directory_part[..at.min(directory_part.len())];
            cut.rfind('/').map_or("", |slash| &cut[..slash])
        }
        None if path.is_file() => return vec![path.to_path_buf()],
        None => directory_part,
    };

    let expression = match syntax {
        PatternSyntax::Wildcard => wildcard_to_regex(&source),
        _ => source.to_string(),
    };
    let Ok(pattern) = Regex::new(&format!(r"\A(?:{expression})\z")) else {
        return Vec::new();
    };
    if prefix.is_empty() && expression.starts_with('/') && syntax == PatternSyntax::Wildcard {
        // An absolute wildcard never matches the relative paths of a walk of ".".
        return Vec::new();
    }

    let mut out = Vec::new();
    walk(prefix, &mut |file, shown| {
        if pattern.is_match(shown) {
            out.push(file.to_path_buf());
        }
    });
    out
}

/// Qt 6's `QRegularExpression::wildcardToRegularExpression(pattern, UnanchoredWildcardConversion)`
/// for file paths: `*` and `?` do not match `/`, `[...]` and `[!...]` are character classes,
/// everything else is literal.
pub(super) fn wildcard_to_regex(pattern: &str) -> String {
    let chars: Vec<char> = pattern.chars().collect();
    let mut rx = String::with_capacity(pattern.len() + pattern.len() / 4);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '*' => rx.push_str("[^/]*"),
            '?' => rx.push_str("[^/]"),
            '[' => {
                rx.push('[');
                if chars.get(i) == Some(&'!') {
                    rx.push('^');
                    i += 1;
                }
                if chars.get(i) == Some(&']') {
                    rx.push_str("\\]");
                    i += 1;
                }
                while i < chars.len() && chars[i] != ']' {
                    if chars[i] == '/' {
                        // A '/' inside a class makes the pattern invalid, as in Qt.
                        return rx;
                    }
                    if matches!(chars[i], '\\' | '[' | '&' | '~') {
                        rx.push('\\');
                    }
                    rx.push(chars[i]);
                    i += 1;
                }
                if i == chars.len() {
                    // An unterminated class: an invalid pattern, as in Qt.
                    return rx;
                }
                rx.push(']');
                i += 1;
            }
            c => {
                let mut buf = [0u8; 4];
                rx.push_str(&regex::escape(c.encode_utf8(&mut buf)));
            }
        }
    }
    rx
}

/// Calls `visit(path, shown)` for every regular file under `root` (`"."` when empty), where
/// `shown` is the path Qt would match: `root/a/b`, or `a/b` for an empty root.
fn walk(root: &str, visit: &mut dyn FnMut(&Path, &str)) {
    let root_path = if root.is_empty() {
        Path::new(".")
    } else {
        Path::new(root)
    };
    let Ok(meta) = fs::metadata(root_path) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let mut visited = HashSet::from([(meta.dev(), meta.ino())]);
    // Pending entries, last to be visited first: directory contents are pushed in reverse name
    // order so that popping gives a sorted, depth-first walk.
    let mut stack: Vec<(PathBuf, String)> = Vec::new();
    push_children(root_path, root, &mut stack);
    while let Some((path, shown)) = stack.pop() {
        let Ok(meta) = fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            if visited.insert((meta.dev(), meta.ino())) {
                push_children(&path, &shown, &mut stack);
            }
        } else if meta.is_file() {
            visit(&path, &shown);
        }
    }
}

fn push_children(dir: &Path, shown: &str, stack: &mut Vec<(PathBuf, String)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut names: Vec<_> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name())
        .collect();
    names.sort();
    for name in names.into_iter().rev() {
        let text = name.to_string_lossy();
        if text.starts_with('.') {
            continue; // hidden entries are skipped, as QDir::Files without QDir::Hidden does
        }
        let child_shown = match shown {
            "" => text.into_owned(),
            s if s.ends_with('/') => format!("{s}{text}"),
            s => format!("{s}/{text}"),
        };
        stack.push((dir.join(&name), child_shown));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(wildcard: &str, path: &str) -> bool {
        Regex::new(&format!(r"\A(?:{})\z", wildcard_to_regex(wildcard)))
            .is_ok_and(|r| r.is_match(path))
    }

    #[test]
    fn wildcards_match_within_one_path_component() {
        assert!(matches("/a/*.pem", "/a/x.pem"));
        assert!(!matches("/a/*.pem", "/a/b/x.pem"));
        assert!(matches("/a/*/*.pem", "/a/b/x.pem"));
        assert!(matches("c?rt.pem", "cert.pem"));
        assert!(!matches("c?rt.pem", "c/rt.pem"));
        assert!(!matches("a.pem", "aXpem"));
        assert!(matches("cert-[sure]*", "cert-ss.pem"));
        assert!(!matches("cert-[not]*", "cert-ss.pem"));
        assert!(matches("x[!a]", "xb"));
        assert!(!matches("x[!a]", "xa"));
        assert!(matches("x[]]", "x]"));
        assert!(matches("(a)+{b}|$^", "(a)+{b}|$^"));
        assert!(!matches("x[a/b]", "xa"));
    }
}
