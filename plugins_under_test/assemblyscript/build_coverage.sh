#!/usr/bin/env bash
# Builds the basic_auth sample WITH a source map into fixtures/assemblyscript/basic_auth_debug.wasm
# (+ basic_auth_debug.wasm.map beside it; the module's sourceMappingURL custom section names it,
# relative to the module) for the coverage tests, and records it in the manifest. Unoptimized, so
# each statement keeps its own code. Source paths in the map are relative to this directory: reports
# map them with --proxy-wasm-coverage-source-root=plugins_under_test/assemblyscript.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/fixtures/assemblyscript"
cd "$HERE"
if [ ! -x node_modules/.bin/asc ]; then
  npm ci --no-audit --no-fund
fi
ASC_VERSION="$(node_modules/.bin/asc --version | sed 's/^Version //')"
SDK_VERSION="$(node -p 'require("./node_modules/@solo-io/proxy-runtime/package.json").version')"
FLAGS=(--use abort=abort_proc_exit --debug --sourceMap)
node_modules/.bin/asc basic_auth/index.ts -b "$OUT/basic_auth_debug.wasm" "${FLAGS[@]}" >/dev/null
# asc writes the sources' text into the map too; keep only the mappings (the sources are in the repo).
python3 - "$OUT/basic_auth_debug.wasm.map" <<'PY'
import json, sys
path = sys.argv[1]
data = json.load(open(path))
data.pop("sourcesContent", None)
open(path, "w").write(json.dumps(data, separators=(",", ":")) + "\n")
PY
cd "$ROOT"
python plugins_under_test/manifest_tool.py add --group assemblyscript --name assemblyscript-basic-auth-debug \
  --file fixtures/assemblyscript/basic_auth_debug.wasm --language assemblyscript \
  --sdk @solo-io/proxy-runtime --sdk-version "$SDK_VERSION" \
  --toolchain "assemblyscript ${ASC_VERSION} (asc ${FLAGS[*]}), node $(node --version)" \
  --source plugins_under_test/assemblyscript/basic_auth --kind sample \
  --description "basic-auth contract, built with a source map (coverage tests)"
