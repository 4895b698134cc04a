#!/usr/bin/env python3
"""Runs tlsfuzzer's server scripts against `qssl serve` and `openssl s_server`, probe by probe.

tlsfuzzer checks that a TLS server answers malformed, truncated and out-of-order input with the
right alert or behaviour. The scripts and their expectations are the reliability anchor in
`../shared/research/reliability.md` §4: 47 scripts (2,894 probes) every server must pass, and
scripts on which OpenSSL's own s_server already fails some probes, where the crate must fail
the same ones; and 13 scripts on client certificates. This tool starts both servers on 127.0.0.1
in four set-ups (an HTTP-like reply; the same at security level 0; an echo; a reply to clients
with a certificate from the run's CA), runs every script against each, and compares the failed
probes per script.

tlsfuzzer is not on PyPI and is not committed here: give a checkout (`--tlsfuzzer DIR`) and a
Python that imports tlslite-ng 0.9.0b2 and ecdsa (`--python`). It needs the `openssl` tool and a
built `qssl` (`cargo build --release`). Not part of CI, which has no copy of tlsfuzzer.

    python3 tools/tlsfuzzer.py --tlsfuzzer ~/src/tlsfuzzer --python ~/tlsf-venv/bin/python

Exit status: 0 when the crate fails no probe that s_server passes (except those listed in
EXPECTED, with the reason) and every run finished, 1 otherwise.
"""

import argparse
import concurrent.futures
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# (set-up, script, arguments). "www": answer a request and close; "www0": the same at OpenSSL
# security level 0 (TLS 1.2 scripts offer SHA-1 implicitly); "rev": echo (s_server -rev keeps
# line lengths, which is all the *-lengths scripts check).
MUST_PASS = """
www test-tls13-conversation.py
www test-conversation.py -d
www test-tls13-zero-length-data.py
www test-tls13-record-padding.py
www test-connection-abort.py
www test-tls13-connection-abort.py
www test-tls13-keyupdate.py
www test-tls13-ccs.py
www test-tls13-unencrypted-alert.py
www test-tls13-empty-alert.py
www test-tls13-zero-content-type.py
www test-tls13-finished.py
www test-tls13-finished-plaintext.py
www test-tls13-hrr.py
www test-tls13-keyshare-omitted.py
www test-tls13-nociphers.py
www test-tls13-invalid-ciphers.py
www test-tls13-unrecognised-groups.py
www test-cve-2016-7054.py
www0 test-truncating-of-finished.py
www0 test-invalid-client-hello.py
www0 test-invalid-content-type.py
www0 test-invalid-version.py
www0 test-invalid-cipher-suites.py
www0 test-invalid-session-id.py
www0 test-record-layer-fragmentation.py
www0 test-zero-length-data.py
www0 test-large-hello.py
www0 test-ssl-death-alert.py
www0 test-version-numbers.py
www0 test-tls13-version-negotiation.py
www0 test-downgrade-protection.py
www0 test-fuzzed-finished.py
www0 test-fuzzed-MAC.py
www0 test-fuzzed-ciphertext.py
www0 test-fuzzed-padding.py
www0 test-fuzzed-plaintext.py
www0 test-message-skipping.py
www0 test-message-duplication.py
www0 test-ccs.py
www0 test-encrypt-then-mac.py
www0 test-large-number-of-extensions.py
www0 test-sessionID-resumption.py
www0 test-cve-2016-2107.py
www0 test-no-heartbeat.py
rev test-lengths.py
rev test-tls13-lengths.py -n 400
"""

