# ruff: noqa: E501  (WAT text)
"""A WAT probe that logs what a plugin observes of its placement: properties and the request path."""

from __future__ import annotations

import wasmtime

PROPERTIES = (
    "xds.route_name",
    "xds.cluster_name",
    "xds.virtual_host_name",
    "xds.node.id",
    "xds.node.cluster",
    "xds.node.metadata.WORKLOAD_NAME",
    "xds.node.metadata.NAMESPACE",
    "xds.node.metadata.CLUSTER_ID",
    "xds.node.metadata.MESH_ID",
    "xds.node.metadata.LABELS.app",
)


def _bytes(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def probe_module() -> bytes:
    """Logs, from on_request_headers: each of PROPERTIES as ``name=value`` (``name missing`` when
    NOT_FOUND), ``xds.listener_direction=N`` and ``path=<:path>``."""
    strings: list[tuple[int, bytes]] = []
    offset = 1024

    def const(data: bytes) -> tuple[int, int]:
        nonlocal offset
        at = offset
        strings.append((at, data))
        offset += (len(data) + 8) & ~7
        return at, len(data)

    body: list[str] = []

    def log(data: bytes) -> str:
        at, size = const(data)
        return f"(drop (call $log (i32.const 2) (i32.const {at}) (i32.const {size})))"

    for name in PROPERTIES:
        path, size = const(name.replace(".", "\0").encode())
        label_at, label_size = const(name.encode() + b"=")
        body.append(f"""
    (if (i32.eqz (call $prop (i32.const {path}) (i32.const {size}) (i32.const 0) (i32.const 4)))
      (then (call $emit (i32.const {label_at}) (i32.const {label_size})))
      (else {log(name.encode() + b" missing")}))""")
    path, size = const(b"xds\0listener_direction")
    body.append(f"""
    (if (i32.eqz (call $prop (i32.const {path}) (i32.const {size}) (i32.const 0) (i32.const 4)))
      (then (if (i64.eq (i64.load (i32.load (i32.const 0))) (i64.const 1)) (then {log(b"xds.listener_direction=1")})
            (else (if (i64.eq (i64.load (i32.load (i32.const 0))) (i64.const 2)) (then {log(b"xds.listener_direction=2")})
            (else {log(b"xds.listener_direction=other")})))))
      (else {log(b"xds.listener_direction missing")}))""")
    key, key_size = const(b":path")
    label_at, label_size = const(b"path=")
    body.append(f"""
    (if (i32.eqz (call $hdr (i32.const 0) (i32.const {key}) (i32.const {key_size}) (i32.const 0) (i32.const 4)))
      (then (call $emit (i32.const {label_at}) (i32.const {label_size}))))""")
    data = "\n".join(f'  (data (i32.const {at}) "{_bytes(d)}")' for at, d in strings)
    text = f"""(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $prop (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $hdr (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap (i32.add (local.get $p) (i32.and (i32.add (local.get $n) (i32.const 15)) (i32.const -8))))
    (local.get $p))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_context_create") (param i32 i32))
  ;; logs label then the value at (*0, *4) as one line, built at the heap's end
  (func $emit (param $label i32) (param $size i32)
    (local $out i32)
    (local.set $out (global.get $heap))
    (memory.copy (local.get $out) (local.get $label) (local.get $size))
    (memory.copy (i32.add (local.get $out) (local.get $size)) (i32.load (i32.const 0)) (i32.load (i32.const 4)))
    (drop (call $log (i32.const 2) (local.get $out) (i32.add (local.get $size) (i32.load (i32.const 4)))))
    (global.set $heap (i32.add (global.get $heap)
      (i32.and (i32.add (i32.add (local.get $size) (i32.load (i32.const 4))) (i32.const 15)) (i32.const -8)))))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
{"".join(body)}
    (i32.const 0))
{data})"""
    return bytes(wasmtime.wat2wasm(text))
