#!/usr/bin/env bash
# The whole check, fail-fast: lint -> test -> layering. This is the README's test command and the
# one thing .ci/run calls after installing what the machine lacks.
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib.sh

start=$(date +%s)
step lint bash ci/lint.sh
step test bash ci/test.sh
step layering bash ci/layering.sh
echo "ci/all.sh: all passed in $(($(date +%s) - start))s"
