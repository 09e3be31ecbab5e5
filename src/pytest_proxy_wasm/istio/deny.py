"""What replaces a plugin whose module could not be fetched (Istio 1.25+, ``pkg/wasm/convert.go``):
FAIL_OPEN gets an allow-all RBAC filter (the plugin is simply absent), anything else a deny-all RBAC
filter answering every request ``403 RBAC: access denied``.

On the emulator the deny-all filter is a chain element the exchange runs like any filter: it stops the
request at its position with Envoy's RBAC local reply, which then walks the response side of the chain.
On Envoy it is a tiny Proxy-Wasm module sending the same reply (the client sees the same status, body
and content type; Envoy's response-code details differ: ``wasm`` versus ``rbac_access_denied...``).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from ..host.abi.enums import Action, FailurePolicy
from ..host.contexts import LocalResponse
from ..host.headers import HeaderMap
from ..host.http import BodyResult

if TYPE_CHECKING:
    from ..host.properties import StreamInfo

DENY_BODY = b"RBAC: access denied"
DENY_DETAILS = "rbac_access_denied_matched_policy[none]"
DENY_STAT_PREFIX = "wasm-default-deny"


class _DenyStream:
    """The HttpStream surface the emulator's Exchange drives, for Envoy's RBAC filter with ``rules: {}``."""

    context = None

    def __init__(self) -> None:
        self._intents: list[tuple[str, object]] = []

    def walk_headers(self, request: bool, headers: HeaderMap, end_of_stream: bool) -> Action:
        if not request:
            return Action.CONTINUE
        self._intents.append(("local_reply", LocalResponse(403, DENY_BODY, [], DENY_DETAILS, None)))
        return Action.PAUSE

    def walk_body(self, request: bool, chunk: bytes, end_of_stream: bool) -> BodyResult:
        if request:
            return BodyResult(Action.PAUSE, b"", False)
        return BodyResult(Action.CONTINUE, chunk, False)

    def walk_trailers(self, request: bool, trailers: HeaderMap) -> Action:
        return Action.PAUSE if request else Action.CONTINUE

    def intents_pending(self) -> bool:
        return bool(self._intents)

    def take_intents(self) -> list[tuple[str, object]]:
        intents, self._intents = self._intents, []
        return intents

    def complete(self) -> None:
        pass


class DenyAllFilter:
    """A deny-all RBAC filter standing where the unfetchable plugin would have been."""

    failed: str | None = None
    failure_policy = FailurePolicy.FAIL_CLOSED

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def joins_new_stream(self) -> bool:
        return True  # RBAC never fails: it is in every stream

    def http_stream_for(self, info: StreamInfo) -> _DenyStream:
        return _DenyStream()

    def __repr__(self) -> str:
        return f"DenyAllFilter({self.name!r})"


DENY_WAT = r"""
(module
  (import "env" "proxy_send_local_response"
    (func $reply (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 64) "RBAC: access denied")
  (data (i32.const 128) "rbac_access_denied")
  (data (i32.const 256) "\00\00\00\00")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "proxy_on_memory_allocate") (param $n i32) (result i32)
    (global.get $heap)
    (global.set $heap
      (i32.add (global.get $heap) (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8)))))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (drop (call $reply (i32.const 403) (i32.const 128) (i32.const 18) (i32.const 64) (i32.const 19)
                       (i32.const 256) (i32.const 4) (i32.const -1)))
    (i32.const 1)))
"""


@cache
def deny_module() -> bytes:
    """The deny-all reply as a Proxy-Wasm module, for backends that run real Envoy filters only."""
    import wasmtime

    return bytes(wasmtime.wat2wasm(DENY_WAT))
