#!/usr/bin/env bash
# Runs test binaries under valgrind's memcheck to catch leaked, double-freed or misused OpenSSL
# objects at the FFI boundary. Not part of ci/all.sh: it takes minutes, and valgrind must be
# installed (Debian: apt-get install valgrind).
#   bash ci/valgrind.sh                 the library's unit tests and every integration test binary
#   bash ci/valgrind.sh engine verify   only the test targets with these names ("lib" = unit tests)
# Only definite and indirect leaks fail: OpenSSL keeps global tables alive until exit on purpose,
# and those show up as "still reachable".
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind.sh: valgrind is not installed" >&2; exit 1; }

# One "name<TAB>path" line per test executable, from cargo's JSON messages.
executables=$(cargo test --no-run --lib --tests --message-format=json | python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        kind = m["target"]["kind"][0]
        print(("lib" if kind == "lib" else m["target"]["name"]) + "\t" + m["executable"])
')
[ -n "$executables" ] || { echo "valgrind.sh: no test executables (does the crate build?)" >&2; exit 1; }

status=0
while IFS=$'\t' read -r name exe; do
    if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qxF "$name"; then continue; fi
    echo "==> valgrind: $name"
    # One test thread keeps the report readable; Python peers are not run under valgrind.
    valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --show-leak-kinds=definite,indirect --error-exitcode=99 --trace-children=no \
        "$exe" --test-threads=1 || status=1
done <<<"$executables"
exit "$status"
