"""Foreign functions (``proxy_call_foreign_function``): a registry the test fills, plus Envoy stand-ins.

``host.foreign_functions[name] = fn`` where ``fn(args: bytes)`` returns the result bytes, a
``(status, bytes)`` pair, or None (OK, no result). Pre-filled, after Envoy
``source/extensions/common/wasm/foreign.cc``:

* ``compress`` / ``uncompress``: zlib ``compress``/``uncompress`` (zlib format, default level);
  a zlib error is SERIALIZATION_FAILURE.
* ``set_envoy_filter_state``, ``clear_route_cache``, ``declare_property``: accepted (OK, no result)
  and recorded; the arguments (protobuf in Envoy) are kept as raw bytes in :attr:`ForeignFunctions.calls`.

``expr_create``/``expr_evaluate``/``expr_delete`` (CEL) and ``sign``/``verify_signature`` are not
provided: calling them is NOT_FOUND unless the test registers a stand-in.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

from .abi.enums import WasmResult

ForeignResult = bytes | tuple[int, bytes] | None
ForeignFunction = Callable[[bytes], ForeignResult]


@dataclass
class ForeignCall:
    """One call the plugin made (also to unknown names, with status NOT_FOUND)."""

    name: str
    args: bytes
    status: int
    result: bytes
    context_id: int | None


def compress(args: bytes) -> ForeignResult:
    return zlib.compress(args)


def uncompress(args: bytes) -> ForeignResult:
    try:
        return zlib.decompress(args)
    except zlib.error:
        return int(WasmResult.SERIALIZATION_FAILURE), b""


def _accept(args: bytes) -> ForeignResult:
    return None


ENVOY_DEFAULTS: dict[str, ForeignFunction] = {
    "compress": compress,
    "uncompress": uncompress,
    "set_envoy_filter_state": _accept,
    "clear_route_cache": _accept,
    "declare_property": _accept,
}


class ForeignFunctions(dict[str, ForeignFunction]):
    """Name -> function; :attr:`calls` records every call in order."""

    def __init__(self) -> None:
        super().__init__(ENVOY_DEFAULTS)
        self.calls: list[ForeignCall] = []

    def calls_to(self, name: str) -> list[ForeignCall]:
        return [c for c in self.calls if c.name == name]


def normalize(result: ForeignResult) -> tuple[int, bytes]:
    """A function's return value as (status, bytes)."""
    if result is None:
        return int(WasmResult.OK), b""
    if isinstance(result, tuple):
        status, data = result
        return int(status), bytes(data)
    if isinstance(result, bytes | bytearray | memoryview):
        return int(WasmResult.OK), bytes(result)
    raise TypeError(f"a foreign function returns bytes, (status, bytes) or None, not {type(result).__name__}")
