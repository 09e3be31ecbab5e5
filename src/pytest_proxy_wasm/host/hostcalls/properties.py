"""Spec area "Properties": proxy_get_property, proxy_set_property (Envoy attribute paths)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from ..properties import resolve
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM


@hostcall("proxy_get_property")
def proxy_get_property(vm: VM, path_ptr: int, path_size: int, ret_ptr: int, ret_size: int) -> int:
    path = vm.memory.read(path_ptr, path_size)
    if not path:
        return WasmResult.SERIALIZATION_FAILURE
    context = vm.effective_context()
    if context is None:
        return WasmResult.NOT_FOUND
    value = resolve(context, getattr(context, "info", None), vm.host.properties, path)
    if value is None:
        return WasmResult.NOT_FOUND
    vm.memory.return_bytes(value, ret_ptr, ret_size)
    return WasmResult.OK


@hostcall("proxy_set_property")
def proxy_set_property(vm: VM, path_ptr: int, path_size: int, value_ptr: int, value_size: int) -> int:
    path = vm.memory.read(path_ptr, path_size)
    value = vm.memory.read(value_ptr, value_size)
    context = vm.effective_context()
    info = getattr(context, "info", None)
    if info is None:
        return WasmResult.NOT_FOUND  # Envoy: no stream, no filter state
    # Envoy keys the filter state by the raw path, NUL separators included (see properties.resolve).
    info.filter_state[b"wasm." + path] = value
    return WasmResult.OK
