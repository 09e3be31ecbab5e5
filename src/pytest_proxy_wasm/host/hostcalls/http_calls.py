"""Spec area "HTTP calls": proxy_http_call with Envoy's validation (context.cc ``Context::httpCall``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from ..abi.pairs import decode_pairs
from ..headers import HeaderMap
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM


@hostcall("proxy_http_call")
def proxy_http_call(
    vm: VM,
    up_ptr: int,
    up_size: int,
    hdr_ptr: int,
    hdr_size: int,
    body_ptr: int,
    body_size: int,
    trl_ptr: int,
    trl_size: int,
    timeout_ms: int,
    ret_token: int,
) -> int:
    cluster = vm.memory.read(up_ptr, up_size).decode("utf-8", "replace")
    headers = HeaderMap(decode_pairs(vm.memory.read(hdr_ptr, hdr_size)) or [])
    body = vm.memory.read(body_ptr, body_size)
    trailers = HeaderMap(decode_pairs(vm.memory.read(trl_ptr, trl_size)) or [])
    vm.memory.write_u32(ret_token, 0)  # cpp-host pre-writes token 0
    if timeout_ms >= 1 << 31:
        return WasmResult.BAD_ARGUMENT  # negative as int32
    if not vm.host.callouts.knows(cluster):
        return WasmResult.BAD_ARGUMENT  # Envoy: unknown cluster
    if any(headers.get(name) is None for name in (b":path", b":method", b":authority")):
        return WasmResult.BAD_ARGUMENT
    context = vm.effective_context()
    if context is None:
        return WasmResult.BAD_ARGUMENT
    token = vm.host.callouts.dispatch(context.root, cluster, headers, body, trailers, timeout_ms)
    vm.memory.write_u32(ret_token, token)
    return WasmResult.OK
