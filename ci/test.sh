#!/usr/bin/env bash
# Every test: unit, integration, examples and benches (built and run as tests), then doctests.
# Plain `cargo test` rather than nextest: nextest does not run doctests, and CI reads the normal
# "test result:" summary lines. Extra arguments go to both runs, for example a test-name filter.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib.sh

# Tests that drive Python peers (tlslite-ng) or the real Qt (PyQt6) find the interpreter here.
# ci/python-env.sh makes the venv; without one those tests fail and say what to install.
if [ -z "${QSSL_TEST_PYTHON:-}" ] && [ -x "$QSSL_VENV/bin/python" ]; then
    export QSSL_TEST_PYTHON="$QSSL_VENV/bin/python"
fi
echo "QSSL_TEST_PYTHON=${QSSL_TEST_PYTHON:-<unset: python3 on PATH, which needs tlslite-ng and PyQt6 for those tests>}"
export RUST_BACKTRACE=${RUST_BACKTRACE:-1}

step "cargo test --all-targets" cargo test "${CARGO_LOCKED[@]}" --all-targets "$@"
step "cargo test --doc" cargo test "${CARGO_LOCKED[@]}" --doc "$@"
