#!/usr/bin/env bash
# Formatting, clippy and rustdoc, all with warnings as errors. Runs from any directory.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib.sh

step "cargo fmt --check" cargo fmt --check
step "cargo clippy" cargo clippy "${CARGO_LOCKED[@]}" --all-targets -- -D warnings
step "cargo doc" env RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -Dwarnings" \
    cargo doc "${CARGO_LOCKED[@]}" --no-deps
