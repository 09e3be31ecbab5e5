#!/usr/bin/env bash
# Builds the C++ coverage sample WITH DWARF (-g, -O0) against wasi-libc and the wasm32 libc++ into
# fixtures/c/cpp_coverage.wasm and records it in fixtures/c/manifest.json. Source paths in the DWARF
# are relative to the repository root (-fdebug-prefix-map), so reports map them with
# --proxy-wasm-coverage-source-root=<repo>; libc++'s headers stay under /usr (not the plugin's code).
# Needs clang-22, wasm-ld-22 and (apt) wasi-libc libc++-22-dev-wasm32 libc++abi-22-dev-wasm32
# libclang-rt-22-dev-wasm32; run from anywhere.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/fixtures/c"
# wasm32-wasi (not -wasip1): the triple Debian's wasi-libc and libc++ directories are named after.
# -no-demangle (clang drops the spelling --no-demangle for wasm-ld): wasm-ld would write demangled names itself; mangled ones exercise our demangling
# (as modules from linkers that keep them, e.g. rustc's, have).
FLAGS=(--target=wasm32-wasi -Wno-deprecated -std=c++20 -O0 -g -fno-exceptions -fno-rtti -Wall -Wextra -Werror
  -mexec-model=reactor -fuse-ld=/usr/bin/wasm-ld-22 -Wl,--export=malloc -Wl,-no-demangle "-fdebug-prefix-map=$ROOT=.")
TOOLCHAIN="$(clang++-22 --version | head -1): clang++-22 ${FLAGS[*]/#-fdebug-prefix-map=*/-fdebug-prefix-map=<repo>=.}, libc++ $(dpkg-query -W -f '${Version}' libc++-22-dev-wasm32)"
cd "$ROOT"
clang++-22 "${FLAGS[@]}" -o "$OUT/cpp_coverage.wasm" plugins_under_test/c/cpp_coverage/cpp_coverage.cc
chmod 644 "$OUT/cpp_coverage.wasm"
python plugins_under_test/manifest_tool.py add --group c --name cpp-coverage --file fixtures/c/cpp_coverage.wasm \
  --language c++ --sdk none --sdk-version - --toolchain "$TOOLCHAIN" --source plugins_under_test/c/cpp_coverage \
  --kind sample --description "ABI 0.2.1 C++ (libc++) with DWARF: /admin* and /internal* get a 403 (deny), others x-verdict: allow"
