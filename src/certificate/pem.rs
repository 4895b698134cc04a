//! PEM and DER framing shared by certificates and keys: finding PEM blocks (with their RFC 1421
//! headers), decoding their Base64 bodies, and splitting concatenated DER elements.
//!
//! Nothing here interprets the ASN.1 inside; OpenSSL does that. These helpers only cut bytes, so
//! they never panic on any input.

/// One `-----BEGIN <label>-----` ... `-----END <label>-----` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PemBlock {
    /// The label between `BEGIN ` and the dashes, e.g. `RSA PRIVATE KEY`.
    pub(crate) label: String,
    /// RFC 1421 headers (`Proc-Type`, `DEK-Info`), in order, names as written.
    pub(crate) headers: Vec<(String, String)>,
    /// The decoded Base64 body.
    pub(crate) body: Vec<u8>,
}

impl PemBlock {
    /// The value of header `name` (compared case-insensitively), if present.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

const BEGIN: &[u8] = b"-----BEGIN ";
const DASHES: &[u8] = b"-----";
const BEGIN_CERTIFICATE: &[u8] = b"-----BEGIN CERTIFICATE-----";
const END_CERTIFICATE: &[u8] = b"-----END CERTIFICATE-----";

/// Every well-formed PEM block in `data`, in order; text between blocks is skipped, and a block
/// whose body is not Base64 is dropped.
pub(crate) fn blocks(data: &[u8]) -> Vec<PemBlock> {
    let mut out = Vec::new();
    let mut offset = 0;
    while let Some(begin) = find(data, BEGIN, offset) {
        let label_start = begin + BEGIN.len();
        let Some(label_end) = find(data, DASHES, label_start) else {
            break;
        };
        let label = &data[label_start..label_end];
        offset = label_end + DASHES.len();
        if label.is_empty() || label.iter().any(|&b| !(0x20..0x7f).contains(&b)) {
            continue;
        }
        let mut end_marker = b"-----END ".to_vec();
        end_marker.extend_from_slice(label);
        end_marker.extend_from_slice(DASHES);
        let Some(end) = find(data, &end_marker, offset) else {
            break;
        };
        let (headers, body_text) = split_headers(&data[offset..end]);
        offset = end + end_marker.len();
        if let Some(body) = decode_base64(body_text) {
            let label = String::from_utf8_lossy(label).into_owned();
            out.push(PemBlock {
                label,
                headers,
                body,
            });
        }
    }
    out
}

/// The DER bodies of the `CERTIFICATE` blocks in `data`, found the way Qt's OpenSSL backend
/// finds them: the BEGIN line must end (after optional spaces) in a line feed, the END line too
/// unless it ends the data, and scanning stops at the first block that breaks these rules.
pub(crate) fn certificate_bodies(data: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut offset = 0;
    while let Some(begin) = find(data, BEGIN_CERTIFICATE, offset) {
        let Some(start) = line_feed_after(data, begin + BEGIN_CERTIFICATE.len()) else {
            break;
        };
        let Some(end) = find(data, END_CERTIFICATE, start) else {
            break;
        };
        offset = end + END_CERTIFICATE.len();
        if offset < data.len() {
            match line_feed_after(data, offset) {
                Some(next) => offset = next,
                None => break,
            }
        }
        if let Some(der) = decode_base64(&data[start..end]) {
            out.push(der);
        }
    }
    out
}

/// Splits concatenated DER elements: the byte ranges of each complete top-level element with tag
/// `tag`, stopping at the first byte that does not start one.
pub(crate) fn der_elements(data: &[u8], tag: u8) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((element, tail)) = der_element(rest, tag) {
        out.push(element);
        rest = tail;
    }
    out
}

