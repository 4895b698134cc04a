#!/usr/bin/env python3
"""A TLS peer for qsslsocket's interop tests, on Python's standard ssl module.

One connection, as server (listens on 127.0.0.1, port 0 by default) or client (connects to
127.0.0.1:PORT). Optionally a plain line protocol first (STARTTLS). Then an action, then an end.

Reports one line per event on stdout, flushed at once, for the Rust test to wait on:
  LISTEN <port>                    server: listening
  PLAIN <repr(line)>               STARTTLS: the plain line received
  HANDSHAKE <version> <cipher>     handshake done
  PEERCERT <sha256 of DER>         the peer's leaf certificate, if it sent one
  GOT <n> <sha256>                 sink/echo with --expect N: N bytes have arrived
  RECEIVED <n> <sha256>            sink/echo: what arrived before the peer's end
  SENT <n> <sha256>                source: what was sent
  LINE <repr(line)>                hello: the line that came back
  PEER_END <close_notify|eof|reset|timeout>   how the peer ended its side
  END <how> <detail>               how this peer ended its side (see --end)
  ERROR <where> <text>             a failure (exit status 1)
  DONE                             finished normally (exit status 0)
Every socket operation is bounded by --timeout; a watchdog exits (status 3) after 3x that.
"""

import argparse
import fcntl
import hashlib
import os
import random
import select
import socket
import ssl
import struct
import sys
import termios
import threading
import time


def out(*words):
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def read_plain_line(sock):
    """One line from a plain socket, byte by byte, so that nothing after it is consumed."""
    line = b""
    while not line.endswith(b"\n"):
        b = sock.recv(1)
        if not b:
            break
        line += b
    return line


