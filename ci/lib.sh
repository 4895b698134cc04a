# Sourced by the ci/ scripts and .ci/run: shared settings and the `step` timer. Not run directly.

# The Python environment for test peers (tlslite-ng, PyQt6). Outside the work tree, so that a fresh
# clone on the same machine reuses it; ci/python-env.sh creates or refreshes it.
QSSL_VENV=${QSSL_VENV:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/qsslsocket-venv}

# Under CI, cargo must not touch Cargo.lock: a stale lock file fails loudly instead.
CARGO_LOCKED=()
if [ "${CI:-}" = true ]; then CARGO_LOCKED=(--locked); fi

# step NAME CMD...: run CMD, then print how long it took and whether it passed. Returns CMD's status.
step() {
    local name=$1 start rc=0
    shift
    start=$(date +%s)
    printf '\n==> %s\n' "$name"
    "$@" || rc=$?
    printf '<== %s: %s in %ss\n' "$name" "$([ "$rc" -eq 0 ] && echo ok || echo "FAILED (exit $rc)")" \
        "$(($(date +%s) - start))"
    return "$rc"
}
