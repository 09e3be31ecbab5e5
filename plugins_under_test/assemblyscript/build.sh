#!/usr/bin/env bash
# Builds the AssemblyScript sample plugins into fixtures/assemblyscript/ and records them in
# fixtures/assemblyscript/manifest.json. Run from anywhere; needs node/npm and python with wasmtime.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
OUT="$ROOT/fixtures/assemblyscript"
mkdir -p "$OUT"

cd "$HERE"
if [ ! -x node_modules/.bin/asc ]; then
  npm ci --no-audit --no-fund
fi
ASC_VERSION="$(node_modules/.bin/asc --version | sed 's/^Version //')"
SDK_VERSION="$(node -p 'require("./node_modules/@solo-io/proxy-runtime/package.json").version')"
TOOLCHAIN="assemblyscript ${ASC_VERSION} (asc -O3z --converge --noAssert --use abort=abort_proc_exit), node $(node --version)"

declare -A DESCRIPTION=(
  [basic_auth]="basic-auth contract: Basic credentials from pluginConfig JSON, 401 local response otherwise"
  [headers]="headers contract: logs request/response headers, adds configured headers, removes one"
  [callout_auth]="callout-auth contract: dispatch_http_call to a cluster, allow on even first body byte, 403 otherwise"
  [token_refresh]="root tick refreshes a token via an HTTP call into shared data; requests carry it in a header (503 before the first token)"
)

for name in basic_auth headers callout_auth token_refresh; do
  node_modules/.bin/asc "$name/index.ts" -b "$OUT/$name.wasm" \
    --use abort=abort_proc_exit -O3z --converge --noAssert >/dev/null 2>"$OUT/.asc-$name.log" || {
      cat "$OUT/.asc-$name.log" >&2; exit 1; }
  rm -f "$OUT/.asc-$name.log"
  (cd "$ROOT" && python plugins_under_test/manifest_tool.py add --group assemblyscript \
    --name "assemblyscript-${name//_/-}" --file "fixtures/assemblyscript/$name.wasm" \
    --language assemblyscript --sdk @solo-io/proxy-runtime --sdk-version "$SDK_VERSION" \
    --toolchain "$TOOLCHAIN" --source "plugins_under_test/assemblyscript/$name" \
    --kind sample --description "${DESCRIPTION[$name]}")
done
