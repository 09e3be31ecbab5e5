"""Spec area "Configuration" (ABI 0.1.0): proxy_get_configuration."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM


@hostcall("proxy_get_configuration")
def proxy_get_configuration(vm: VM, ret_ptr: int, ret_size: int) -> int:
    """Plugin config while a plugin is being configured, else the VM config (cpp-host)."""
    context = vm.effective_context()
    root = context.root if context is not None else None
    data = root.plugin_ref.plugin_config if root is not None and root.configuring else vm.vm_config
    vm.memory.return_bytes(data, ret_ptr, ret_size)
    return WasmResult.OK
