#!/usr/bin/env bash
# Formatting, clippy and rustdoc, all with warnings as errors. Runs from any directory.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib.sh

fmt_args=()
if [ "${CI:-}" = true ]; then fmt_args=(-- --color=never); fi # rustfmt colours even into a log file
step "cargo fmt --check" cargo fmt --check "${fmt_args[@]}"
step "cargo clippy" cargo clippy "${CARGO_LOCKED[@]}" --all-targets -- -D warnings
# The fuzz targets' entry points (feature `fuzzing`; the targets themselves need nightly, fuzz/).
step "cargo clippy (fuzzing)" cargo clippy "${CARGO_LOCKED[@]}" --lib --features fuzzing -- -D warnings
step "cargo doc" env RUSTDOCFLAGS="${RUSTDOCFLAGS:-} -Dwarnings" \
    cargo doc "${CARGO_LOCKED[@]}" --no-deps
