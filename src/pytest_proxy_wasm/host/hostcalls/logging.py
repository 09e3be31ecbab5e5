"""Spec area "Logging": proxy_log, proxy_get_log_level."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM

OK = WasmResult.OK


@hostcall("proxy_log")
def proxy_log(vm: VM, level: int, ptr: int, size: int) -> int:
    if level > 5:
        return WasmResult.BAD_ARGUMENT
    memory = vm.memory
    end = ptr + size
    data = memory.view[ptr:end].tobytes() if end <= memory.known_size else memory.read(ptr, size)
    vm.host.plugin_log(vm, level, data.decode("utf-8", "replace"))
    return OK


@hostcall("proxy_get_log_level")
def proxy_get_log_level(vm: VM, ret_level: int) -> int:
    vm.memory.write_u32(ret_level, vm.host.options.log_level)
    return OK
