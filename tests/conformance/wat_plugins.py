"""Tiny ABI 0.2.1 plugins in WAT, one behaviour each, for the verdict tests."""

from __future__ import annotations

from pathlib import Path

import wasmtime

_HEAD = """
(module
  (import "env" "proxy_send_local_response"
    (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "random_get" (func $random (param i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $n (mut i32) (i32.const 0))
  (global $top (mut i32) (i32.const 65536))
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) (i32.const 4096))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func $deny (result i32)
    (drop (call $reply (i32.const 403) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0)
                       (i32.const 0) (i32.const 0) (i32.const -1)))
    (i32.const 1))
"""

BODIES = {
    # every request after the first is denied: a deterministic stream-state bug
    "stateful": """
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $n (i32.add (global.get $n) (i32.const 1)))
    (if (result i32) (i32.gt_u (global.get $n) (i32.const 1))
      (then (call $deny)) (else (i32.const 0))))
""",
    # denies on a random draw per request (host randomness): a canary-style plugin
    "random": """
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $random (i32.const 2048) (i32.const 1)))
    (if (result i32) (i32.and (i32.load8_u (i32.const 2048)) (i32.const 1))
      (then (call $deny)) (else (i32.const 0))))
""",
    # pauses the request forever
    "pause_request": """
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 1))
""",
    # lets requests through, pauses every response forever
    "pause_response": """
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))
  (func (export "proxy_on_response_headers") (param i32 i32 i32) (result i32) (i32.const 1))
""",
    # traps on a 256-byte configuration (the binary variant), accepts anything else
    "binary_config_trap": """
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (if (i32.eq (local.get 1) (i32.const 256)) (then unreachable))
    (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) (i32.const 0))
""",
}


def leak_body(per_request: int) -> str:
    """Keeps ``per_request`` bytes of every request: linear memory grows a page every 64 KiB."""
    return f"""
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (global.set $top (i32.add (global.get $top) (i32.const {per_request})))
    (if (i32.gt_u (global.get $top) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.const 1)))))
    (i32.const 0))
"""


def build(name: str, directory: Path, body: str | None = None) -> Path:
    path = directory / f"{name}.wasm"
    path.write_bytes(wasmtime.wat2wasm(_HEAD + (body if body is not None else BODIES[name]) + ")"))
    return path
