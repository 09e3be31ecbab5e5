#!/usr/bin/env bash
# Build every Rust sample plugin with Debian's rustc + rust-src (-Zbuild-std) and record each
# module in fixtures/rust/manifest.json. Run from anywhere; set up the toolchain with setup.sh.
#
#   plugins_under_test/rust/build.sh            # build all plugins
#   plugins_under_test/rust/build.sh headers    # build only the named plugins
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
FIXTURES="$ROOT/fixtures/rust"
PYTHON="${PYTHON:-python}"

export RUSTC=/usr/bin/rustc
export RUSTC_BOOTSTRAP=1
export CARGO_TARGET_DIR="$HERE/target"
# Debian's rustc ships no prebuilt wasm std; keep rustup (if any) out of the way.
unset RUSTUP_TOOLCHAIN RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_RUSTFLAGS || true
CARGO=/usr/bin/cargo
CARGO_HOME_DIR="${CARGO_HOME:-$HOME/.cargo}"

SDK_VERSION="0.2.5"
RUSTC_VERSION="$("$RUSTC" --version)"

# Paths baked into panic messages are remapped so the output does not depend on where the
# repository, the cargo registry or the Rust sources live.
REMAP="--remap-path-prefix=$HERE=/plugins --remap-path-prefix=$CARGO_HOME_DIR/registry/src=/cargo-registry --remap-path-prefix=/usr/lib/rustlib/src/rust=/rust-src --remap-path-prefix=/usr/src/rustc-$("$RUSTC" --version | awk '{print $2}')=/rust-src"
export CARGO_TARGET_WASM32_WASIP1_RUSTFLAGS="-C link-self-contained=no -L native=/usr/lib/wasm32-wasi $REMAP"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$REMAP"

# plugin  target  description
PLUGINS=(
  "basic_auth|wasm32-wasip1|Basic auth from pluginConfig (CONTRACTS.md basic-auth)"
  "headers|wasm32-wasip1|Logs, adds and removes request/response headers (CONTRACTS.md headers)"
  "callout_auth|wasm32-wasip1|HTTP callout decides allow/deny (CONTRACTS.md callout-auth)"
  "body|wasm32-wasip1|Buffers and rewrites JSON request body, replaces response body"
  "shared_state|wasm32-wasip1|Two root contexts: tick, shared-data CAS counter, shared queue, metrics"
  "grpc_auth|wasm32-unknown-unknown|gRPC unary callout decides allow/deny; gRPC stream on /stream"
  "tcp|wasm32-wasip1|L4 filter counting bytes each way, closes on CLOSE marker"
  "probe|wasm32-wasip1|Calls every reachable hostcall with edge cases and logs each status"
  "string_headers|wasm32-wasip1|SDK String header API: x-ua-class on requests; panics on a non-UTF-8 value"
  "service|wasm32-wasip1|Root-only service: ticks count in shared data (CAS), enqueue an event, HTTP callout report"
  "istio_template|wasm32-wasip1|Istio guide template: logs config and headers (String API), 401 JSON under /v2"
  "guide_callout|wasm32-wasip1|Istio guide dispatch_http_call snippet: even first byte allows, else 403"
  "auth_random|wasm32-wasip1|SDK http_auth_random in spirit: callout byte allows/denies (403/503), response headers set/removed from JSON config"
  "grpc_ratelimit|wasm32-wasip1|Rate-limit shim: unary gRPC ShouldRateLimit to 'ratelimit', 429 + x-ratelimit-limited when over limit, fail_open on gRPC error"
)

want=("$@")
mkdir -p "$FIXTURES"
cd "$HERE"
for entry in "${PLUGINS[@]}"; do
  IFS='|' read -r plugin target description <<<"$entry"
  if [ ${#want[@]} -gt 0 ] && [[ ! " ${want[*]} " == *" $plugin "* ]]; then
    continue
  fi
  echo "== $plugin ($target)"
  "$CARGO" build --locked --release -p "$plugin" --target "$target" \
    -Zbuild-std=std,panic_abort
  cp "$CARGO_TARGET_DIR/$target/release/$plugin.wasm" "$FIXTURES/$plugin.wasm"
  (cd "$ROOT" && "$PYTHON" plugins_under_test/manifest_tool.py add --group rust \
    --name "rust-${plugin//_/-}" --file "fixtures/rust/$plugin.wasm" --language rust \
    --sdk proxy-wasm --sdk-version "$SDK_VERSION" --toolchain "$RUSTC_VERSION $target" \
    --source "plugins_under_test/rust/$plugin" --kind sample --description "$description")
done