/// The first DER element of `data` if it has tag `tag` and a definite length that fits, and the
/// bytes after it.
pub(crate) fn der_element(data: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = data.split_first()?;
    if first != tag {
        return None;
    }
    let (&len_byte, rest) = rest.split_first()?;
    let (len, header) = if len_byte < 0x80 {
        (usize::from(len_byte), 2)
    } else {
        let count = usize::from(len_byte & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let len = rest[..count]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        (len, 2 + count)
    };
    let total = header.checked_add(len)?;
    (data.len() >= total).then(|| data.split_at(total))
}

/// The content octets of a DER element (after tag and length).
pub(crate) fn der_contents(element: &[u8]) -> &[u8] {
    match element.get(1) {
        Some(&b) if b < 0x80 => element.get(2..).unwrap_or_default(),
        Some(&b) => element.get(2 + usize::from(b & 0x7f)..).unwrap_or_default(),
        None => &[],
    }
}

/// Lenient Base64 (as PEM bodies are written): ASCII whitespace is skipped, `=` ends the data,
/// any other byte outside the alphabet makes the whole body invalid.
pub(crate) fn decode_base64(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &c in text {
        let value = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'=' => break,
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(value);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

/// Splits an RFC 1421 header section (lines `Name: value` up to an empty line) from the body.
fn split_headers(block: &[u8]) -> (Vec<(String, String)>, &[u8]) {
    let block = skip_line_end(block);
    let first_line = block.split(|&b| b == b'\n').next().unwrap_or_default();
    if !first_line.contains(&b':') {
        return (Vec::new(), block);
    }
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut rest = block;
    while !rest.is_empty() {
        let line_len = rest
            .iter()
            .position(|&b| b == b'\n')
            .map_or(rest.len(), |p| p + 1);
        let (line, tail) = rest.split_at(line_len);
        rest = tail;
        let text = String::from_utf8_lossy(line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.trim().is_empty() {
            break;
        }
        if text.starts_with([' ', '\t']) {
            // A continuation line (RFC 1421 folding) belongs to the previous header.
            if let Some((_, value)) = headers.last_mut() {
                value.push_str(text.trim());
            }
            continue;
        }
        match text.split_once(':') {
            Some((name, value)) => headers.push((name.trim().to_owned(), value.trim().to_owned())),
            // Not a header after all: the body starts here.
            None => return (headers, &block[block.len() - rest.len() - line.len()..]),
        }
    }
    (headers, rest)
}

fn skip_line_end(data: &[u8]) -> &[u8] {
    let data = data.strip_prefix(b"\r").unwrap_or(data);
    data.strip_prefix(b"\n").unwrap_or(data)
}

/// After optional spaces at `offset`, a `\n` or `\r\n`: the offset just past it.
fn line_feed_after(data: &[u8], mut offset: usize) -> Option<usize> {
    while data.get(offset) == Some(&b' ') {
        offset += 1;
    }
    match data.get(offset..) {
        Some([b'\n', ..]) => Some(offset + 1),
        Some([b'\r', b'\n', ..]) => Some(offset + 2),
        _ => None,
    }
}

/// The position of `needle` in `haystack` at or after `from`.
pub(crate) fn find(haystack: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    let (&first, _) = needle.split_first()?;
    let mut at = from;
    while at + needle.len() <= haystack.len() {
        let skip = haystack[at..].iter().position(|&b| b == first)?;
        at += skip;
        if haystack.get(at..at + needle.len()) == Some(needle) {
            return Some(at);
        }
        at += 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_is_lenient_about_whitespace_only() {
        assert_eq!(
            decode_base64(b"aGVs\nbG8=\n").as_deref(),
            Some(&b"hello"[..])
        );
        assert_eq!(decode_base64(b"aGVsbG8").as_deref(), Some(&b"hello"[..]));
        assert_eq!(decode_base64(b"aGV*bG8="), None);
        assert_eq!(decode_base64(b"").as_deref(), Some(&b""[..]));
    }

    #[test]
    fn blocks_with_headers_and_garbage_between() {
        let text = b"junk\n-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
            DEK-Info: AES-128-CBC,00FF\n\naGVsbG8=\n-----END RSA PRIVATE KEY-----\nmore junk\n\
            -----BEGIN PUBLIC KEY-----\nd29ybGQ=\n-----END PUBLIC KEY-----\n";
        let blocks = blocks(text);
        assert_eq!(blocks.len(), 2);
        assert_eq!(blocks[0].label, "RSA PRIVATE KEY");
        assert_eq!(blocks[0].header("proc-type"), Some("4,ENCRYPTED"));
        assert_eq!(blocks[0].header("DEK-Info"), Some("AES-128-CBC,00FF"));
        assert_eq!(blocks[0].body, b"hello");
        assert_eq!(blocks[1].label, "PUBLIC KEY");
        assert!(blocks[1].headers.is_empty());
        assert_eq!(blocks[1].body, b"world");
    }

    #[test]
    fn truncated_blocks_are_ignored() {
        assert!(blocks(b"-----BEGIN PRIVATE KEY-----\naGVsbG8=\n").is_empty());
        assert!(blocks(b"-----BEGIN ").is_empty());
        assert!(certificate_bodies(b"-----BEGIN CERTIFICATE-----").is_empty());
        assert!(certificate_bodies(b"-----BEGIN CERTIFICATE-----\naGVsbG8=\n").is_empty());
    }

    #[test]
    fn certificate_framing_follows_qt() {
        let ok = b"-----BEGIN CERTIFICATE-----  \r\naGVsbG8=\n-----END CERTIFICATE-----";
        assert_eq!(certificate_bodies(ok), vec![b"hello".to_vec()]);
        let no_newline_after_begin =
            b"-----BEGIN CERTIFICATE-----aGVsbG8=\n-----END CERTIFICATE-----\n";
        assert!(certificate_bodies(no_newline_after_begin).is_empty());
    }

    #[test]
    fn der_splitting() {
        let data = [0x30, 0x02, 1, 2, 0x30, 0x81, 0x01, 9, 0x04, 0x00];
        let parts = der_elements(&data, 0x30);
        assert_eq!(parts, vec![&data[0..4], &data[4..8]]);
        assert_eq!(der_contents(parts[1]), &[9]);
        assert!(der_element(&[0x30, 0x05, 1], 0x30).is_none());
        assert!(der_element(&[0x30, 0x80, 0, 0], 0x30).is_none());
        assert!(der_element(&[0x30, 0x85, 1, 1, 1, 1, 1], 0x30).is_none());
    }
}
