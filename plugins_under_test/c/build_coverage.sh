#!/usr/bin/env bash
# Builds the C coverage sample WITH DWARF (-g) into fixtures/c/c_coverage.wasm and records it in
# fixtures/c/manifest.json. Source paths in the DWARF are made relative to the repository root
# (-fdebug-prefix-map), so reports map them with --proxy-wasm-coverage-source-root=<repo>.
# Needs clang-22 and wasm-ld-22 (apt: clang-22 lld-22); run from anywhere.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/fixtures/c"
CFLAGS=(--target=wasm32-wasip1 -ffreestanding -O1 -g -nostdlib -Wall -Wextra -Werror
  -fuse-ld=/usr/bin/wasm-ld-22 -Wl,--no-entry "-fdebug-prefix-map=$ROOT=.")
TOOLCHAIN="$(clang-22 --version | head -1): clang-22 ${CFLAGS[*]/#-fdebug-prefix-map=*/-fdebug-prefix-map=<repo>=.}"
cd "$ROOT"
clang-22 "${CFLAGS[@]}" -o "$OUT/c_coverage.wasm" plugins_under_test/c/c_coverage/c_coverage.c
chmod 644 "$OUT/c_coverage.wasm"
python plugins_under_test/manifest_tool.py add --group c --name c-coverage --file fixtures/c/c_coverage.wasm \
  --language c --sdk none --sdk-version - --toolchain "$TOOLCHAIN" --source plugins_under_test/c/c_coverage \
  --kind sample --description "ABI 0.2.1 raw C with DWARF: /admin* gets a 403 (deny), others x-verdict: allow"
clang-22 "${CFLAGS[@]}" -o "$OUT/c_guided.wasm" plugins_under_test/c/c_guided/c_guided.c
chmod 644 "$OUT/c_guided.wasm"
python plugins_under_test/manifest_tool.py add --group c --name c-guided --file fixtures/c/c_guided.wasm \
  --language c --sdk none --sdk-version - --toolchain "$TOOLCHAIN" --source plugins_under_test/c/c_guided \
  --kind sample --description "ABI 0.2.1 raw C with DWARF: branches nested on x-mode: debug, /admin*, x-token: letmein (418)"
