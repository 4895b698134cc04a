#!/usr/bin/env bash
# Prints what the linked OpenSSL can do on this machine: the facts a vendor-notes/<distro>.md entry
# records (see vendor-notes/TEMPLATE.md). Safe to run anywhere: it only reads, and starts
# `openssl s_server` on 127.0.0.1 for a few one-shot loopback handshakes.
#   bash ci/openssl-env.sh              all facts; runs `cargo check` if openssl-sys has not built yet
#   bash ci/openssl-env.sh --no-cargo   skip what needs cargo (DEP_OPENSSL_* and openssl-probe)
set -uo pipefail
cd "$(dirname "$0")/.."
use_cargo=1
[ "${1:-}" = --no-cargo ] && use_cargo=0

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
section() { printf '\n## %s\n' "$1"; }
run() { printf '$ %s\n' "$*"; "$@" 2>&1; }

section "machine"
grep -E '^(PRETTY_NAME|VERSION_ID)=' /etc/os-release 2>/dev/null
echo "arch: $(uname -m)"
if command -v dpkg-query >/dev/null; then
    run dpkg-query -W -f='${Package} ${Version}\n' libssl3 libssl-dev openssl ca-certificates
elif command -v rpm >/dev/null; then
    run rpm -q openssl openssl-libs openssl-devel ca-certificates
elif command -v apk >/dev/null; then
    run apk info -v openssl openssl-dev libssl3 ca-certificates
fi

section "openssl version -a"
if ! command -v openssl >/dev/null; then
    echo "no openssl binary on PATH: install it (Debian: apt-get install openssl) and run again"
    exit 1
fi
version_a=$(openssl version -a 2>&1)
echo "$version_a"

section "default security level"
level=$(grep -oE 'OPENSSL_TLS_SECURITY_LEVEL=[0-9]+' <<<"$version_a" | head -1 | cut -d= -f2)
if [ -n "$level" ]; then
    echo "compiled in: -DOPENSSL_TLS_SECURITY_LEVEL=$level -> default security level $level"
else
    echo "not set at build time: upstream default (1 before OpenSSL 3.2, 2 from 3.2)"
fi
echo "(a CipherString with @SECLEVEL=n in the config file below overrides it)"

section "compiled-out protocols (configuration.h)"
openssldir=$(openssl version -d | sed -E 's/^OPENSSLDIR: "(.*)"$/\1/')
multiarch=$(gcc -print-multiarch 2>/dev/null || true)
found=""
for dir in ${multiarch:+/usr/include/$multiarch/openssl} /usr/include/openssl \
    /usr/local/include/openssl "$(pkg-config --variable=includedir openssl 2>/dev/null)/openssl"; do
    if [ -f "$dir/configuration.h" ]; then found=$dir/configuration.h; break; fi
done
if [ -n "$found" ]; then
    echo "$ grep -E 'define OPENSSL_NO_(SSL|TLS|DTLS|WEAK)' $found"
    grep -E 'define OPENSSL_NO_(SSL|TLS|DTLS|WEAK)' "$found" || echo "(none: every protocol is compiled in)"
else
    echo "configuration.h not found (install the -dev package)"
fi
echo "s_client protocol options:"
help=$(openssl s_client -help 2>&1)
for opt in -ssl3 -tls1 -tls1_1 -tls1_2 -tls1_3; do
    if grep -qE "^ *$opt( |$)" <<<"$help"; then echo "  $opt: present"; else echo "  $opt: absent"; fi
done

section "loopback handshakes (openssl s_server / s_client on 127.0.0.1)"
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])' \
        2>/dev/null || echo $((20000 + RANDOM % 20000))
}
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/key.pem" -out "$tmp/cert.pem" -days 1 \
    -subj /CN=localhost >/dev/null 2>&1
# The first OpenSSL error-queue line of a log, without its thread-id prefix.
first_error() {
    grep -m1 -E '^[0-9A-F]+:error:|Unknown option|connect:errno' "$1" | sed -E 's/^[0-9A-F]+:error:/error:/'
}
# handshake LABEL "SERVER ARGS" "CLIENT ARGS": one connection, then a one-line outcome.
handshake() {
    local port sp i out
    port=$(free_port)
    # -www: the server answers without reading stdin; -naccept 1: it exits after one connection.
    # shellcheck disable=SC2086
    openssl s_server -accept "127.0.0.1:$port" -cert "$tmp/cert.pem" -key "$tmp/key.pem" -www \
        -naccept 1 $2 </dev/null >"$tmp/srv.log" 2>&1 &
    sp=$!
    for i in $(seq 50); do grep -q ACCEPT "$tmp/srv.log" 2>/dev/null && break; sleep 0.1; done
    # shellcheck disable=SC2086
    timeout 10 openssl s_client -connect "127.0.0.1:$port" -brief $3 </dev/null >"$tmp/cli.log" 2>&1
    kill "$sp" 2>/dev/null
    wait "$sp" 2>/dev/null
    printf '%-44s ' "$1"
    if grep -q 'CONNECTION ESTABLISHED' "$tmp/cli.log"; then
        out=$(grep -E '^(Protocol version|Ciphersuite):' "$tmp/cli.log" | sed 's/^[^:]*: //' | paste -sd' ')
        echo "OK        $out"
    else
        echo "FAILED"
        printf '    client: %s\n' "$(first_error "$tmp/cli.log")"
        printf '    server: %s\n' "$(first_error "$tmp/srv.log")"
    fi
    printf '    $ openssl s_server -www -naccept 1 %s ... / openssl s_client -brief %s\n' "$2" "$3"
}
for p in tls1_3 tls1_2 tls1_1 tls1; do
    handshake "-$p, default level" "" "-$p"
