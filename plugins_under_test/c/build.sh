#!/usr/bin/env bash
# Builds the freestanding C plugins into fixtures/c/ with zig's clang (PyPI `ziglang`) and records
# them in fixtures/c/manifest.json. Run from anywhere; needs python with ziglang and wasmtime.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/fixtures/c"
mkdir -p "$OUT"

ZIG_EXPECTED="0.17.1"
if ! python -c "import ziglang" 2>/dev/null; then
  python -m pip install --quiet "ziglang==$ZIG_EXPECTED"
fi
ZIG_VERSION="$(python -m ziglang version)"
CLANG_VERSION="$(python -m ziglang cc --version | head -1 | sed 's/^clang version //')"
CFLAGS=(-target wasm32-wasi -O2 -g0 -nostdlib -Wall -Wextra -Werror -Wl,--no-entry -Wl,--strip-debug)
TOOLCHAIN="zig ${ZIG_VERSION} (PyPI ziglang; clang ${CLANG_VERSION}): zig cc ${CFLAGS[*]}"

declare -A ABI_DESCRIPTION=(
  [c_headers]="ABI 0.2.1 raw C: logs ':method :path', adds x-c-plugin: 1 to request and response headers"
  [c_abi_010]="ABI 0.1.0 raw C: proxy_get_configuration in on_configure, adds x-abi and x-config request headers"
)

cd "$HERE"
for name in c_headers c_abi_010; do
  python -m ziglang cc "${CFLAGS[@]}" -o "$OUT/$name.wasm" "$name/$name.c"
  chmod 644 "$OUT/$name.wasm"
  (cd "$ROOT" && python plugins_under_test/manifest_tool.py add --group c \
    --name "c-${name//_/-}" --file "fixtures/c/$name.wasm" --language c --sdk none \
    --sdk-version - --toolchain "$TOOLCHAIN" --source "plugins_under_test/c/$name" \
    --kind sample --description "${ABI_DESCRIPTION[$name]}")
done
