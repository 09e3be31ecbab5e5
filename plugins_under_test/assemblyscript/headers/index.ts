// headers sample plugin (contract: plugins_under_test/CONTRACTS.md).
export * from "@solo-io/proxy-runtime/proxy";
import {
  RootContext, Context, registerRootContext, FilterHeadersStatusValues, LogLevelValues, log,
  stream_context, Headers,
} from "@solo-io/proxy-runtime";
import { JsonValue, KIND_ARRAY, KIND_STRING, parseJsonObject } from "../common/json";
import { readPluginConfiguration, removeHeader } from "../common/util";

const REQUEST_HEADERS: i32 = 0;
const RESPONSE_HEADERS: i32 = 2;

class HeadersRoot extends RootContext {
  requestName: string = "x-wasm-request";
  requestValue: string = "hello";
  responseName: string = "x-wasm-response";
  responseValue: string = "world";
  remove: string = "x-remove-me";

  createContext(context_id: u32): Context {
    return new HeadersFilter(context_id, this);
  }

  invalid(): bool {
    log(LogLevelValues.error, "headers: invalid configuration");
    return false;
  }

  onConfigure(configuration_size: u32): bool {
    let text = readPluginConfiguration(configuration_size);
    let requestName = "x-wasm-request";
    let requestValue = "hello";
    let responseName = "x-wasm-response";
    let responseValue = "world";
    let remove = "x-remove-me";
    if (text.length > 0) {
      let obj = parseJsonObject(text);
      if (obj === null) return this.invalid();
      let req = obj.get("request_header");
      if (req !== null) {
        if (!isNameValue(req)) return this.invalid();
        requestName = req.items[0].text;
        requestValue = req.items[1].text;
      }
      let resp = obj.get("response_header");
      if (resp !== null) {
        if (!isNameValue(resp)) return this.invalid();
        responseName = resp.items[0].text;
        responseValue = resp.items[1].text;
      }
      let rem = obj.get("remove");
      if (rem !== null) {
        if (rem.kind != KIND_STRING) return this.invalid();
        remove = rem.text;
      }
    }
    this.requestName = requestName;
    this.requestValue = requestValue;
    this.responseName = responseName;
    this.responseValue = responseValue;
    this.remove = remove;
    return true;
  }
}

function isNameValue(v: JsonValue): bool {
  return v.kind == KIND_ARRAY && v.items.length == 2 &&
    v.items[0].kind == KIND_STRING && v.items[1].kind == KIND_STRING;
}

function logHeaders(prefix: string, headers: Headers): void {
  for (let i = 0; i < headers.length; i++) {
    let h = headers[i];
    log(LogLevelValues.info, prefix + String.UTF8.decode(h.key) + ": " + String.UTF8.decode(h.value));
  }
}

class HeadersFilter extends Context {
  constructor(context_id: u32, root_context: HeadersRoot) {
    super(context_id, root_context);
  }

  onRequestHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    let root = this.root_context as HeadersRoot;
    logHeaders("request header: ", stream_context.headers.request.get_headers());
    stream_context.headers.request.add(root.requestName, root.requestValue);
    removeHeader(REQUEST_HEADERS, root.remove);
    return FilterHeadersStatusValues.Continue;
  }

  onResponseHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    let root = this.root_context as HeadersRoot;
    logHeaders("response header: ", stream_context.headers.response.get_headers());
    stream_context.headers.response.add(root.responseName, root.responseValue);
    removeHeader(RESPONSE_HEADERS, root.remove);
    return FilterHeadersStatusValues.Continue;
  }
}

function newRoot(context_id: u32): RootContext {
  return new HeadersRoot(context_id);
}

// The SDK picks the root context by the host's `plugin_root_id` property.
registerRootContext(newRoot, "");
registerRootContext(newRoot, "headers");
