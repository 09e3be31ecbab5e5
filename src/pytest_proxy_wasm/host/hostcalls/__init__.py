"""Hostcall implementations, one module per spec area. Importing this package registers them all.

Each implementation takes the VM and the unsigned raw arguments and returns a status (or errno).
Marshalling goes through ``vm.memory``; meaning lives in the context and host state objects.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .. import diagnostics
from ..abi.enums import WasmResult
from ..abi.signatures import HOSTCALLS_BY_NAME

if TYPE_CHECKING:
    from ..vm import VM

Impl = Callable[..., Any]
IMPLEMENTATIONS: dict[str, Impl] = {}


def hostcall(name: str) -> Callable[[Impl], Impl]:
    """Register the implementation of ``name`` (which must be in the hostcall table)."""
    if name not in HOSTCALLS_BY_NAME:
        raise KeyError(f"{name} is not in the hostcall table")

    def register(fn: Impl) -> Impl:
        IMPLEMENTATIONS[name] = fn
        return fn

    return register


def unimplemented(name: str) -> Impl:
    """A stub that fails loudly by name: UNIMPLEMENTED plus a recorded diagnostic."""
    has_result = bool(HOSTCALLS_BY_NAME[name].results)

    def stub(vm: VM, *args: int) -> int | None:
        if name not in vm.unimplemented_used:
            vm.unimplemented_used.append(name)
        vm.host.host_log(4, f"pytest-proxy-wasm: hostcall {name} is not implemented yet", vm)
        diagnostics.record(vm, name, args, int(WasmResult.UNIMPLEMENTED), kind="unimplemented")
        return int(WasmResult.UNIMPLEMENTED) if has_result else None

    return stub


from . import (  # noqa: E402
    buffers,
    configuration,
    contexts,
    foreign_functions,
    grpc_calls,
    higress,
    http_calls,
    http_fields,
    logging,
    metrics,
    properties,
    redis_calls,
    runtime_shims,
    shared_data,
    shared_queues,
    stream_control,
    timers,
    wasi,
)

__all__ = [
    "IMPLEMENTATIONS",
    "buffers",
    "configuration",
    "contexts",
    "foreign_functions",
    "grpc_calls",
    "higress",
    "hostcall",
    "http_calls",
    "http_fields",
    "logging",
    "metrics",
    "properties",
    "redis_calls",
    "runtime_shims",
    "shared_data",
    "shared_queues",
    "stream_control",
    "timers",
    "unimplemented",
    "wasi",
]
