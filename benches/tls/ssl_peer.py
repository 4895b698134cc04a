#!/usr/bin/env python3
"""Python's ssl module (SSLSocket, blocking) on the benchmark's workloads: a peer reference.

Called by the `tls` bench with one JSON argument; prints one line `RESULT {json}`.
The server runs in a forked process (as perf-limits.md's Python runs did), the client in this
one. CPU time is user+system of both processes over the measured window (resource.getrusage).
The TLS 1.3 suite is pinned by OPENSSL_CONF (the bench sets it): Python cannot set it per context.

  {"w": "bulk", "dir": PKI_DIR, "v13": true, "kind": "ecdsa", "bytes": N, "chunk": 65536}
  {"w": "hs", "dir": PKI_DIR, "v13": true, "kind": "ecdsa", "seconds": S, "resume": false}
"""

import json
import os
import resource
import select
import socket
import ssl
import sys
import time

TLS12 = {"ecdsa": "ECDHE-ECDSA-AES128-GCM-SHA256", "rsa": "ECDHE-RSA-AES128-GCM-SHA256"}


def cpu_s():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def contexts(spec):
    d, kind = spec["dir"], spec["kind"]
    version = ssl.TLSVersion.TLSv1_3 if spec["v13"] else ssl.TLSVersion.TLSv1_2
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(f"{d}/{kind}-leaf.pem", f"{d}/{kind}-leaf.key")
    client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # verifies the chain and the host name
    client.load_verify_locations(f"{d}/{kind}-ca.pem")
    for ctx in (server, client):
        ctx.minimum_version = version
        ctx.maximum_version = version
        if not spec["v13"]:
            ctx.set_ciphers(TLS12[kind])
    return server, client


def listen():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(128)
    return s


def fork_server(serve):
    """Runs serve() in a child; returns (pid, read end of the pipe the child reports on)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            result = serve()
        except BaseException as e:  # report, never fall back into the parent's code
            result = {"error": repr(e)}
        os.write(w, json.dumps(result).encode())
        os._exit(0)
    os.close(w)
    return pid, r


def collect(pid, r):
    data = b""
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        data += chunk
    os.waitpid(pid, 0)
    return json.loads(data)


def nodelay(s):
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


def bulk(spec):
    server_ctx, client_ctx = contexts(spec)
    total, chunk = spec["bytes"], spec["chunk"]
    lsock = listen()
    port = lsock.getsockname()[1]

    def serve():
        conn, _ = lsock.accept()
        nodelay(conn)
        s = server_ctx.wrap_socket(conn, server_side=True)
        c0 = cpu_s()
        buf = bytearray(65536)
        got = 0
        while got < total:
            n = s.recv_into(buf)
            if n == 0:
                raise RuntimeError("early end of stream")
            got += n
        s.sendall(b"\x01")
        cpu = cpu_s() - c0
        try:
            s.recv(1)
        except (ssl.SSLError, OSError):
            pass
        return {"cpu_s": cpu}

    pid, r = fork_server(serve)
    lsock.close()
    raw = socket.create_connection(("127.0.0.1", port))
    nodelay(raw)
    s = client_ctx.wrap_socket(raw, server_hostname="localhost")
    data = b"\x5a" * chunk
    c0 = cpu_s()
    t0 = time.perf_counter()
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        s.sendall(data if n == chunk else data[:n])
        sent += n
    ack = s.recv(1)
    secs = time.perf_counter() - t0
    cpu = cpu_s() - c0
    assert ack == b"\x01"
    cipher = s.cipher()[0]
    s.close()
    server = collect(pid, r)
    if "error" in server:
        raise RuntimeError(server["error"])
    return {"secs": secs, "cpu_s": cpu + server["cpu_s"], "cipher": cipher}


def handshakes(spec):
    server_ctx, client_ctx = contexts(spec)
    seconds, resume = spec["seconds"], spec["resume"]
    lsock = listen()
    port = lsock.getsockname()[1]
    stop_r, stop_w = os.pipe()

    def serve():
        c0 = cpu_s()
        failures = 0
        while True:
            conn, _ = lsock.accept()
            if select.select([stop_r], [], [], 0)[0]:
                conn.close()
                break
            nodelay(conn)
            try:
                s = server_ctx.wrap_socket(conn, server_side=True)
                b = s.recv(1)
                s.sendall(b)
                if s.recv(1) != b"":
                    failures += 1
                s.close()
            except (ssl.SSLError, OSError):
                failures += 1
                conn.close()
        return {"cpu_s": cpu_s() - c0, "failures": failures}

    pid, r = fork_server(serve)
    lsock.close()
    os.close(stop_r)
    c0 = cpu_s()
    t0 = time.perf_counter()
    deadline = t0 + seconds
    count = reused = 0
    session = None
    while time.perf_counter() < deadline:
        raw = socket.create_connection(("127.0.0.1", port))
        nodelay(raw)
        s = client_ctx.wrap_socket(raw, server_hostname="localhost", session=session)
        s.sendall(b"\x07")
        s.recv(1)
        if s.session_reused:
            reused += 1
        if resume:
            session = s.session
        try:
            s.unwrap()  # close_notify; Python then waits for the server to close
        except (ssl.SSLError, OSError):
            pass
        raw.close()
        count += 1
    secs = time.perf_counter() - t0
    cpu = cpu_s() - c0
    os.write(stop_w, b"S")
    socket.create_connection(("127.0.0.1", port)).close()
    server = collect(pid, r)
    if "error" in server:
        raise RuntimeError(server["error"])
    return {
        "count": count,
        "secs": secs,
        "cpu_s": cpu + server["cpu_s"],
        "reused": reused,
        "failures": server["failures"],
    }


def main():
    spec = json.loads(sys.argv[1])
    result = bulk(spec) if spec["w"] == "bulk" else handshakes(spec)
    total = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    result["process_cpu_s"] = (
        total.ru_utime + total.ru_stime + children.ru_utime + children.ru_stime
    )
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
