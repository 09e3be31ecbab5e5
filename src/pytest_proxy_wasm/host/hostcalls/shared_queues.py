"""Spec area "Shared queues": register, resolve, enqueue, dequeue (cpp-host ``SharedQueue``).

Queues are the host's, keyed by (vm_id, name); tokens start at 1. ``proxy_on_queue_ready`` goes to the
root context that registered the queue last. Envoy posts it to that root's thread, so it never runs inside
the enqueuing callback: here it is a scheduler event due now, delivered by ``host.advance(...)`` or
``host.run_pending()`` (or while an exchange waits for a callout), one per successful enqueue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from . import hostcall

if TYPE_CHECKING:
    from ..contexts import RootContext
    from ..host import Host
    from ..vm import VM


@hostcall("proxy_register_shared_queue")
def proxy_register_shared_queue(vm: VM, name_ptr: int, name_size: int, ret_token: int) -> int:
    name = vm.memory.read(name_ptr, name_size)
    context = vm.effective_context()
    owner = context.root if context is not None else None  # a stream registers for its root
    token = vm.host.queues.register(vm.vm_id, name, owner)
    vm.memory.write_u32(ret_token, token)  # cpp-host: registered even if this write fails (IMA)
    return WasmResult.OK


@hostcall("proxy_resolve_shared_queue")
def proxy_resolve_shared_queue(
    vm: VM, vm_id_ptr: int, vm_id_size: int, name_ptr: int, name_size: int, ret_token: int
) -> int:
    raw_vm_id = vm.memory.read(vm_id_ptr, vm_id_size)
    name = vm.memory.read(name_ptr, name_size)
    vm_id = raw_vm_id.decode("utf-8", "surrogateescape") if raw_vm_id else vm.vm_id  # empty: own
    token = vm.host.queues.resolve(vm_id, name)
    if token is None:
        return WasmResult.NOT_FOUND
    vm.memory.write_u32(ret_token, token)
    return WasmResult.OK


def _deliver(host: Host, owner: RootContext, token: int) -> None:
    vm = owner.vm
    if vm.contexts.get(owner.id) is not owner:
        return  # cpp-host: the context is gone, nothing is called
    vm.call(owner, "proxy_on_queue_ready", owner.id, token)  # skipped by vm.call if the VM failed
    host.after_callback()


@hostcall("proxy_enqueue_shared_queue")
def proxy_enqueue_shared_queue(vm: VM, token: int, value_ptr: int, value_size: int) -> int:
    value = vm.memory.read(value_ptr, value_size)
    host = vm.host
    queue = host.queues.enqueue(token, value)
    if queue is None:
        return WasmResult.NOT_FOUND
    owner = queue.owner
    if owner is not None:
        host.scheduler.schedule(
            host.clock.monotonic_ns,
            lambda: _deliver(host, owner, token),
            f"queue {token} ready for root {owner.id}",
        )
    return WasmResult.OK


@hostcall("proxy_dequeue_shared_queue")
def proxy_dequeue_shared_queue(vm: VM, token: int, ret_ptr: int, ret_size: int) -> int:
    status, value = vm.host.queues.dequeue(token)
    if status != WasmResult.OK:
        return status  # NOT_FOUND (unknown token) or EMPTY
    vm.memory.return_bytes(value, ret_ptr, ret_size)  # cpp-host: the item is gone even if this fails
    return WasmResult.OK
