#!/usr/bin/env bash
# Builds the headers sample WITH DWARF line tables into fixtures/rust/headers_debug.wasm (coverage tests,
# docs/coverage.md) and records it in fixtures/rust/manifest.json. Same toolchain as build.sh; the
# release profile's `debug`/`strip` are overridden through the environment, and the sources are
# remapped to /plugins, so reports map them with --proxy-wasm-coverage-source-root=plugins_under_test/rust
# after the /plugins prefix (see docs/coverage.md).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
export RUSTC=/usr/bin/rustc RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR="$HERE/target-debug"
unset RUSTUP_TOOLCHAIN RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS || true
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"
REMAP="--remap-path-prefix=$HERE=. --remap-path-prefix=$CARGO_HOME_DIR/registry/src=/cargo-registry --remap-path-prefix=/usr/lib/rustlib/src/rust=/rust-src --remap-path-prefix=/usr/src/rustc-$("$RUSTC" --version | awk '{print $2}')=/rust-src"
export CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C link-self-contained=no -L native=/usr/lib/wasm32-wasi $REMAP"
export CARGO_PROFILE_RELEASE_DEBUG=line-tables-only CARGO_PROFILE_RELEASE_STRIP=none
cd "$HERE"
/usr/bin/cargo build --locked --release -p headers --target wasm32-wasip1 -Zbuild-std=std,panic_abort
cp "$CARGO_TARGET_DIR/wasm32-wasip1/release/headers.wasm" "$ROOT/fixtures/rust/headers_debug.wasm"
(cd "$ROOT" && python plugins_under_test/manifest_tool.py add --group rust --name rust-headers-debug \
  --file fixtures/rust/headers_debug.wasm --language rust --sdk proxy-wasm --sdk-version 0.2.5 \
  --toolchain "$("$RUSTC" --version) wasm32-wasip1, debug=line-tables-only strip=none" \
  --source plugins_under_test/rust/headers --kind sample \
  --description "The headers sample with DWARF line tables (coverage tests)")
