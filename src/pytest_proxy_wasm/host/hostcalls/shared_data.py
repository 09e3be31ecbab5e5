"""Spec area "Shared data": proxy_set_shared_data, proxy_get_shared_data (cpp-host ``SharedData``).

The store is the host's (Envoy keeps it per process), scoped by the VM's configured ``vm_id``: every VM
with the same vm_id (the empty one included) sees the same keys, whatever its code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM


@hostcall("proxy_set_shared_data")
def proxy_set_shared_data(
    vm: VM, key_ptr: int, key_size: int, value_ptr: int, value_size: int, cas: int
) -> int:
    key = vm.memory.read(key_ptr, key_size)
    value = vm.memory.read(value_ptr, value_size)
    # cas 0 sets unconditionally; a non-zero cas must match the stored one (a new key accepts any cas).
    return vm.host.shared_data.set(vm.vm_id, key, value, cas)


@hostcall("proxy_get_shared_data")
def proxy_get_shared_data(
    vm: VM, key_ptr: int, key_size: int, ret_value_ptr: int, ret_value_size: int, ret_cas: int
) -> int:
    key = vm.memory.read(key_ptr, key_size)
    found = vm.host.shared_data.get(vm.vm_id, key)
    if found is None:
        return WasmResult.NOT_FOUND  # nothing is written
    value, cas = found
    vm.memory.return_bytes(value, ret_value_ptr, ret_value_size)  # empty value: (0, 0)
    vm.memory.write_u32(ret_cas, cas)
    return WasmResult.OK