# Client certificates ("auth": the server requires one, signed by the run's CA; -n 0 runs every
# probe, so both servers meet the same ones). Not in reliability.md's lists; every one agreed on
# the first run (a82b57e).
CLIENT_AUTH = """
auth test-certificate-verify.py -k {client_key} -c {client_cert}
auth test-tls13-certificate-verify.py -k {client_key} -c {client_cert}
auth test-certificate-request.py -k {client_key} -c {client_cert}
auth test-tls13-certificate-request.py -k {client_key} -c {client_cert}
auth test-rsa-sigs-on-certificate-verify.py -k {client_key} -c {client_cert}
auth test-rsa-pss-sigs-on-certificate-verify.py -k {client_key} -c {client_cert}
auth test-certificate-malformed.py -k {client_key} -c {client_cert} -n 0
auth test-certificate-verify-malformed.py -k {client_key} -c {client_cert}
auth test-certificate-verify-malformed-sig.py -k {client_key} -c {client_cert}
auth test-ecdsa-in-certificate-verify.py -k {ec_client_key} -c {ec_client_cert}
auth test-tls13-ecdsa-in-certificate-verify.py -k {ec_client_key} -c {ec_client_cert}
auth test-tls13-post-handshake-auth.py -k {client_key} -c {client_cert}
auth test-extended-master-secret-extension-with-client-cert.py -k {client_key} -c {client_cert}
"""

# Scripts on which s_server itself fails some probes (reliability.md §4): compared, not required.
SAME_AS_OPENSSL = """
www0 test-truncating-of-client-hello.py
www0 test-invalid-client-hello-w-record-overflow.py
www0 test-invalid-compression-methods.py
www0 test-invalid-server-name-extension.py
www0 test-tls13-record-layer-limits.py
www0 test-client-hello-max-size.py
www0 test-renegotiation-changed-clienthello.py
www0 test-legacy-renegotiation.py
www0 test-renegotiation-disabled.py
www0 test-extended-master-secret-extension.py
www0 test-openssl-3712.py
www0 test-fallback-scsv.py
www0 test-tls13-multiple-ccs-messages.py
www0 test-tls13-large-number-of-extensions.py
www0 test-tls13-legacy-version.py
www0 test-tls13-shuffled-extentions.py
www0 test-tls13-session-resumption.py
www0 test-tls13-count-tickets.py
"""

# Probes the crate may fail where s_server passed in the same run: (script, probe pattern, reason).
EXPECTED = [
    ("test-downgrade-protection.py", r"TLS 1\.3 downgrade check for Protocol \(3, 1\)$",
     "Qt's default SslOptionDisableEmptyFragments (SSL_OP_DONT_INSERT_EMPTY_FRAGMENTS): a "
     "TLS 1.0 CBC reply is one record, where the script expects the BEAST split into two; "
     "`openssl s_server -bugs` (SSL_OP_ALL) fails the same probe"),
    ("test-tls13-zero-content-type.py",
     r"zero content type (and padding )?during application data$",
     "the script sends `GET /` and then a bad record; `qssl serve --reply` answers the first "
     "data at once, while s_server -www waits for the end of the request's header, so when both "
     "records arrive apart the reply goes out before the alert (a difference of the two "
     "programs, not of TLS; it passes when they arrive together)"),
    ("test-tls13-finished.py", r"padding - cipher \S+, pad_byte 0, pad_left \d+, pad_right \d+$",
     "the paddings are random, and s_server fails one or two of them per run too (8 runs: "
     "pad_left 32 and 48, pad_right 48 to 16777167)"),
]

# Scripts that sample which probes they run, and whose probe names carry random extension ids:
# their failures are compared by number.
COUNTED = {"test-tls13-large-number-of-extensions.py"}

REPLY = r"HTTP/1.0 200 OK\r\n\r\nok\n"
SCRIPT_TIMEOUT = 900


def parse_list(text):
    return [tuple(line.split()[:2]) + (line.split()[2:],) for line in text.strip().splitlines()]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, proc, what):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"{what} exited with status {proc.returncode} before listening")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)  # polling for the listener, against the deadline above
    sys.exit(f"{what} is not listening on port {port} after 20 s")


