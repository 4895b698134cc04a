#!/usr/bin/env python3
"""A TLS peer on Python's standard ssl module pinned to one protocol version, for qsslsocket's
per-version interop tests (tests/legacy_interop.rs). TLS 1.0 and 1.1 run at OpenSSL security
level 0 (`DEFAULT:@SECLEVEL=0`), which OpenSSL 3 needs for them.

  legacy_ssl_peer.py server --version 1.0 --cert CHAIN.pem --key KEY.pem
  legacy_ssl_peer.py client --version 1.0 --port P --ca ROOT.pem [--send TEXT]

Server: one connection on 127.0.0.1 (kernel-chosen port): handshake, echo one line, close.
Client: connect to 127.0.0.1:P, verify the server as `localhost`, send --send, read the echo.

One line per event on stdout, flushed at once:
  LISTEN <port> | HANDSHAKE <version> <cipher> | LINE <repr(bytes)> | ERROR <where> <text> | DONE
Every socket operation is bounded by --timeout seconds; a watchdog exits (status 3) after 4x.
"""

import argparse
import os
import socket
import ssl
import sys
import threading

VERSIONS = {
    "1.0": ssl.TLSVersion.TLSv1,
    "1.1": ssl.TLSVersion.TLSv1_1,
    "1.2": ssl.TLSVersion.TLSv1_2,
    "1.3": ssl.TLSVersion.TLSv1_3,
}


def out(*words):
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def context(args, server):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server else ssl.PROTOCOL_TLS_CLIENT)
    ctx.minimum_version = ctx.maximum_version = VERSIONS[args.version]
    if args.version in ("1.0", "1.1"):
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if server:
        ctx.load_cert_chain(args.cert, args.key)
    else:
        ctx.load_verify_locations(args.ca)
    return ctx


def read_line(conn):
    line = b""
    while not line.endswith(b"\n"):
        chunk = conn.recv(1)
        if not chunk:
            break
        line += chunk
    return line


def server(args):
    ctx = context(args, True)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.settimeout(args.timeout)
    out("LISTEN", listener.getsockname()[1])
    sock, _ = listener.accept()
    sock.settimeout(args.timeout)
    try:
        conn = ctx.wrap_socket(sock, server_side=True)
        out("HANDSHAKE", conn.version(), conn.cipher()[0])
        line = read_line(conn)
        out("LINE", repr(line))
        conn.sendall(line)
        try:
            conn.unwrap()
        except (ssl.SSLError, OSError):
            pass
        out("DONE")
    except (ssl.SSLError, OSError) as e:
        out("ERROR", "server", e)
        sys.exit(1)


def client(args):
    ctx = context(args, False)
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    try:
        conn = ctx.wrap_socket(sock, server_hostname="localhost")
        out("HANDSHAKE", conn.version(), conn.cipher()[0])
        conn.sendall(args.send.encode())
        out("LINE", repr(read_line(conn)))
        out("DONE")
    except (ssl.SSLError, OSError) as e:
        out("ERROR", "client", e)
        sys.exit(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("--version", choices=sorted(VERSIONS), required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--send", default="hello python\n")
    p.add_argument("--timeout", type=float, default=15.0)
    args = p.parse_args()
    watchdog = threading.Timer(4 * args.timeout, lambda: os._exit(3))
    watchdog.daemon = True
    watchdog.start()
    server(args) if args.role == "server" else client(args)


if __name__ == "__main__":
    main()
