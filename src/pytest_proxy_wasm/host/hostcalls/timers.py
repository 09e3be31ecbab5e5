"""Spec areas "Clocks" and "Timers": the host's virtual clock and per-root tick periods."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM


@hostcall("proxy_get_current_time_nanoseconds")
def proxy_get_current_time_nanoseconds(vm: VM, ret_time: int) -> int:
    vm.memory.write_u64(ret_time, vm.host.clock.realtime_ns)
    return WasmResult.OK


@hostcall("proxy_set_tick_period_milliseconds")
def proxy_set_tick_period_milliseconds(vm: VM, period_ms: int) -> int:
    context = vm.effective_context()
    if context is not None:
        vm.host.set_tick_period(context.root, period_ms)
    return WasmResult.OK
