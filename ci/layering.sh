#!/usr/bin/env bash
# The layering rules of docs/ARCHITECTURE.md, checked with grep so that a reviewer need not:
#   1. `unsafe` (blocks, fns, impls, traits, extern blocks) and `allow(unsafe_code)` only under
#      src/ffi/. Tests, examples, benches and build.rs included, with one exception: the raw
#      `openssl` crate baseline, benches/tls/raw.rs, which must be written on that crate alone
#      and offers a saved session through its `unsafe` `SslRef::set_session`.
#   2. Every `unsafe {` block in src/ffi/ (and the baseline's) has a `// SAFETY:` comment: on a comment line in the run
#      of comment/attribute lines just above it, or earlier on the same line.
#   3. src/engine/ is sans-IO: no `std::net`, `socket2`, `mio`, socket types, clock reads
#      (`Instant::now`, `SystemTime::now`), and no imports from the I/O shell (socket, server,
#      event_loop). Address values come from `core::net`, which has no sockets.
# Comment lines (//, //!, ///) are not code and are skipped. Exits 1 and lists every violation.
set -euo pipefail
cd "$(dirname "$0")/.."

status=0
fail() {
    echo "layering: $1" >&2
    sed 's/^/    /' >&2
    status=1
}

# Prints file:line:text for lines of the given .rs files (or directories) that match the ERE,
# leaving out comment lines.
code_grep() {
    local ere=$1
    shift
    local paths=()
    for p in "$@"; do [ -e "$p" ] && paths+=("$p"); done
    [ ${#paths[@]} -eq 0 ] && return 0
    grep -rnE --include='*.rs' "$ere" "${paths[@]}" | grep -vE '^[^:]+:[0-9]+:[[:space:]]*//' || true
}

# Rule 1.
unsafe_ere='(^|[^[:alnum:]_])unsafe[[:space:]]*(\{|fn[[:space:]]|impl[[:space:]<]|trait[[:space:]]|extern[[:space:]])|allow\([^)]*unsafe_code'
hits=$(code_grep "$unsafe_ere" src tests examples benches build.rs | grep -v -e '^src/ffi/' -e '^benches/tls/raw\.rs:' || true)
if [ -n "$hits" ]; then
    fail "unsafe code outside src/ffi/ (move it into src/ffi/ behind a safe function):" <<<"$hits"
fi

# Rule 2.
if [ -d src/ffi ]; then
    missing=$({ find src/ffi -name '*.rs' -print0 | sort -z; printf 'benches/tls/raw.rs\0'; } | xargs -0 -r awk '
        FNR == 1 { depth = 0 }
        {
            line = $0
            is_comment = (line ~ /^[[:space:]]*\/\//)
            is_attr = (line ~ /^[[:space:]]*#\[/)
            if (!is_comment && line ~ /(^|[^[:alnum:]_])unsafe[[:space:]]*\{/) {
                before = line
                sub(/unsafe[[:space:]]*\{.*/, "", before)
                if (before !~ /SAFETY:/ && !safety) print FILENAME ":" FNR ":" line
            }
            if (is_comment) { if (line ~ /^[[:space:]]*\/\/[[:space:]]*SAFETY:/) safety = 1 }
            else if (!is_attr) safety = 0
        }')
    if [ -n "$missing" ]; then
        fail "unsafe block without a \`// SAFETY:\` comment just above it:" <<<"$missing"
    fi
fi

# Rule 3.
engine_ere='(^|[^[:alnum:]_:])(std::net|socket2|mio)([^[:alnum:]_]|$)|(^|[^[:alnum:]_])(TcpStream|TcpListener|UdpSocket|Instant::now|SystemTime::now)([^[:alnum:]_]|$)|crate::(socket|server|event_loop)([^[:alnum:]_]|$)'
hits=$(code_grep "$engine_ere" src/engine)
if [ -n "$hits" ]; then
    fail "src/engine/ must stay sans-IO: no sockets, no clock, no shell imports (take \`now\` as an argument; use core::net for addresses):" <<<"$hits"
fi

if [ "$status" -eq 0 ]; then
    echo "layering: ok (unsafe only in src/ffi/ and documented; src/engine/ is sans-IO)"
fi
exit "$status"
