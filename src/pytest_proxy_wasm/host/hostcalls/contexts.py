"""Spec area "Contexts": proxy_set_effective_context, proxy_done."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM


@hostcall("proxy_set_effective_context")
def proxy_set_effective_context(vm: VM, context_id: int) -> int:
    context = vm.contexts.get(context_id)
    if context is None:
        return WasmResult.BAD_ARGUMENT
    vm.effective = context
    return WasmResult.OK


@hostcall("proxy_done")
def proxy_done(vm: VM) -> int:
    context = vm.effective_context()
    if context is None or context.root is not context or not context.root.done_pending:
        return WasmResult.NOT_FOUND
    root = context.root
    root.done_pending = False
    vm.deferred.append(lambda: vm.host.delete_root(root))
    return WasmResult.OK