def context(args, server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    if args.tls == "1.2":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    elif args.tls == "1.3":
        ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3
    if args.cert:
        ctx.load_cert_chain(args.cert, args.key)
    if server:
        if args.require_cert:
            ctx.verify_mode = ssl.CERT_REQUIRED
            ctx.load_verify_locations(args.ca)
    else:
        ctx.load_verify_locations(args.ca)
        ctx.check_hostname = True
    return ctx


def read_until_end(s, echo=False, expect=0):
    """Reads until the peer ends; returns (digest, count, how). Prints GOT <n> <sha256> as soon
    as `expect` bytes have arrived (an application-level acknowledgement)."""
    h = hashlib.sha256()
    n = 0
    how = "close_notify"
    while True:
        if expect and n >= expect:
            out("GOT", n, h.copy().hexdigest())
            expect = 0
        try:
            data = s.recv(256 * 1024)
        except ssl.SSLZeroReturnError:
            break  # close_notify after ours was sent (recv returns b"" only before that)
        except ssl.SSLEOFError:
            how = "eof"
            break
        except (ConnectionResetError, BrokenPipeError):
            how = "reset"
            break
        except (socket.timeout, TimeoutError):
            how = "timeout"
            break
        if not data:
            break  # close_notify (ragged EOFs raise SSLEOFError above)
        h.update(data)
        n += len(data)
        if echo:
            s.sendall(data)
    return h.hexdigest(), n, how


def send_close_notify(s, timeout):
    """Sends close_notify without waiting for the peer's. Returns 'sent' or 'complete' (the
    peer's had already arrived)."""
    s.setblocking(False)
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                s.unwrap()
                return "complete"
            except ssl.SSLWantReadError:
                return "sent"
            except ssl.SSLWantWriteError:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([], [s], [], left)[1]:
                    return "timeout"
            except (OSError, ssl.SSLError) as e:
                return "failed:" + type(e).__name__
    finally:
        s.settimeout(timeout)


def wait_send_queue_empty(sock, timeout):
    """Until the kernel has sent everything and the peer acknowledged it (SIOCOUTQ == 0)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        queued = struct.unpack("I", fcntl.ioctl(sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        if queued == 0:
            return True
        time.sleep(0.005)
    return False


def drain_plain(sock, timeout):
    """After our FIN: read (and drop) until the peer closes, so that closing sends no RST."""
    sock.settimeout(timeout)
    try:
        while socket.socket.recv(sock, 65536):
            pass
    except OSError:
        pass


def end(s, args, peer_ended):
    how = args.end
    if how == "auto":
        how = "answer" if peer_ended else "close_notify"
    if how == "answer":
        # The peer ended first: answer its close_notify, then close.
        detail = send_close_notify(s, args.timeout) if peer_ended == "close_notify" else "-"
        out("END answer", detail)
        s.close()
    elif how == "close_notify":
        # close_notify, then wait for the peer's end (its close_notify, FIN or RST).
        detail = send_close_notify(s, args.timeout)
        out("END close_notify", detail)
        if detail == "complete":
            # unwrap() completed: the peer's close_notify had already arrived.
            out("PEER_END", "close_notify")
        else:
            _, _, peer = read_until_end(s)
            out("PEER_END", peer)
        s.close()
    elif how == "close_notify_fin":
        # Qt's disconnectFromHost: close_notify and FIN at once.
        detail = send_close_notify(s, args.timeout)
        s.shutdown(socket.SHUT_WR)
        out("END close_notify_fin", detail)
        drain_plain(s, args.timeout)
        s.close()
    elif how == "fin":
        # TCP FIN without close_notify (a truncation attack, as far as TLS can tell).
        s.shutdown(socket.SHUT_WR)
        out("END fin -")
        drain_plain(s, args.timeout)
        s.close()
    elif how == "rst":
        # RST once the peer's kernel has everything we sent.
        acked = wait_send_queue_empty(s, args.timeout)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        out("END rst", "acked" if acked else "not-acked")
        s.close()
    elif how == "wait":
        # Nothing from us: wait for the peer's end, answer a close_notify, close.
        if not peer_ended:
            _, _, peer_ended = read_until_end(s)
            out("PEER_END", peer_ended)
        detail = send_close_notify(s, args.timeout) if peer_ended == "close_notify" else "-"
        out("END wait", detail)
        s.close()
    elif how == "none":
        out("END none -")
        s.close()


def run(args):
    server = args.role == "server"
    if server:
        ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        ls.bind(("127.0.0.1", args.port))
        ls.listen(1)
        ls.settimeout(args.timeout)
        out("LISTEN", ls.getsockname()[1])
        raw, _ = ls.accept()
        ls.close()
    else:
        raw = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    raw.settimeout(args.timeout)

    if args.starttls:
        if server:
            line = read_plain_line(raw)
            out("PLAIN", repr(line))
            if line != b"STARTTLS\r\n":
                raw.sendall(b"500 expected STARTTLS\r\n")
                raise SystemExit(1)
            raw.sendall(b"220 ready\r\n")
        else:
            raw.sendall(b"STARTTLS\r\n")
            line = read_plain_line(raw)
            out("PLAIN", repr(line))
            if not line.startswith(b"220"):
                raise SystemExit(1)

    ctx = context(args, server)
    try:
        s = ctx.wrap_socket(
            raw,
            server_side=server,
            server_hostname=None if server else args.server_name,
            suppress_ragged_eofs=False,
        )
    except (ssl.SSLError, OSError) as e:
        out("ERROR handshake", getattr(e, "reason", None) or type(e).__name__, str(e).replace("\n", " "))
        raise SystemExit(1)
    out("HANDSHAKE", s.version(), s.cipher()[0])
    der = s.getpeercert(binary_form=True)
    if der:
        out("PEERCERT", hashlib.sha256(der).hexdigest())

    peer_ended = None
    try:
        if args.action in ("echo", "sink"):
            digest, n, peer_ended = read_until_end(s, echo=args.action == "echo", expect=args.expect)
            out("RECEIVED", n, digest)
            out("PEER_END", peer_ended)
        elif args.action == "source":
            data = random.Random(args.seed).randbytes(args.count)
            view = memoryview(data)
            for i in range(0, len(data), 256 * 1024):
                s.sendall(view[i : i + 256 * 1024])
            out("SENT", len(data), hashlib.sha256(data).hexdigest())
        elif args.action == "hello":
            s.sendall(b"hello\n")
            line = b""
            while not line.endswith(b"\n"):
                b = s.recv(1)
                if not b:
                    break
                line += b
            out("LINE", repr(line))
    except ssl.SSLError as e:
        out("ERROR io", e.reason or type(e).__name__, str(e).replace("\n", " "))
        raise SystemExit(1)
    end(s, args, peer_ended)
    out("DONE")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--tls", choices=["1.2", "1.3", "any"], default="any")
    p.add_argument("--cert", help="PEM chain: leaf first")
    p.add_argument("--key")
    p.add_argument("--ca", help="trust anchors (PEM)")
    p.add_argument("--require-cert", action="store_true", help="server: demand a client certificate")
    p.add_argument("--server-name", default="localhost", help="client: SNI and expected host name")
    p.add_argument("--starttls", action="store_true")
    p.add_argument("--action", choices=["echo", "sink", "source", "hello"], default="echo")
    p.add_argument("--count", type=int, default=0, help="source: bytes to send")
    p.add_argument("--expect", type=int, default=0, help="sink/echo: print GOT once this much arrived")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--end",
        choices=["auto", "answer", "close_notify", "close_notify_fin", "fin", "rst", "wait", "none"],
        default="auto",
    )
    p.add_argument("--timeout", type=float, default=20.0)
    args = p.parse_args()

    def watchdog():
        out("ERROR watchdog", "still running after", 3 * args.timeout, "s")
        os._exit(3)

    timer = threading.Timer(3 * args.timeout, watchdog)
    timer.daemon = True
    timer.start()
    try:
        run(args)
    except SystemExit:
        raise
    except Exception as e:  # reported, not hidden
        out("ERROR", type(e).__name__, str(e).replace("\n", " "))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