done
for p in tls1_1 tls1; do
    handshake "-$p, client only at SECLEVEL=0" "" "-$p -cipher DEFAULT@SECLEVEL=0"
    handshake "-$p, server only at SECLEVEL=0" "-cipher DEFAULT@SECLEVEL=0" "-$p"
    handshake "-$p, both at SECLEVEL=0" "-cipher DEFAULT@SECLEVEL=0" "-$p -cipher DEFAULT@SECLEVEL=0"
done
# TLS 1.0/1.1 without a signed key exchange: OpenSSL 3.0 let RSA key exchange through at level >= 1
# (openssl/openssl#18194, later closed); this shows which rule the build has, client and server side.
handshake "-tls1 AES128-SHA, client default, server 0" \
    "-cipher DEFAULT@SECLEVEL=0" "-tls1 -cipher AES128-SHA"
handshake "-tls1 AES128-SHA, both at SECLEVEL=1" \
    "-cipher AES128-SHA@SECLEVEL=1" "-tls1 -cipher AES128-SHA@SECLEVEL=1"
if grep -qE '^ *-ssl3( |$)' <<<"$help"; then
    handshake "-ssl3, both at SECLEVEL=0" "-cipher DEFAULT@SECLEVEL=0" "-ssl3 -cipher DEFAULT@SECLEVEL=0"
else
    echo "-ssl3: not tried (s_client has no -ssl3 option: SSLv3 is compiled out)"
fi

printf '%-44s ' "peer closes TCP after the ClientHello"
if command -v python3 >/dev/null; then
    python3 - <<'PY' 2>&1
import socket, subprocess, threading
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
def peer():
    c, _ = ls.accept(); c.recv(4096); c.close()  # a TCP FIN, no TLS alert
threading.Thread(target=peer, daemon=True).start()
r = subprocess.run(["openssl", "s_client", "-connect", "127.0.0.1:%d" % ls.getsockname()[1], "-brief"],
                   stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=10)
err = [l for l in (r.stdout + r.stderr).splitlines() if ":error:" in l]
print("FAILED\n    client: error:%s" % err[0].split(":error:", 1)[1] if err else "no error line (exit %d)" % r.returncode)
PY
else
    echo "skipped (needs python3)"
fi

section "CA certificates"
echo "OPENSSLDIR=$openssldir"
for f in "$openssldir/cert.pem" "$openssldir/certs"; do
    if [ -e "$f" ]; then echo "$f -> $(readlink -f "$f")"; else echo "$f: absent"; fi
done
echo "SSL_CERT_FILE=${SSL_CERT_FILE:-<unset>} SSL_CERT_DIR=${SSL_CERT_DIR:-<unset>}"
bundle=$(readlink -f "$openssldir/cert.pem" 2>/dev/null)
if [ -f "$bundle" ]; then echo "certificates in $bundle: $(grep -c 'BEGIN CERTIFICATE' "$bundle")"; fi
certs=$(readlink -f "$openssldir/certs" 2>/dev/null)
if [ -d "$certs" ]; then
    echo "hash links (xxxxxxxx.N) in $certs: $(find "$certs" -maxdepth 1 -name '*.[0-9]' | grep -cE '/[0-9a-f]{8}\.[0-9]+$')"
fi

