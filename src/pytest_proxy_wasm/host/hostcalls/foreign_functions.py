"""Spec area "foreign functions": proxy_call_foreign_function (proxy-wasm-cpp-host ``exports.cc``).

Name and argument ranges are checked first (IMA), an unknown name is NOT_FOUND, otherwise the function's
own status is returned. The result is allocated in the plugin only when ``ret_ptr`` is non-zero; the
pointer and the size are each written only when their own return pointer is non-zero, and are written
even when the function failed ((0, 0) when it produced nothing).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from ..foreign import ForeignCall, normalize
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM


@hostcall("proxy_call_foreign_function")
def proxy_call_foreign_function(
    vm: VM, name_ptr: int, name_size: int, args_ptr: int, args_size: int, ret_ptr: int, ret_size: int
) -> int:
    name = vm.memory.read(name_ptr, name_size).decode("utf-8", "replace")
    args = vm.memory.read(args_ptr, args_size)
    registry = vm.host.foreign_functions
    context = vm.effective_context()
    context_id = context.id if context is not None else None
    function = registry.get(name)
    if function is None:
        registry.calls.append(ForeignCall(name, args, int(WasmResult.NOT_FOUND), b"", context_id))
        return WasmResult.NOT_FOUND
    status, data = normalize(function(args))
    registry.calls.append(ForeignCall(name, args, status, data, context_id))
    address = 0
    if ret_ptr and data:
        address = vm.memory.allocate(len(data))
        vm.memory.write(address, data)
    if ret_ptr:
        vm.memory.write_u32(ret_ptr, address)
    if ret_size:
        vm.memory.write_u32(ret_size, len(data))
    return status
