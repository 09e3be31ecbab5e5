// basic-auth sample plugin (contract: plugins_under_test/CONTRACTS.md).
export * from "@solo-io/proxy-runtime/proxy";
import {
  RootContext, Context, registerRootContext, FilterHeadersStatusValues, LogLevelValues,
  GrpcStatusValues, log, send_local_response, stream_context,
} from "@solo-io/proxy-runtime";
import { parseJsonObject, stringMember } from "../common/json";
import { base64Utf8, readPluginConfiguration, singleHeader } from "../common/util";

class BasicAuthRoot extends RootContext {
  expected: string = "";
  realm: string = "proxy-wasm";

  createContext(context_id: u32): Context {
    return new BasicAuth(context_id, this);
  }

  onConfigure(configuration_size: u32): bool {
    let text = readPluginConfiguration(configuration_size);
    let obj = parseJsonObject(text);
    if (obj === null) {
      log(LogLevelValues.error, "basic-auth: invalid configuration: not a JSON object");
      return false;
    }
    let username = stringMember(obj, "username");
    let password = stringMember(obj, "password");
    if (username === null || password === null) {
      log(LogLevelValues.error, "basic-auth: invalid configuration: string username and password required");
      return false;
    }
    let realm = "proxy-wasm";
    let realmValue = obj.get("realm");
    if (realmValue !== null) {
      let r = stringMember(obj, "realm");
      if (r === null) {
        log(LogLevelValues.error, "basic-auth: invalid configuration: realm must be a string");
        return false;
      }
      realm = r;
    }
    this.expected = "Basic " + base64Utf8(username + ":" + password);
    this.realm = realm;
    log(LogLevelValues.debug, "#on_configure -> " + text);
    return true;
  }
}

class BasicAuth extends Context {
  constructor(context_id: u32, root_context: BasicAuthRoot) {
    super(context_id, root_context);
  }

  onRequestHeaders(headers: u32, end_of_stream: bool): FilterHeadersStatusValues {
    let root = this.root_context as BasicAuthRoot;
    let authorization = stream_context.headers.request.get("authorization");
    if (root.expected != "" && authorization == root.expected) {
      return FilterHeadersStatusValues.Continue;
    }
    log(LogLevelValues.info, "basic-auth: denied");
    send_local_response(401, "", String.UTF8.encode("Unauthorized"),
      singleHeader("WWW-Authenticate", "Basic realm=\"" + root.realm + "\""), GrpcStatusValues.InvalidCode);
    return FilterHeadersStatusValues.StopIteration;
  }
}

function newRoot(context_id: u32): RootContext {
  return new BasicAuthRoot(context_id);
}

// The SDK picks the root context by the host's `plugin_root_id` property.
registerRootContext(newRoot, "");
registerRootContext(newRoot, "basic-auth");
registerRootContext(newRoot, "basic_auth");
