"""Spec area "Redis calls" (Higress only): proxy_redis_init and proxy_redis_call (host/redis.py).

Signatures from higress-group/proxy-wasm-go-sdk (proxywasm/internal/abi_hostcalls.go); the statuses
for an unknown or uninitialised cluster are our reading of Higress's sources, not checked on Higress.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from ..redis import RedisInit
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM


def _text(vm: VM, ptr: int, size: int) -> str:
    return vm.memory.read(ptr, size).decode("utf-8", "replace") if size else ""


@hostcall("proxy_redis_init")
def proxy_redis_init(
    vm: VM,
    cluster_ptr: int,
    cluster_size: int,
    user_ptr: int,
    user_size: int,
    password_ptr: int,
    password_size: int,
    timeout_ms: int,
) -> int:
    cluster = _text(vm, cluster_ptr, cluster_size)
    username = _text(vm, user_ptr, user_size)
    password = _text(vm, password_ptr, password_size)
    redis = vm.host.redis
    if not cluster or not redis.knows(cluster):
        return WasmResult.BAD_ARGUMENT  # no such cluster in the gateway's configuration
    redis.inits.append(RedisInit(cluster, username, password, timeout_ms))
    return WasmResult.OK


@hostcall("proxy_redis_call")
def proxy_redis_call(
    vm: VM, cluster_ptr: int, cluster_size: int, query_ptr: int, query_size: int, ret_token: int
) -> int:
    cluster = _text(vm, cluster_ptr, cluster_size)
    query = vm.memory.read(query_ptr, query_size)
    vm.memory.write_u32(ret_token, 0)
    redis = vm.host.redis
    if not redis.knows(cluster) or not redis.initialised(cluster):
        return WasmResult.BAD_ARGUMENT  # proxy_redis_init made no client for it
    context = vm.effective_context()
    if context is None:
        return WasmResult.BAD_ARGUMENT
    token = redis.dispatch(context.root, cluster, query)
    vm.memory.write_u32(ret_token, token)
    return WasmResult.OK
