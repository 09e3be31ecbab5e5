// Helpers shared by the AssemblyScript sample plugins.
import * as imports from "@solo-io/proxy-runtime/imports";
import { get_buffer_bytes, HeaderPair, Headers } from "@solo-io/proxy-runtime/runtime";

const BUFFER_PLUGIN_CONFIGURATION: i32 = 7;

// Reads the plugin configuration through proxy_get_buffer_bytes. The SDK's own
// RootContext.onConfigure passes the size where the host expects a pointer,
// so the sample plugins read it themselves.
export function readPluginConfiguration(size: u32): string {
  if (size == 0) return "";
  let data = get_buffer_bytes(BUFFER_PLUGIN_CONFIGURATION, 0, size);
  return String.UTF8.decode(data);
}

// Removes a header without treating "not found" as an error (the SDK's
// helper aborts the module on any non-Ok result).
export function removeHeader(mapType: i32, name: string): void {
  let key = String.UTF8.encode(name);
  imports.proxy_remove_header_map_value(mapType, changetype<usize>(key), key.byteLength);
}

export function pair(name: string, value: string): HeaderPair {
  return new HeaderPair(String.UTF8.encode(name), String.UTF8.encode(value));
}

export function singleHeader(name: string, value: string): Headers {
  let headers: Headers = [];
  headers.push(pair(name, value));
  return headers;
}

const B64: string = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// Standard base64 (with padding) of the UTF-8 bytes of `text`.
export function base64Utf8(text: string): string {
  let bytes = Uint8Array.wrap(String.UTF8.encode(text));
  let n = bytes.length;
  let out = "";
  let i = 0;
  while (i + 2 < n) {
    let v = (<u32>bytes[i] << 16) | (<u32>bytes[i + 1] << 8) | <u32>bytes[i + 2];
    out += B64.charAt((v >> 18) & 63) + B64.charAt((v >> 12) & 63) + B64.charAt((v >> 6) & 63) + B64.charAt(v & 63);
    i += 3;
  }
  let rest = n - i;
  if (rest == 1) {
    let v = <u32>bytes[i] << 16;
    out += B64.charAt((v >> 18) & 63) + B64.charAt((v >> 12) & 63) + "==";
  } else if (rest == 2) {
    let v = (<u32>bytes[i] << 16) | (<u32>bytes[i + 1] << 8);
    out += B64.charAt((v >> 18) & 63) + B64.charAt((v >> 12) & 63) + B64.charAt((v >> 6) & 63) + "=";
  }
  return out;
}
