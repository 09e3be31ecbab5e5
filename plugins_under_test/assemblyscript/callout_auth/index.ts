// callout-auth sample plugin (contract: plugins_under_test/CONTRACTS.md).
export * from "@solo-io/proxy-runtime/proxy";
import {
  RootContext, Context, BaseContext, registerRootContext, FilterHeadersStatusValues, LogLevelValues,
  GrpcStatusValues, WasmResultValues, log, send_local_response, continue_request, Headers,
} from "@solo-io/proxy-runtime";
import { get_buffer_bytes } from "@solo-io/proxy-runtime/runtime";
import { KIND_STRING, parseJsonObject } from "../common/json";
import { pair, readPluginConfiguration, singleHeader } from "../common/util";

const DEFAULT_CLUSTER: string = "outbound|5000||sealos.hub";
const BUFFER_HTTP_CALL_RESPONSE_BODY: i32 = 4;

class CalloutAuthRoot extends RootContext {
  cluster: string = DEFAULT_CLUSTER;

  createContext(context_id: u32): Context {
    return new CalloutAuth(context_id, this);
  }

  onConfigure(configuration_size: u32): bool {
    let text = readPluginConfiguration(configuration_size);
    let cluster = DEFAULT_CLUSTER;
    if (text.length > 0) {
      let obj = parseJsonObject(text);
      if (obj === null) {
        log(LogLevelValues.error, "callout-auth: invalid configuration");
        return false;
      }
      let c = obj.get("cluster");
      if (c !== null) {
        if (c.kind != KIND_STRING) {
          log(LogLevelValues.error, "callout-auth: invalid configuration");
          return false;
        }
        cluster = c.text;
      }
    }
    this.cluster = cluster;
    return true;
  }
}

// Runs in the stream context: the SDK sets the effective context to the
// request that dispatched the call before invoking this callback.
function onCalloutResponse(origin: Context, headers: u32, body_size: usize, trailers: u32): void {
  let allow = false;
  if (body_size > 0) {
    let body = Uint8Array.wrap(get_buffer_bytes(BUFFER_HTTP_CALL_RESPONSE_BODY, 0, <u32>body_size));
    allow = body.length > 0 && (body[0] & 1) == 0;
  }
  if (allow) {
    continue_request();
    return;
  }
  send_local_response(403, "", String.UTF8.encode("Access forbidden."),
    singleHeader("Powered-By", "proxy-wasm"), GrpcStatusValues.InvalidCode);
}

class CalloutAuth extends Context {
  constructor(context_id: u32, root_context: CalloutAuthRoot) {
    super(context_id, root_context);
  }

  onRequestHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    let root = this.root_context as CalloutAuthRoot;
    let callHeaders: Headers = [];
    callHeaders.push(pair(":method", "GET"));
    callHeaders.push(pair(":path", "/bytes/1"));
    callHeaders.push(pair(":authority", "sealos.hub:5000"));
    let result = root.httpCall(root.cluster, callHeaders, new ArrayBuffer(0), [], 5000, this, onCalloutResponse);
    if (result != WasmResultValues.Ok) {
      send_local_response(503, "", String.UTF8.encode("callout dispatch failed"),
        singleHeader("Powered-By", "proxy-wasm"), GrpcStatusValues.InvalidCode);
      return FilterHeadersStatusValues.StopIteration;
    }
    log(LogLevelValues.info, "callout-auth: dispatched");
    return FilterHeadersStatusValues.StopIteration;
  }
}

function newRoot(context_id: u32): RootContext {
  return new CalloutAuthRoot(context_id);
}

// The SDK picks the root context by the host's `plugin_root_id` property.
registerRootContext(newRoot, "");
registerRootContext(newRoot, "callout-auth");
registerRootContext(newRoot, "callout_auth");
