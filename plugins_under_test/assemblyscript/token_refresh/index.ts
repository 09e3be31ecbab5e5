// token_refresh: the root context refreshes a service token on a timer. Every tick it GETs the
// token from a cluster and stores a 200 answer's body in shared data; every request then carries
// the current token in a header, or gets 503 while no token has been fetched yet.
// Contract: plugins_under_test/assemblyscript/README.md.
export * from "@solo-io/proxy-runtime/proxy";
import {
  RootContext, Context, BaseContext, registerRootContext, FilterHeadersStatusValues, LogLevelValues,
  GrpcStatusValues, WasmResultValues, log, send_local_response, Headers,
} from "@solo-io/proxy-runtime";
import * as imports from "@solo-io/proxy-runtime/imports";
import {
  get_buffer_bytes, set_tick_period_milliseconds, add_header_map_value_string, HeaderMapTypeValues,
} from "@solo-io/proxy-runtime/runtime";
import { KIND_NUMBER, KIND_STRING, parseJsonObject, JsonValue } from "../common/json";
import { pair, readPluginConfiguration, singleHeader } from "../common/util";

const SHARED_KEY: string = "token_refresh.token";
const BUFFER_HTTP_CALL_RESPONSE_BODY: i32 = 4;
const MAP_HTTP_CALL_RESPONSE_HEADERS: i32 = 6;

class Settings {
  cluster: string = "token_service";
  authority: string = "tokens.internal";
  path: string = "/token";
  header: string = "x-service-token";
  period_ms: u32 = 5000;
}

// The shared-data value under `key`, or null when there is none (the SDK's helper passes the
// wrong pointers, so the plugin calls the import itself).
function readShared(key: string): ArrayBuffer | null {
  let keyBytes = String.UTF8.encode(key);
  let out = new ArrayBuffer(12);
  let base = changetype<usize>(out);
  let result = imports.proxy_get_shared_data(changetype<usize>(keyBytes), keyBytes.byteLength,
    base, base + 4, base + 8);
  if (result != WasmResultValues.Ok) return null;
  let size = load<u32>(base + 4);
  let value = new ArrayBuffer(size);
  memory.copy(changetype<usize>(value), <usize>load<u32>(base), size);
  return value;
}

function writeShared(key: string, value: ArrayBuffer): WasmResultValues {
  let keyBytes = String.UTF8.encode(key);
  return imports.proxy_set_shared_data(changetype<usize>(keyBytes), keyBytes.byteLength,
    changetype<usize>(value), value.byteLength, 0);
}

// The :status of the HTTP call answer, "" when the call failed.
function calloutStatus(): string {
  let name = String.UTF8.encode(":status");
  let out = new ArrayBuffer(8);
  let base = changetype<usize>(out);
  let result = imports.proxy_get_header_map_value(MAP_HTTP_CALL_RESPONSE_HEADERS,
    changetype<usize>(name), name.byteLength, base, base + 4);
  if (result != WasmResultValues.Ok) return "";
  let size = load<u32>(base + 4);
  let value = new ArrayBuffer(size);
  memory.copy(changetype<usize>(value), <usize>load<u32>(base), size);
  return String.UTF8.decode(value);
}

function stringSetting(obj: JsonValue, key: string, fallback: string): string | null {
  let v = obj.get(key);
  if (v === null) return fallback;
  if (v.kind != KIND_STRING) return null;
  return v.text;
}

class TokenRoot extends RootContext {
  settings: Settings = new Settings();

  createContext(context_id: u32): Context {
    return new TokenStream(context_id, this);
  }

  onConfigure(configuration_size: u32): bool {
    let text = readPluginConfiguration(configuration_size);
    let settings = new Settings();
    if (text.length > 0) {
      let obj = parseJsonObject(text);
      if (obj === null) {
        log(LogLevelValues.error, "token-refresh: invalid configuration: not a JSON object");
        return false;
      }
      let cluster = stringSetting(obj, "cluster", settings.cluster);
      let authority = stringSetting(obj, "authority", settings.authority);
      let path = stringSetting(obj, "path", settings.path);
      let header = stringSetting(obj, "header", settings.header);
      if (cluster === null || authority === null || path === null || header === null) {
        log(LogLevelValues.error, "token-refresh: invalid configuration: cluster, authority, path and header are strings");
        return false;
      }
      settings.cluster = cluster;
      settings.authority = authority;
      settings.path = path;
      settings.header = header;
      let period = obj.get("period_ms");
      if (period !== null) {
        if (period.kind != KIND_NUMBER || <i32>parseInt(period.text) <= 0) {
          log(LogLevelValues.error, "token-refresh: invalid configuration: period_ms is a positive number");
          return false;
        }
        settings.period_ms = <u32>parseInt(period.text);
      }
    }
    this.settings = settings;
    set_tick_period_milliseconds(settings.period_ms);
    log(LogLevelValues.info, "token-refresh: refreshing from " + settings.cluster + " every " +
      settings.period_ms.toString() + " ms");
    return true;
  }

  onTick(): void {
    let headers: Headers = [];
    headers.push(pair(":method", "GET"));
    headers.push(pair(":path", this.settings.path));
    headers.push(pair(":authority", this.settings.authority));
    let result = this.httpCall(this.settings.cluster, headers, new ArrayBuffer(0), [], 1000, this, onTokenAnswer);
    if (result != WasmResultValues.Ok) {
      log(LogLevelValues.warn, "token-refresh: dispatch failed: " + result.toString());
    }
  }
}

// Runs on the root context (the call's origin).
function onTokenAnswer(origin: Context, headers: u32, body_size: usize, trailers: u32): void {
  let status = calloutStatus();
  if (status != "200" || body_size == 0) {
    let shown = status.length > 0 ? status : "none";
    log(LogLevelValues.warn, "token-refresh: refresh failed (status " + shown + "), keeping the previous token");
    return;
  }
  let body = get_buffer_bytes(BUFFER_HTTP_CALL_RESPONSE_BODY, 0, <u32>body_size);
  let result = writeShared(SHARED_KEY, body);
  log(LogLevelValues.info, "token-refresh: token updated (" + body_size.toString() + " bytes, " +
    result.toString() + ")");
}

class TokenStream extends Context {
  constructor(context_id: u32, root_context: TokenRoot) {
    super(context_id, root_context);
  }

  onRequestHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    let root = this.root_context as TokenRoot;
    let token = readShared(SHARED_KEY);
    if (token === null) {
      log(LogLevelValues.warn, "token-refresh: no token yet");
      send_local_response(503, "token_not_ready", String.UTF8.encode("token not ready\n"),
        singleHeader("retry-after", "1"), GrpcStatusValues.InvalidCode);
      return FilterHeadersStatusValues.StopIteration;
    }
    add_header_map_value_string(HeaderMapTypeValues.RequestHeaders, root.settings.header,
      String.UTF8.decode(token));
    return FilterHeadersStatusValues.Continue;
  }
}

function newRoot(context_id: u32): RootContext {
  return new TokenRoot(context_id);
}

registerRootContext(newRoot, "");
registerRootContext(newRoot, "token_refresh");
