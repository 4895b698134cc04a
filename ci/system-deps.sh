#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, if any is missing: OpenSSL headers
# and CLI (openssl-sys, interop tests), pkg-config and a C compiler (openssl-sys's build script),
# CA certificates, the shared libraries the PyQt6 wheels' QtCore/QtNetwork load (GLib, Kerberos
# GSS-API, Brotli: found with ldd, missing from minimal images), and python3-venv when python3
# cannot make a venv. Already installed: no-op.
# Uses sudo only when not root. Elsewhere than Debian/Ubuntu it only says what to install.
set -euo pipefail

pkgs=(libssl-dev openssl pkg-config ca-certificates gcc libglib2.0-0 libgssapi-krb5-2 libbrotli1)
if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then pkgs+=(python3-venv); fi
if ! command -v python3 >/dev/null; then pkgs+=(python3 python3-venv); fi

if ! command -v dpkg-query >/dev/null || ! command -v apt-get >/dev/null; then
    echo "system-deps: not a Debian-like system; make sure these (or their equivalents) are installed: ${pkgs[*]}"
    exit 0
fi
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "system-deps: all present: ${pkgs[*]}"
else
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then sudo=(sudo); fi
    echo "system-deps: installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}"
fi
dpkg-query -W -f='  ${Package} ${Version}\n' "${pkgs[@]}" 2>/dev/null || true

for tool in cargo rustc; do
    if ! command -v "$tool" >/dev/null; then
        echo "system-deps: $tool not found: install a Rust toolchain (rustup) first" >&2
        exit 1
    fi
done