section "system configuration file"
conf=${OPENSSL_CONF:-$openssldir/openssl.cnf}
echo "file: $conf${OPENSSL_CONF:+ (from OPENSSL_CONF)} -> $(readlink -f "$conf" 2>/dev/null)"
# Prints the active (non-comment, non-empty) lines of one [section] of a config file.
conf_section() {
    awk -v want="$2" '
        /^[[:space:]]*\[/ { name = $0; gsub(/[][[:space:]]/, "", name); sub(/#.*/, "", name); cur = name; next }
        cur == want && $0 !~ /^[[:space:]]*(#|$)/ { print "  " $0; n++ }
        END { if (!n) print "  (empty)" }' "$1"
}
# The value of KEY in the active lines of a config section, or of the file's top if SECTION is "".
conf_value() {
    awk -v want="$2" -v key="$3" '
        /^[[:space:]]*\[/ { name = $0; gsub(/[][[:space:]]/, "", name); sub(/#.*/, "", name); cur = name; next }
        cur == want && $0 ~ "^[[:space:]]*" key "[[:space:]]*=" { sub(/^[^=]*=[[:space:]]*/, ""); sub(/[[:space:]]*(#.*)?$/, ""); print; exit }' "$1"
}
if [ -f "$conf" ]; then
    files=("$conf")
    for inc in $(grep -E '^[[:space:]]*\.include' "$conf" | sed -E 's/^[[:space:]]*\.include[[:space:]=]*//'); do
        if [ -d "$inc" ]; then files+=("$inc"/*.cnf); elif [ -f "$inc" ]; then files+=("$inc"); fi
        echo ".include $inc"
    done
    init=$(conf_value "$conf" "" openssl_conf)
    echo "openssl_conf = ${init:-<unset: the file sets no library defaults>}"
    if [ -n "$init" ]; then
        echo "[$init]:"; conf_section "$conf" "$init"
        ssl=$(conf_value "$conf" "$init" ssl_conf)
        if [ -n "$ssl" ]; then
            echo "[$ssl]:"; conf_section "$conf" "$ssl"
            sysdef=$(conf_value "$conf" "$ssl" system_default)
            [ -n "$sysdef" ] && { echo "[$sysdef]:"; conf_section "$conf" "$sysdef"; }
        fi
    fi
    keys=$(grep -hE '^[[:space:]]*(MinProtocol|MaxProtocol|CipherString|Ciphersuites)[[:space:]]*=' "${files[@]}" 2>/dev/null)
    echo "MinProtocol/MaxProtocol/CipherString/Ciphersuites anywhere in $conf and its includes: ${keys:-none}"
else
    echo "absent"
fi

section "what openssl-sys reports to build scripts (DEP_OPENSSL_*)"
target=${CARGO_TARGET_DIR:-target}
# The newest openssl-sys build-script output (several may exist: debug, release, other targets).
find_outputs() { find "$target" -path '*/build/openssl-sys-*/output' -printf '%T@ %p\n' 2>/dev/null | sort -rn | head -1 | cut -d' ' -f2-; }
if [ "$use_cargo" = 1 ] && [ -z "$(find_outputs)" ] && command -v cargo >/dev/null; then
    echo "(running cargo check -p openssl-sys so that its build script runs)"
    cargo check -q ${CI:+--locked} -p openssl-sys >/dev/null 2>&1 || echo "(cargo check -p openssl-sys failed)"
fi
outputs=$(find_outputs)
if [ -n "$outputs" ]; then
    for o in $outputs; do
        echo "$o:"
        grep -E '^(cargo:(conf|version_number|version|include)=|version:)' "$o" | sed 's/^/  /'
    done
    echo "(cargo:conf=X reaches dependants as DEP_OPENSSL_CONF=X, cargo:version_number as DEP_OPENSSL_VERSION_NUMBER)"
else
    echo "no openssl-sys build output under $target/ (build the crate first, or drop --no-cargo)"
fi

section "openssl-probe (how the crate finds the system CA store)"
probe_version=$(grep -A1 '^name = "openssl-probe"' Cargo.lock 2>/dev/null | sed -nE 's/^version = "(.*)"/\1/p')
if [ "$use_cargo" = 1 ] && [ -n "$probe_version" ] && command -v cargo >/dev/null; then
    mkdir -p "$tmp/probe/src"
    printf '[package]\nname = "probe"\nversion = "0.0.0"\nedition = "2021"\n[dependencies]\nopenssl-probe = "=%s"\n[workspace]\n' \
        "$probe_version" >"$tmp/probe/Cargo.toml"
    cat >"$tmp/probe/src/main.rs" <<'RS'
fn main() {
    let r = openssl_probe::probe();
    println!("has_ssl_cert_env_vars() = {}", openssl_probe::has_ssl_cert_env_vars());
    println!("probe().cert_file = {:?}", r.cert_file);
    println!("probe().cert_dir  = {:?}", r.cert_dir);
}
RS
    echo "openssl-probe $probe_version, with this environment:"
    (cd "$tmp/probe" && CARGO_TARGET_DIR="$tmp/probe/target" cargo run -q 2>&1) | sed 's/^/  /'
    echo "and with SSL_CERT_FILE / SSL_CERT_DIR unset:"
    env -u SSL_CERT_FILE -u SSL_CERT_DIR "$tmp/probe/target/debug/probe" 2>&1 | sed 's/^/  /'
else
    echo "skipped (needs cargo and Cargo.lock)"
fi
