"""The VM's traced call paths and load-time diagnostics, kept out of vm.py's fast path.

``traced_call`` and ``traced_allocate`` are bound onto a VM only when its host traces; a VM without
tracing never runs any of this.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .abi.enums import WasmResult
from .memory import GuestMemoryError

if TYPE_CHECKING:
    from .contexts import Context
    from .vm import VM


def traced_call(vm: VM, context: Context | None, name: str, *args: int) -> int | None:
    """``VM.call`` with a record around it."""
    plain = type(vm).call
    tracer = vm.tracer
    if tracer is None or vm.failure is not None or name not in vm.funcs:
        return plain(vm, context, name, *args)
    record = tracer.enter_callback(vm, context, name, args)
    result = plain(vm, context, name, *args)
    tracer.exit_callback(record, result, vm.failure.kind if vm.failure is not None else None)
    return result


def traced_allocate(vm: VM, size: int) -> int:
    """The allocator call a hostcall makes to return data, as a callback record."""
    tracer = vm.tracer
    assert tracer is not None
    name = "malloc" if "malloc" in vm.funcs else "proxy_on_memory_allocate"
    record = tracer.enter_callback(vm, vm.effective_context(), name, (size,))
    try:
        ptr = vm._allocate(size)
    except GuestMemoryError as exc:
        tracer.exit_callback(record, None, str(exc))
        raise
    tracer.exit_callback(record, ptr, None)
    return ptr


def diverging(impl: Callable[..., Any]) -> Callable[..., Any]:
    """Test-only (``HostOptions.diverge_hostcall``): answer NOT_FOUND without acting, so the emulator
    differs from Envoy on purpose and the trace diff has something to find."""

    def diverged(vm: VM, *args: int) -> int:
        return int(WasmResult.NOT_FOUND)

    return diverged
