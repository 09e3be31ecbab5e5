"""Spec area "Metrics": define, increment, record, get (Envoy ``Context::*Metric``).

Ids are per VM (Envoy keeps the id tables on each Wasm); the stats are the host's, by name, and read as
``host.metrics["name"]`` (Envoy stores them as ``wasmcustom.<name>`` and strips the prefix in /stats).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM

SIGN_BIT = 1 << 63


@hostcall("proxy_define_metric")
def proxy_define_metric(vm: VM, metric_type: int, name_ptr: int, name_size: int, ret_id: int) -> int:
    name = vm.memory.read(name_ptr, name_size).decode("utf-8", "replace")  # memory before the type
    status, metric_id = vm.host.metrics.define(metric_type, name, vm)
    if status != WasmResult.OK:
        return status
    vm.memory.write_u32(ret_id, metric_id)
    return WasmResult.OK


@hostcall("proxy_increment_metric")
def proxy_increment_metric(vm: VM, metric_id: int, delta: int) -> int:
    signed = delta - (1 << 64) if delta & SIGN_BIT else delta  # the i64 arrives as its u64 bits
    return vm.host.metrics.increment(metric_id, signed, vm)


@hostcall("proxy_record_metric")
def proxy_record_metric(vm: VM, metric_id: int, value: int) -> int:
    return vm.host.metrics.record(metric_id, value, vm)  # u64


@hostcall("proxy_get_metric")
def proxy_get_metric(vm: VM, metric_id: int, ret_value: int) -> int:
    status, value = vm.host.metrics.get(metric_id, vm)
    if status != WasmResult.OK:
        return status
    vm.memory.write_u64(ret_value, value)
    return WasmResult.OK
