//! The shell's internal promises, which only the benchmark measured before: an established,
//! idle connection holds no buffer of its own, whichever call it made last; a slow reader's
//! ciphertext queue stays bounded; and blocking calls that skip a recv(2) expected to find
//! nothing still see what arrived.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::os::fd::IntoRawFd;
use std::sync::mpsc;

use crate::{
    EncodingFormat, KeyAlgorithm, KeyType, OpenMode, PeerVerifyMode, SocketState, SslCertificate,
    SslKey, SslSocket,
};

impl SslSocket {
    /// Bytes held by the socket's queues and the engine's.
    fn held_buffer_bytes(&self) -> usize {
        self.read_buf.capacity()
            + self.write_buf.capacity()
            + self.plain_out.capacity()
            + self.engine.as_ref().map_or(0, |e| e.queue_capacity())
    }
}

const MS: i32 = 10_000;

/// A client and a server socket, both encrypted over loopback (a self-signed server
/// certificate, no verification). `serve` runs on the server's thread; the client is returned
/// with that thread.
fn encrypted_pair(
    serve: impl FnOnce(SslSocket) + Send + 'static,
) -> (SslSocket, std::thread::JoinHandle<()>) {
    let (x509, key) = crate::engine::probe::self_signed("localhost").expect("certificate");
    let certificate = SslCertificate::from_x509(x509);
    let key = SslKey::new(
        &key.private_key_to_pem_pkcs8().unwrap(),
        KeyAlgorithm::Ec,
        EncodingFormat::Pem,
        KeyType::PrivateKey,
        b"",
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (tcp, _) = listener.accept().unwrap();
        let mut s = SslSocket::new();
        s.set_local_certificate(certificate);
        s.set_private_key(key);
        assert!(s.set_socket_descriptor(
            tcp.into_raw_fd(),
            SocketState::ConnectedState,
            OpenMode::ReadWrite
        ));
        s.start_server_encryption();
        assert!(s.wait_for_encrypted(MS), "{}", s.error_string());
        serve(s);
    });
    let mut c = SslSocket::new();
    c.set_peer_verify_mode(PeerVerifyMode::VerifyNone);
    c.connect_to_host_encrypted("127.0.0.1", port);
    assert!(c.wait_for_encrypted(MS), "{}", c.error_string());
    (c, server)
}

#[test]
fn idle_blocking_ends_hold_no_buffers() {
    let (held_tx, held_rx) = mpsc::channel();
    let (mut c, server) = encrypted_pair(move |mut s| {
        let mut byte = [0u8; 1];
        s.read_exact(&mut byte).unwrap();
        // Last call: a write.
        s.write_all(&byte).unwrap();
        held_tx.send(s.held_buffer_bytes()).unwrap();
        let _ = s.read(&mut byte); // until the client's close
    });
    c.write_all(&[7]).unwrap();
    let mut byte = [0u8; 1];
    // Last call: a read that got its byte.
    c.read_exact(&mut byte).unwrap();
    assert_eq!(byte, [7]);
    assert_eq!(c.held_buffer_bytes(), 0, "client end after its last read");
    let server_held = held_rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    assert_eq!(server_held, 0, "server end after its last write");
    c.disconnect_from_host();
    server.join().unwrap();
}

/// A reader slower than its peer: the direct read path takes one chunk from the kernel when the
/// engine runs dry, not everything the kernel holds, so the ciphertext queue stays bounded
/// (reading until EAGAIN let it grow to megabytes of fresh memory, a fivefold slowdown of bulk
/// transfers).
#[test]
fn a_slow_reader_buffers_one_chunk_of_ciphertext() {
    const TOTAL: usize = 4 * 1024 * 1024;
    let (mut c, writer) = encrypted_pair(move |mut s| {
        let chunk = vec![0x5a; 64 * 1024];
        for _ in 0..TOTAL / chunk.len() {
            s.write_all(&chunk).unwrap();
        }
        Write::flush(&mut s).unwrap();
        let mut byte = [0u8; 1];
        let _ = Read::read(&mut s, &mut byte); // until the reader's close
    });
    let mut got = 0;
    let mut most_held = 0;
    let mut small = [0u8; 16];
    while got < TOTAL {
        let n = Read::read(&mut c, &mut small).unwrap();
        assert!(n > 0, "early end of stream after {got} bytes");
        assert!(small[..n].iter().all(|b| *b == 0x5a));
        got += n;
        most_held = most_held.max(c.held_buffer_bytes());
    }
    // One chunk, doubled at most once to make room behind a partial record.
    assert!(
        most_held <= 2 * super::pump::READ_CHUNK,
        "the reader held {most_held} bytes of buffers"
    );
    c.disconnect_from_host();
    writer.join().unwrap();
}

/// After a read that emptied the kernel, blocking calls skip the recv(2) they expect to find
/// nothing and poll(2) first. `wait_for_ready_read(0)` must still see data that arrived since:
/// past its deadline it polls once without waiting, and its last drive reads.
#[test]
fn a_zero_timeout_wait_sees_data_that_arrived_after_a_draining_read() {
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let (mut c, server) = encrypted_pair(move |mut s| {
        s.write_all(b"first").unwrap();
        Write::flush(&mut s).unwrap();
        go_rx.recv().unwrap();
        s.write_all(b"second").unwrap();
        Write::flush(&mut s).unwrap();
        let mut byte = [0u8; 1];
        let _ = Read::read(&mut s, &mut byte); // until the client's close
    });
    let mut first = [0u8; 5];
    Read::read_exact(&mut c, &mut first).unwrap();
    assert_eq!(&first, b"first");
    assert!(c.kernel_drained, "the read took everything the kernel had");
    go_tx.send(()).unwrap();
    // Until "second" is in the kernel (bounded; the descriptor is only looked at).
    let mut fds = [crate::ffi::poll::PollFd::new(
        c.socket_descriptor(),
        true,
        false,
    )];
    let ready = crate::ffi::poll::poll(&mut fds, Some(std::time::Duration::from_secs(10)));
    assert!(matches!(ready, Ok(1)) && fds[0].readable, "{ready:?}");
    assert_eq!(c.bytes_available(), 0);
    assert!(c.wait_for_ready_read(0), "{}", c.error_string());
    assert_eq!(c.read_all(), b"second");
    c.disconnect_from_host();
    server.join().unwrap();
}
