//! `MemPipe`: the in-memory transport OpenSSL reads ciphertext from and writes ciphertext to
//! (Qt's pair of memory BIOs), as a `Read + Write` for `openssl::ssl::SslStream`.

use std::io::{self, Read, Write};

use crate::buffer::ByteQueue;

/// Ciphertext in (from the peer) and out (to the peer). An empty input reads as `WouldBlock`
/// (OpenSSL's `WANT_READ`) until the transport's end of stream is recorded.
#[derive(Debug, Default)]
pub(crate) struct MemPipe {
    pub(crate) incoming: ByteQueue,
    pub(crate) outgoing: ByteQueue,
    pub(crate) incoming_eof: bool,
}

impl Read for MemPipe {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.incoming.is_empty() {
            if self.incoming_eof {
                return Ok(0);
            }
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(self.incoming.read_into(buf))
    }
}

impl Write for MemPipe {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.outgoing.push(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
