"""Spec area "higress": Higress-only hostcalls other than Redis calls (state in host/higress.py).

Signatures from higress-group/proxy-wasm-go-sdk; the emulator records the calls and does not emulate
their effect on traffic (docs/fidelity.md, "Higress plugins").
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from ..abi.pairs import encode_pairs
from ..contexts import HttpContext
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM


def _stream(vm: VM) -> HttpContext | None:
    context = vm.effective_context()
    return context if isinstance(context, HttpContext) else None


@hostcall("proxy_get_upstream_hosts")
def proxy_get_upstream_hosts(vm: VM, ret_ptr: int, ret_size: int) -> int:
    hosts = vm.host.higress.upstream_hosts
    if not hosts:
        return WasmResult.NOT_FOUND
    pairs = [(a.encode(), m.encode()) for a, m in hosts]
    vm.memory.return_bytes(encode_pairs(pairs), ret_ptr, ret_size)
    return WasmResult.OK


@hostcall("proxy_set_upstream_override_host")
def proxy_set_upstream_override_host(vm: VM, host_ptr: int, host_size: int) -> int:
    address = vm.memory.read(host_ptr, host_size).decode("utf-8", "replace")
    stream = _stream(vm)
    if stream is None:
        return WasmResult.BAD_ARGUMENT  # only an HTTP stream has an upstream to override
    vm.host.higress.override_hosts.append((stream.id, address))
    return WasmResult.OK


@hostcall("proxy_inject_encoded_data_to_filter_chain")
def proxy_inject_encoded_data_to_filter_chain(vm: VM, data_ptr: int, data_size: int, end: int) -> int:
    data = vm.memory.read(data_ptr, data_size)
    stream = _stream(vm)
    if stream is None:
        return WasmResult.BAD_ARGUMENT
    vm.host.higress.injected.append((stream.id, data, bool(end)))
    return WasmResult.OK
