#!/usr/bin/env bash
# Build every Go sample plugin, copy it to fixtures/go/<plugin>.wasm and record
# it in fixtures/go/manifest.json. Run from anywhere; needs Go >= 1.24 and a
# Python with wasmtime (for manifest_tool.py).
#
#   plugins_under_test/go/build.sh            # build + record all plugins
#   NO_MANIFEST=1 plugins_under_test/go/build.sh   # build + copy only
#   OUT=/tmp/x plugins_under_test/go/build.sh      # build into another dir (no copy/record)
#   plugins_under_test/go/build.sh body_sum canary  # only the named plugins
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PYTHON="${PYTHON:-python3}"

PLUGINS=(basic_auth headers callout_auth body shared_state tcp probe body_sum canary service_ticker jwt_auth authz_shim ip_allow body_validator route_meter higress_ratelimit config_file)
declare -A DESCRIPTIONS=(
  [basic_auth]="Basic auth from pluginConfig (CONTRACTS.md basic-auth)"
  [headers]="Logs request/response headers, adds one header each way, removes one (CONTRACTS.md headers)"
  [callout_auth]="Authorizes each request with an HTTP callout (CONTRACTS.md callout-auth)"
  [body]="Buffers bodies; rewrites a field of a JSON request body, replaces the response body"
  [shared_state]="Tick timer, CAS shared-data request counter (x-request-count), shared queue, counter/gauge/histogram"
  [tcp]="L4 filter counting bytes each way; closes the connection on CLOSE in downstream data"
  [probe]="Calls every reachable hostcall with ordinary and edge-case arguments, one log line per call"
  [body_sum]="Sums on_request_body sizes and compares with content-length (carries the cumulative-size bug): 400 on mismatch"
  [canary]="math/rand draw per request against canary_percent (pluginConfig); sets x-canary: true|false"
  [jwt_auth]="Gateway-style HS256 JWT check: exp/nbf against proxy_get_current_time_nanoseconds; x-jwt-sub upstream"
  [service_ticker]="Root-only service (twin of rust/service): ticks count in shared data (CAS), enqueue an event, HTTP callout report"
  [authz_shim]="External-authorization shim: unary gRPC Check to the cluster 'authorino' (pluginConfig cluster); crashes Envoy 1.40 with that name (issue 25)"
  [ip_allow]="IP allow-list on the source.address property (the client address Envoy's connection manager decides): 403 outside it"
  [body_validator]="Continues request headers, buffers the body, 403 from on_request_body for a non-JSON body or a missing required field"
  [route_meter]="Rate-limit shim: reads request.url_path and other request.* properties in every callback, strips a :path prefix, 429 over quota"
  [higress_ratelimit]="Higress-style (ABI 0.2.100, own shim): INCR per user and route in Redis, 429 past the limit"
  [config_file]="os.Stat of an optional rules file at start (imports path_filestat_get: refused by Envoy before 1.39)"
)
# issue 21: a bot detector that holds requests without User-Agent forever; a 6-8 MB API gateway
PLUGINS+=(bot_detect gateway)
DESCRIPTIONS[bot_detect]="Bot detection: 403 on a User-Agent deny-list; a request without User-Agent is paused forever (a real hang, on Envoy too)"
DESCRIPTIONS[gateway]="API gateway (6-8 MB): JSON config, JWT HS256/RS256/ES256/EdDSA via x509, CORS, CIDR allow-list, regexp block rules, token bucket"
# issue 20 (blind scenario check): a CORS filter
PLUGINS+=(cors)
DESCRIPTIONS[cors]="CORS: preflights answered locally (204/403), Access-Control-* on allowed origins' responses, counters cors_preflight_total/cors_refused_total"
# Samples that do not use pwabi (their own ABI shim): the SDK name recorded in the manifest.
declare -A SDKS=([higress_ratelimit]="higress-shim")
declare -A SDK_VERSIONS=([higress_ratelimit]="0.2.100")

if [ $# -gt 0 ]; then
  for p in "$@"; do
    [[ -v "DESCRIPTIONS[$p]" ]] || { echo "unknown plugin: $p" >&2; exit 2; }
  done
  PLUGINS=("$@")
fi

# Reproducibility: fixed toolchain (no auto-download), no VCS stamping, no
# build id, trimmed paths, no cgo, module graph read-only.
export GOOS=wasip1 GOARCH=wasm CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
GO_VERSION="$(go env GOVERSION)"
ABI_VERSION="$(sed -n 's/^const Version = "\(.*\)"$/\1/p' "$HERE/pwabi/types.go")"
TOOLCHAIN="$GO_VERSION wasip1 c-shared"

OUT="${OUT:-}"
BUILD_DIR="${OUT:-$ROOT/fixtures/go}"
mkdir -p "$BUILD_DIR"

cd "$HERE"
for p in "${PLUGINS[@]}"; do
  go build -trimpath -ldflags="-buildid=" -buildmode=c-shared -o "$BUILD_DIR/$p.wasm" "./$p"
  echo "built $p: $(wc -c <"$BUILD_DIR/$p.wasm") bytes"
done

if [[ -n "$OUT" || -n "${NO_MANIFEST:-}" ]]; then
  exit 0
fi

cd "$ROOT"
for p in "${PLUGINS[@]}"; do
  name="go-${p//_/-}"
  "$PYTHON" plugins_under_test/manifest_tool.py add --group go --name "$name" \
    --file "fixtures/go/$p.wasm" --language go --sdk "${SDKS[$p]:-pwabi}" --sdk-version "${SDK_VERSIONS[$p]:-$ABI_VERSION}" \
    --toolchain "$TOOLCHAIN" --source "plugins_under_test/go/$p" --kind sample \
    --description "${DESCRIPTIONS[$p]}"
done
