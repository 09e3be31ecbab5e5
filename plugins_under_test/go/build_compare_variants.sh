#!/usr/bin/env bash
# Build the modules the `compare` tests use (tests/compare/), copy them to fixtures/go/ and record them
# in fixtures/go/manifest.json (kind "sample"; the descriptions say they exist for compare):
#
#   headers_rebuilt.wasm  the headers/ source built a second time, stripped (-ldflags "-s -w"): other
#                         bytes than fixtures/go/headers.wasm, the same behaviour
#   headers_v2.wasm       headers_v2/: the headers sample with two deliberate changes (response header
#                         value, one more log line per request), also stripped
#
#   plugins_under_test/go/build_compare_variants.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"

export GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
GO_VERSION="$(go env GOVERSION)"
ABI_VERSION="$(sed -n 's/^const Version = "\(.*\)"$/\1/p' "$HERE/pwabi/types.go")"

cd "$HERE"
go build -trimpath -ldflags="-s -w -buildid=" -buildmode=c-shared -o "$ROOT/fixtures/go/headers_rebuilt.wasm" ./headers
go build -trimpath -ldflags="-s -w -buildid=" -buildmode=c-shared -o "$ROOT/fixtures/go/headers_v2.wasm" ./headers_v2

cd "$ROOT"
"$PYTHON" plugins_under_test/manifest_tool.py add --group go --name go-headers-rebuilt \
  --file fixtures/go/headers_rebuilt.wasm --language go --sdk pwabi --sdk-version "$ABI_VERSION" \
  --toolchain "$GO_VERSION wasip1 c-shared -ldflags=-s -w" --source plugins_under_test/go/headers \
  --kind sample \
  --description "The headers sample built a second time, stripped: other bytes, same behaviour (compare tests)"
"$PYTHON" plugins_under_test/manifest_tool.py add --group go --name go-headers-v2 \
  --file fixtures/go/headers_v2.wasm --language go --sdk pwabi --sdk-version "$ABI_VERSION" \
  --toolchain "$GO_VERSION wasip1 c-shared -ldflags=-s -w" --source plugins_under_test/go/headers_v2 \
  --kind sample \
  --description "The headers sample changed: x-wasm-response world-v2, one more log line per request (compare tests)"
