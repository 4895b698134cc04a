//! A hand-made ClientHello, for `probe` to learn whether a peer accepts a protocol version that
//! the linked OpenSSL cannot speak (SSL 3.0 on Debian 12): send one ClientHello for that
//! version over plain TCP and read the first record that comes back. No handshake follows.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// RSA-key-exchange suites every SSL 3.0 / TLS 1.0 server has, plus the renegotiation SCSV.
const SUITES: [(u16, &str); 8] = [
    (0x0035, "AES256-SHA"),
    (0x002f, "AES128-SHA"),
    (0x0039, "DHE-RSA-AES256-SHA"),
    (0x0033, "DHE-RSA-AES128-SHA"),
    (0x000a, "DES-CBC3-SHA"),
    (0x0005, "RC4-SHA"),
    (0x0004, "RC4-MD5"),
    (0x00ff, "TLS_EMPTY_RENEGOTIATION_INFO_SCSV"),
];

/// What the peer answered.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A ServerHello for `version` (major, minor) choosing `cipher`.
    ServerHello { version: (u8, u8), cipher: String },
    /// A TLS alert.
    Alert { description: u8 },
    /// The peer closed the connection without an answer.
    Closed,
    /// Something this probe does not understand.
    Unexpected(String),
}

impl Answer {
    /// Whether the peer accepted `version`.
    pub(crate) fn accepts(&self, version: (u8, u8)) -> bool {
        matches!(self, Answer::ServerHello { version: v, .. } if *v == version)
    }

    pub(crate) fn describe(&self) -> String {
        match self {
            Answer::ServerHello { version, cipher } => format!(
                "ServerHello {} with {cipher} (to a hand-made ClientHello)",
                version_name(*version)
            ),
            Answer::Alert { description } => {
                format!("alert {} ({description})", alert_name(*description))
            }
            Answer::Closed => "the peer closed the connection without answering".to_owned(),
            Answer::Unexpected(what) => format!("unexpected answer: {what}"),
        }
    }
}

pub(crate) fn version_name(version: (u8, u8)) -> String {
    match version {
        (3, 0) => "SSL 3.0".to_owned(),
        (3, minor) => format!("TLS 1.{}", minor - 1),
        (major, minor) => format!("version {major}.{minor}"),
    }
}

fn alert_name(description: u8) -> &'static str {
    match description {
        0 => "close notify",
        10 => "unexpected message",
        20 => "bad record mac",
        40 => "handshake failure",
        47 => "illegal parameter",
        50 => "decode error",
        70 => "protocol version",
        71 => "insufficient security",
        80 => "internal error",
        86 => "inappropriate fallback",
        _ => "other",
    }
}

/// The ClientHello record for `version`, without extensions.
fn client_hello(version: (u8, u8)) -> Vec<u8> {
    let mut random = [0u8; 32];
    let mut seed = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0x9e37_79b9, |d| d.as_nanos() as u64)
        | 1;
    for byte in &mut random {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        *byte = seed as u8;
    }
    let mut body = vec![version.0, version.1];
    body.extend_from_slice(&random);
    body.push(0); // no session id
    body.extend_from_slice(&((SUITES.len() * 2) as u16).to_be_bytes());
    for (suite, _) in SUITES {
        body.extend_from_slice(&suite.to_be_bytes());
    }
    body.extend_from_slice(&[1, 0]); // null compression only
    let mut handshake = vec![1];
    handshake.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    handshake.extend_from_slice(&body);
    let mut record = vec![0x16, version.0, version.1];
    record.extend_from_slice(&(handshake.len() as u16).to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

/// Connects to the first address that answers, sends the ClientHello and reads the answer.
pub(crate) fn probe(
    addresses: &[SocketAddr],
    version: (u8, u8),
    timeout: Duration,
) -> io::Result<Answer> {
    let mut last = io::Error::new(io::ErrorKind::NotFound, "no address to connect to");
    for address in addresses {
        match TcpStream::connect_timeout(address, timeout) {
            Ok(stream) => return exchange(stream, version, timeout),
            Err(e) => last = e,
        }
    }
    Err(last)
}

fn exchange(mut stream: TcpStream, version: (u8, u8), timeout: Duration) -> io::Result<Answer> {
    stream.set_read_timeout(Some(timeout))?;
    stream.set_write_timeout(Some(timeout))?;
    stream.write_all(&client_hello(version))?;
    let mut header = [0u8; 5];
    if let Err(e) = stream.read_exact(&mut header) {
        return match e.kind() {
            io::ErrorKind::UnexpectedEof | io::ErrorKind::ConnectionReset => Ok(Answer::Closed),
            _ => Err(e),
        };
    }
    let length = usize::from(u16::from_be_bytes([header[3], header[4]]));
    let mut body = vec![0u8; length.min(1 << 14)];
    if stream.read_exact(&mut body).is_err() {
        return Ok(Answer::Unexpected(format!(
            "a truncated record of type {}",
            header[0]
        )));
    }
    Ok(parse(header[0], &body))
}

fn parse(content_type: u8, body: &[u8]) -> Answer {
    match content_type {
        0x15 if body.len() >= 2 => Answer::Alert {
            description: body[1],
        },
        0x16 if body.first() == Some(&2) && body.len() > 4 + 2 + 32 => {
            let version = (body[4], body[5]);
            let sid = usize::from(body[38]);
            let at = 39 + sid;
            let Some(cipher) = body.get(at..at + 2) else {
                return Answer::Unexpected("a ServerHello without a cipher".to_owned());
            };
            let cipher = u16::from_be_bytes([cipher[0], cipher[1]]);
            let name = SUITES
                .iter()
                .find(|(id, _)| *id == cipher)
                .map_or_else(|| format!("suite {cipher:#06x}"), |(_, n)| (*n).to_owned());
            Answer::ServerHello {
                version,
                cipher: name,
            }
        }
        other => Answer::Unexpected(format!("a record of type {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hello_is_well_formed() {
        let r = client_hello((3, 0));
        assert_eq!(&r[..3], &[0x16, 3, 0]);
        assert_eq!(usize::from(u16::from_be_bytes([r[3], r[4]])), r.len() - 5);
        assert_eq!(r[5], 1);
        assert_eq!(&r[9..11], &[3, 0]);
    }

    #[test]
    fn answers_parse() {
        let mut hello = vec![2, 0, 0, 0, 3, 0];
        hello.extend_from_slice(&[0; 32]);
        hello.extend_from_slice(&[0, 0x00, 0x2f, 0]);
        assert_eq!(
            parse(0x16, &hello),
            Answer::ServerHello {
                version: (3, 0),
                cipher: "AES128-SHA".into()
            }
        );
        assert!(parse(0x16, &hello).accepts((3, 0)));
        assert_eq!(parse(0x15, &[2, 70]), Answer::Alert { description: 70 });
        assert!(
            parse(0x15, &[2, 70])
                .describe()
                .contains("protocol version")
        );
        assert!(matches!(parse(0x17, &[]), Answer::Unexpected(_)));
    }
}