def make_pki(d):
    def run(*args):
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "30", "-subj", "/CN=tlsfuzzer run CA",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
        "-subj", "/CN=localhost")
    Path(d, "ext.cnf").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n"
                                  "extendedKeyUsage=serverAuth\n"
                                  "basicConstraints=critical,CA:FALSE\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "server.pem", "-days", "30", "-sha256", "-extfile", "ext.cnf")
    Path(d, "client.cnf").write_text("extendedKeyUsage=clientAuth\n"
                                     "basicConstraints=critical,CA:FALSE\n")
    for name, key in (("client", ["-newkey", "rsa:2048"]),
                      ("ec-client", ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])):
        run("req", *key, "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "30", "-sha256",
            "-extfile", "client.cnf")


def start_servers(impl, qssl, d, procs):
    """The three set-ups for `impl`; returns {set-up: port}."""
    cert, key = str(Path(d, "server.pem")), str(Path(d, "server.key"))
    ports = {}
    ca = str(Path(d, "ca.pem"))
    for setup in ("www", "www0", "rev", "auth"):
        port = free_port()
        if impl == "crate":
            # Server defaults as in s_server: no client certificate request (Qt's server asks
            # for one by default) and no handshake timeout.
            cmd = [qssl, "serve", "--port", str(port), "--cert", cert, "--key", key,
                   "--verify-client", "none", "--handshake-timeout", "0"]
            if setup != "www":
                cmd += ["--protocol", "any", "--ciphers", "DEFAULT:@SECLEVEL=0"]
            if setup != "rev":
                cmd += ["--reply", REPLY]
            if setup == "auth":
                cmd[cmd.index("none")] = "peer"
                cmd += ["--ca", ca]
        else:
            cmd = ["openssl", "s_server", "-accept", f"127.0.0.1:{port}", "-cert", cert,
                   "-key", key, "-rev" if setup == "rev" else "-www"]
            if setup != "www":
                cmd += ["-cipher", "DEFAULT:@SECLEVEL=0"]
            if setup == "auth":
                cmd += ["-Verify", "1", "-CAfile", ca]
        log = open(Path(d, f"{impl}-{setup}.log"), "w")
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        procs.append(proc)
        wait_listening(port, proc, " ".join(cmd[:2]))
        ports[setup] = port
    return ports


def run_script(args, pki, ports, setup, script, extra):
    files = {name.replace("-", "_") + "_" + ext: str(Path(pki, f"{name}.{suffix}"))
             for name in ("client", "ec-client")
             for ext, suffix in (("key", "key"), ("cert", "pem"))}
    cmd = [args.python, str(Path(args.tlsfuzzer, "scripts", script)),
           "-h", "127.0.0.1", "-p", str(ports[setup]), *(a.format(**files) for a in extra)]
    env = {**os.environ, "PYTHONPATH": str(args.tlsfuzzer)}
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=args.tlsfuzzer, env=env, capture_output=True, text=True,
                           timeout=SCRIPT_TIMEOUT)
        out, status = p.stdout, p.returncode
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        status = "timeout"

    def count(name):
        m = re.search(rf"^{name}: (\d+)", out, re.M)
        return int(m.group(1)) if m else None

    m = re.search(r"^FAILED:\n((?:\t.*\n?)*)", out, re.M)
    failed = sorted({x.strip().strip("'\"") for x in m.group(1).splitlines()} if m else set())
    return {"script": script, "setup": setup, "status": status, "total": count("TOTAL"),
            "passed": count("PASS"), "failed": failed,
            "seconds": round(time.monotonic() - t0, 1),
            "tail": out[-4000:] if status != 0 else ""}


def run_all(args, pki, impl, ports, scripts):
    by_setup = {}
    for entry in scripts:
        by_setup.setdefault(entry[0], []).append(entry)

    def one_setup(entries):
        results = []
        for setup, script, extra in entries:
            r = run_script(args, pki, ports, setup, script, extra)
            print(f"  {impl:6} {script:48} {r['passed']}/{r['total']} {r['seconds']} s",
                  flush=True)
            results.append(r)
        return results

    with concurrent.futures.ThreadPoolExecutor(len(by_setup)) as pool:
        return {r["script"]: r for rs in pool.map(one_setup, by_setup.values()) for r in rs}


