#!/usr/bin/env python3
"""A TLS peer on tlslite-ng (pure Python, no OpenSSL), for qsslsocket's legacy-protocol tests.

tlslite-ng speaks SSL 3.0, TLS 1.0, 1.1, 1.2 and 1.3 as client and server, whatever the system
OpenSSL allows, so it can play an SSLv3-only peer on a machine whose OpenSSL has no SSLv3.

  tlslite_peer.py server --cert CHAIN.pem --key KEY.pem --min 3.0 --max 3.0 [--connections N]
  tlslite_peer.py client --port P --min 3.1 --max 3.1 [--send TEXT]

Versions are (major.minor) record versions: 3.0 = SSL 3.0, 3.1 = TLS 1.0, ... 3.4 = TLS 1.3.
Server: listens on 127.0.0.1 (kernel-chosen port), serves --connections connections one after
the other; on each it handshakes, echoes one line, and closes. Client: handshakes with
127.0.0.1:P (no certificate verification), sends --send, prints the line that comes back.

One line per event on stdout, flushed at once:
  LISTEN <port>                  server: listening
  ACCEPTED                       server: a TCP connection arrived
  HANDSHAKE <major.minor> <cipher>
  LINE <repr(bytes)>             the line received (server) or echoed back (client)
  ERROR <where> <text>           a failure (the server goes on to the next connection)
  DONE                           finished
Every socket operation is bounded by --timeout seconds; a watchdog exits (status 3) after 4x.
"""

import argparse
import os
import socket
import sys
import threading

try:
    from tlslite import HandshakeSettings, TLSConnection, X509CertChain, parsePEMKey
except ImportError as e:  # the Rust test turns this into instructions
    print("ERROR import tlslite-ng is not installed: %s" % e, flush=True)
    sys.exit(2)


def out(*words):
    sys.stdout.write(" ".join(str(w) for w in words) + "\n")
    sys.stdout.flush()


def version(text):
    major, minor = text.split(".")
    return (int(major), int(minor))


def settings(args):
    s = HandshakeSettings()
    s.minVersion = version(args.min)
    s.maxVersion = version(args.max)
    # tlslite-ng negotiates from `versions` when the ClientHello has supported_versions: pin it
    # too, or an "SSLv3-only" server would still accept TLS 1.2 from a TLS 1.3 client.
    s.versions = [(3, m) for m in range(s.maxVersion[1], s.minVersion[1] - 1, -1)]
    if s.minVersion >= (3, 4):
        # tlslite-ng refuses TLS 1.3-only settings that still list the brainpool curves.
        s.eccCurves = [c for c in s.eccCurves if not c.startswith("brainpool")]
    if s.minVersion < (3, 1):
        # SSL 3.0 has no AEAD suites; tlslite-ng's CBC suites cover it.
        s.cipherNames = ["aes256", "aes128", "3des"]
    return s


def read_line(conn):
    line = b""
    while not line.endswith(b"\n"):
        chunk = conn.read(max=1)
        if not chunk:
            break
        line += chunk
    return line


def describe(conn):
    return "%d.%d %s" % (conn.version[0], conn.version[1], conn.getCipherName())


def serve_one(listener, args, chain, key):
    sock, _ = listener.accept()
    sock.settimeout(args.timeout)
    out("ACCEPTED")
    conn = TLSConnection(sock)
    try:
        conn.handshakeServer(certChain=chain, privateKey=key, settings=settings(args))
        out("HANDSHAKE", describe(conn))
        line = read_line(conn)
        out("LINE", repr(line))
        if line:
            conn.write(line)
        conn.close()
    except Exception as e:  # noqa: BLE001 - report every failure to the test
        out("ERROR", "server", "%s: %s" % (type(e).__name__, e))
    finally:
        try:
            sock.close()
        except OSError:
            pass


def server(args):
    with open(args.cert) as f:
        chain = X509CertChain()
        chain.parsePemList(f.read())
    with open(args.key) as f:
        key = parsePEMKey(f.read(), private=True)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(8)
    listener.settimeout(args.timeout)
    out("LISTEN", listener.getsockname()[1])
    for _ in range(args.connections):
        serve_one(listener, args, chain, key)
    out("DONE")


def client(args):
    sock = socket.create_connection(("127.0.0.1", args.port), timeout=args.timeout)
    conn = TLSConnection(sock)
    try:
        conn.handshakeClientCert(settings=settings(args), serverName="localhost")
        out("HANDSHAKE", describe(conn))
        conn.write(args.send.encode())
        out("LINE", repr(read_line(conn)))
        conn.close()
        out("DONE")
    except Exception as e:  # noqa: BLE001
        out("ERROR", "client", "%s: %s" % (type(e).__name__, e))
        sys.exit(1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client"])
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--min", default="3.1")
    p.add_argument("--max", default="3.4")
    p.add_argument("--connections", type=int, default=1)
    p.add_argument("--send", default="hello tlslite\n")
    p.add_argument("--timeout", type=float, default=15.0)
    args = p.parse_args()
    watchdog = threading.Timer(4 * args.timeout * max(1, args.connections), lambda: os._exit(3))
    watchdog.daemon = True
    watchdog.start()
    if args.role == "server":
        server(args)
    else:
        client(args)


if __name__ == "__main__":
    main()
