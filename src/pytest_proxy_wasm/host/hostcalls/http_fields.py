"""Spec area "HTTP fields": header and trailer maps (Envoy's getMap/getConstMap rules)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import AbiVersion, MapType, WasmResult
from ..abi.pairs import decode_pairs, encode_pairs
from ..inline_headers import add_copy, set_pairs
from . import hostcall

if TYPE_CHECKING:
    from ..headers import HeaderMap
    from ..vm import VM

MAX_MAP_TYPE = max(MapType)
OK = WasmResult.OK
BAD_ARGUMENT = WasmResult.BAD_ARGUMENT


def _map(vm: VM, map_type: int) -> HeaderMap | None:
    context = vm.effective_context()
    return context.map(map_type) if context is not None else None


def _writable(vm: VM, map_type: int) -> HeaderMap | None:
    context = vm.effective_context()
    if context is None or not context.map_writable(map_type):
        return None
    return context.map(map_type)


def _in_log_phase(vm: VM) -> bool:
    context = vm.effective_context()
    return bool(getattr(context, "in_log_phase", False))


@hostcall("proxy_get_header_map_pairs")
def proxy_get_header_map_pairs(vm: VM, map_type: int, ret_ptr: int, ret_size: int) -> int:
    if map_type > MAX_MAP_TYPE:
        return BAD_ARGUMENT
    headers = _map(vm, map_type)
    # Envoy: an unavailable map reads as empty.
    vm.memory.return_bytes(encode_pairs(headers.entries) if headers else b"", ret_ptr, ret_size)
    return OK


@hostcall("proxy_set_header_map_pairs")
def proxy_set_header_map_pairs(vm: VM, map_type: int, ptr: int, size: int) -> int:
    if map_type > MAX_MAP_TYPE:
        return BAD_ARGUMENT
    data = vm.memory.read(ptr, size)
    headers = _writable(vm, map_type)
    if headers is None:
        return BAD_ARGUMENT
    # Malformed input becomes an empty map (cpp-host); inline headers given twice are joined (Envoy).
    set_pairs(headers, map_type, decode_pairs(data) or [])
    return OK


@hostcall("proxy_get_header_map_value")
def proxy_get_header_map_value(
    vm: VM, map_type: int, key_ptr: int, key_size: int, ret_ptr: int, ret_size: int
) -> int:
    if map_type > MAX_MAP_TYPE:
        return BAD_ARGUMENT
    key = vm.memory.read(key_ptr, key_size)
    headers = _map(vm, map_type)
    legacy = vm.abi is AbiVersion.V0_1_0
    if headers is None:
        if _in_log_phase(vm):
            if legacy:
                vm.memory.write_pair(ret_ptr, ret_size, 0, 0)
                return OK
            return WasmResult.NOT_FOUND
        return BAD_ARGUMENT
    value = headers.get(key)
    if value is None:
        if legacy:  # 0.1.0: a missing header is OK with an empty value
            vm.memory.write_pair(ret_ptr, ret_size, 0, 0)
            return OK
        return WasmResult.NOT_FOUND
    vm.memory.return_bytes(value, ret_ptr, ret_size)
    return OK


def _mutate(
    vm: VM, map_type: int, key_ptr: int, key_size: int, val_ptr: int, val_size: int, replace: bool
) -> int:
    if map_type > MAX_MAP_TYPE:
        return BAD_ARGUMENT
    key = vm.memory.read(key_ptr, key_size)
    value = vm.memory.read(val_ptr, val_size)
    headers = _writable(vm, map_type)
    if headers is None:
        return BAD_ARGUMENT
    if replace:
        headers.replace(key, value)
    else:
        add_copy(headers, map_type, key, value)  # Envoy addCopy: joins an inline header
    return OK


@hostcall("proxy_add_header_map_value")
def proxy_add_header_map_value(
    vm: VM, map_type: int, key_ptr: int, key_size: int, val_ptr: int, val_size: int
) -> int:
    return _mutate(vm, map_type, key_ptr, key_size, val_ptr, val_size, replace=False)


@hostcall("proxy_replace_header_map_value")
def proxy_replace_header_map_value(
    vm: VM, map_type: int, key_ptr: int, key_size: int, val_ptr: int, val_size: int
) -> int:
    return _mutate(vm, map_type, key_ptr, key_size, val_ptr, val_size, replace=True)


@hostcall("proxy_remove_header_map_value")
def proxy_remove_header_map_value(vm: VM, map_type: int, key_ptr: int, key_size: int) -> int:
    if map_type > MAX_MAP_TYPE:
        return BAD_ARGUMENT
    key = vm.memory.read(key_ptr, key_size)
    headers = _writable(vm, map_type)
    if headers is None:
        return BAD_ARGUMENT
    headers.remove(key)
    return OK


@hostcall("proxy_get_header_map_size")
def proxy_get_header_map_size(vm: VM, map_type: int, ret_size: int) -> int:
    if map_type > MAX_MAP_TYPE:
        return BAD_ARGUMENT
    # Envoy getHeaderMapSize goes through getMap (the four writable HTTP maps): 4-7 are always BAD_ARGUMENT.
    headers = _map(vm, map_type) if map_type <= MapType.HTTP_RESPONSE_TRAILERS else None
    if headers is None:
        return BAD_ARGUMENT
    vm.memory.write_u32(ret_size, headers.byte_size())  # Envoy: byteSize, not the entry count
    return OK
