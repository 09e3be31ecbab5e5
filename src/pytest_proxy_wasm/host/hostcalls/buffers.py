"""Spec area "Buffers": proxy_get_buffer_bytes, proxy_get_buffer_status, proxy_set_buffer_bytes."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import BufferType, WasmResult
from ..contexts import Buffer
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM

MAX_BUFFER_TYPE = BufferType.FOREIGN_FUNCTION_ARGUMENTS
HIGRESS_MAX_BUFFER_TYPE = BufferType.REDIS_CALL_RESPONSE  # Higress adds 9, the Redis call response
# Envoy Context::getBuffer wraps these in ``buffer_.set(ptr)`` even when the pointer is null, so outside
# their callbacks they read as an empty, read-only buffer (OK, size 0), not NOT_FOUND
# (docs/notes/envoy-host-rules.md section 2). Only 4 (http-call body) and 7 (plugin config) are NOT_FOUND.
ALWAYS_PRESENT = frozenset(
    {
        BufferType.HTTP_REQUEST_BODY,
        BufferType.HTTP_RESPONSE_BODY,
        BufferType.DOWNSTREAM_DATA,
        BufferType.UPSTREAM_DATA,
        BufferType.GRPC_RECEIVE_BUFFER,
    }
)


def _max_type(vm: VM) -> int:
    higress = getattr(vm.host.options, "platform", "envoy") == "higress"
    return HIGRESS_MAX_BUFFER_TYPE if higress else MAX_BUFFER_TYPE


def _buffer(vm: VM, buffer_type: int) -> Buffer | None:
    context = vm.effective_context()
    if context is None:
        return None
    buffer = context.buffer(buffer_type)
    if buffer is None and buffer_type in ALWAYS_PRESENT:
        return Buffer()
    return buffer


@hostcall("proxy_get_buffer_bytes")
def proxy_get_buffer_bytes(
    vm: VM, buffer_type: int, start: int, max_size: int, ret_ptr: int, ret_size: int
) -> int:
    if buffer_type > _max_type(vm):
        return WasmResult.BAD_ARGUMENT
    buffer = _buffer(vm, buffer_type)
    if buffer is None:
        return WasmResult.NOT_FOUND
    data = buffer.data
    size = len(data)
    # cpp-host: start past the end reads nothing; start+max past the end is clamped.
    chunk = b"" if start >= size else bytes(data[start : start + max_size])
    vm.memory.return_bytes(chunk, ret_ptr, ret_size)
    return WasmResult.OK


@hostcall("proxy_get_buffer_status")
def proxy_get_buffer_status(vm: VM, buffer_type: int, ret_size: int, ret_flags: int) -> int:
    if buffer_type > _max_type(vm):
        return WasmResult.BAD_ARGUMENT
    buffer = _buffer(vm, buffer_type)
    if buffer is None:
        return WasmResult.NOT_FOUND
    vm.memory.write_u32(ret_size, len(buffer.data))
    vm.memory.write_u32(ret_flags, 0)  # cpp-host never sets EndOfStream here
    return WasmResult.OK


@hostcall("proxy_set_buffer_bytes")
def proxy_set_buffer_bytes(
    vm: VM, buffer_type: int, start: int, length: int, data_ptr: int, data_size: int
) -> int:
    if buffer_type > _max_type(vm):
        return WasmResult.BAD_ARGUMENT
    buffer = _buffer(vm, buffer_type)
    if buffer is None:
        return WasmResult.NOT_FOUND
    data = vm.memory.read(data_ptr, data_size)
    if not buffer.set_bytes(start, length, data):
        return WasmResult.BAD_ARGUMENT
    return WasmResult.OK
