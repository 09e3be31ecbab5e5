#!/usr/bin/env bash
# Install the Debian toolchain that builds the Rust sample plugins (idempotent).
# Debian's rustc has no prebuilt std for wasm targets, so build.sh rebuilds std from
# rust-web-src with -Zbuild-std; wasi-libc supplies libc for wasm32-wasip1 and lld-22 the linker.
set -euo pipefail

PACKAGES=(rustc-web cargo-web rust-web-src lld-22 wasi-libc)

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
  $SUDO apt-get -o DPkg::Lock::Timeout=900 update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=900 install -y -q "${missing[@]}"
fi

/usr/bin/rustc --version
/usr/bin/cargo --version
test -d "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library" \
  || { echo "rust-web-src is missing: no library sources for -Zbuild-std" >&2; exit 1; }
test -f /usr/lib/wasm32-wasi/libc.a || { echo "wasi-libc is missing" >&2; exit 1; }