def differences(script, crate_failed, openssl_failed):
    """Probes only the crate fails, and probes only s_server fails (for a COUNTED script, how
    many more)."""
    if script in COUNTED:
        surplus = len(crate_failed) - len(openssl_failed)
        extra = [f"{surplus} more failed probes than s_server"] if surplus > 0 else []
        fixed = [f"{-surplus} fewer failed probes than s_server"] if surplus < 0 else []
        return extra, fixed
    return ([p for p in crate_failed if p not in openssl_failed],
            [p for p in openssl_failed if p not in crate_failed])


def expected(script, probe):
    """The reason the crate may fail `probe`, if it is an expected difference."""
    return next((why for s, pattern, why in EXPECTED
                 if s == script and re.fullmatch(pattern, probe)), None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tlsfuzzer", required=True, type=Path, help="a tlsfuzzer checkout")
    ap.add_argument("--python", required=True,
                    help="a Python with tlslite-ng 0.9.0b2 and ecdsa")
    ap.add_argument("--qssl", default=str(Path(__file__).resolve().parent.parent
                                          / "target/release/qssl"))
    ap.add_argument("--only", nargs="*", help="script names to run (default: all)")
    ap.add_argument("--out", type=Path, help="write every result as JSON here")
    args = ap.parse_args()
    if not Path(args.tlsfuzzer, "scripts").is_dir():
        sys.exit(f"{args.tlsfuzzer} is not a tlsfuzzer checkout (no scripts/)")
    if not Path(args.qssl).is_file():
        sys.exit(f"no qssl at {args.qssl}: run `cargo build --release` first")
    listed = parse_list(MUST_PASS) + parse_list(SAME_AS_OPENSSL) + parse_list(CLIENT_AUTH)
    if args.only:
        listed = [e for e in listed if e[1] in args.only]

    procs = []
    results = {}
    with tempfile.TemporaryDirectory(prefix="qssl-tlsfuzzer-") as d:
        make_pki(d)
        try:
            # One implementation at a time: the scripts time some answers, and two servers
            # sharing two cores with six script runners would make slow answers look like none.
            for impl in ("crate", "openssl"):
                print(f"{impl}:", flush=True)
                ports = start_servers(impl, args.qssl, d, procs)
                results[impl] = run_all(args, d, impl, ports, listed)
                for p in procs:
                    p.kill()
                    p.wait()
                procs.clear()
        finally:
            for p in procs:
                p.kill()
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))

    problems = 0
    print(f"\n{'script':48} {'crate':>11} {'s_server':>11}  verdict")
    for _, name, _ in listed:
        c, o = results["crate"][name], results["openssl"][name]
        extra, fixed = differences(name, c["failed"], o["failed"])
        unexplained = [p for p in extra if not expected(name, p)]
        complete = c["total"] is not None and c["total"] == o["total"]
        # A probe the crate fails and s_server passes is a problem, in every script; one that
        # s_server fails and the crate passes is reported (a must-pass script's random probe,
        # say) but is not.
        if unexplained or not complete:
            verdict = "DIFFERENT"
            problems += 1
        elif fixed:
            verdict = "crate passes more"
        elif extra:
            verdict = "same, except as expected"
        else:
            verdict = "same"
        print(f"{name:48} {c['passed']}/{c['total']:<6} {o['passed']}/{o['total']:<6}  {verdict}")
        for p in extra:
            print(f"    crate fails {p!r}: " + (expected(name, p) or "unexplained"))
        for p in fixed:
            print(f"    s_server fails {p!r}, the crate passes it")
        if not complete:
            print(f"    the crate's run did not finish ({c['status']}):\n{c['tail']}")
    print(f"\n{len(listed) - problems} of {len(listed)} scripts agree"
          + ("" if not problems else f"; {problems} differ"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
