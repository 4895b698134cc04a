#!/usr/bin/env bash
# Creates or refreshes the Python venv for test peers (tlslite-ng, PyQt6, cryptography), from
# ci/python-requirements.txt. Idempotent: when the venv was made from the same requirements and
# still imports them, it does nothing. Runs from any directory.
#   bash ci/python-env.sh            -> venv at $QSSL_VENV (default ~/.cache/qsslsocket-venv)
#   export QSSL_TEST_PYTHON=$QSSL_VENV/bin/python   (ci/test.sh does this by itself)
set -euo pipefail
cd "$(dirname "$0")/.."
source ci/lib.sh

req=ci/python-requirements.txt
stamp=$QSSL_VENV/qsslsocket-requirements.txt
check='
import sys, ssl, tlslite, ecdsa, cryptography
from PyQt6.QtCore import qVersion
from PyQt6.QtNetwork import QSslSocket
print("python", sys.version.split()[0], "| tlslite-ng", tlslite.__version__, "| ecdsa",
      ecdsa.__version__, "| cryptography", cryptography.__version__, "| Qt", qVersion(),
      "| Qt TLS backend:", QSslSocket.sslLibraryVersionString())
if not QSslSocket.supportsSsl():
    sys.exit("PyQt6 loaded, but Qt found no usable OpenSSL (libssl.so.3): QSslSocket.supportsSsl() is false")
'

if [ -x "$QSSL_VENV/bin/python" ] && cmp -s "$req" "$stamp" \
    && "$QSSL_VENV/bin/python" -c "$check" 2>/dev/null; then
    echo "python-env: $QSSL_VENV is up to date"
    exit 0
fi

python=${PYTHON:-python3}
echo "python-env: creating $QSSL_VENV with $("$python" --version 2>&1)"
rm -rf "$QSSL_VENV"
mkdir -p "$(dirname "$QSSL_VENV")"
"$python" -m venv "$QSSL_VENV"
"$QSSL_VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-input -r "$req"
"$QSSL_VENV/bin/python" -c "$check"
cp "$req" "$stamp"
echo "python-env: ready; tests use QSSL_TEST_PYTHON=$QSSL_VENV/bin/python"
