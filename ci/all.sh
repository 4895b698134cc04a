#!/usr/bin/env bash
# The whole check, fail-fast: what the machine lacks is installed first (Debian packages, with
# sudo when not root; the Python venv of test peers; both no-ops when present), then lint ->
# test -> layering. This is the README's test command, and what .ci/run runs.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib.sh

start=$(date +%s)
step "system packages" bash ci/system-deps.sh
step "python venv for test peers" bash ci/python-env.sh
step lint bash ci/lint.sh
step test bash ci/test.sh
step layering bash ci/layering.sh
echo "ci/all.sh: all passed in $(($(date +%s) - start))s"
