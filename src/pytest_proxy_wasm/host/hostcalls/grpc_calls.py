"""Spec area "gRPC calls": proxy_grpc_call/stream/send/cancel/close with Envoy's statuses.

Sources: proxy-wasm-cpp-host ``src/exports.cc`` (memory checks first, the token is written only on OK,
everything acts on the root of the effective context) and Envoy ``context.cc`` (``grpcCall``,
``grpcStream``: bytes that are not a serialized ``GrpcService`` are a cluster name, and an unknown
cluster is PARSE_FAILURE; ``grpcSend``/``grpcClose``/``grpcCancel``: BAD_ARGUMENT for a token of the
wrong kind, NOT_FOUND for an unknown one). The service bytes are first parsed as Envoy parses them
(``host/grpc_service.py``): a GrpcService without a target crashes Envoy 1.40 (``ProxyCrash``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import WasmResult
from ..abi.pairs import decode_pairs
from ..grpc_service import grpc_service_target
from ..proxy_crash import grpc_call_crash
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM

CALL_KIND, STREAM_KIND = 1, 2


def _text(data: bytes) -> str:
    return data.decode("utf-8", "replace")


def _open(
    vm: VM,
    kind: str,
    service: tuple[int, int],
    service_name: tuple[int, int],
    method: tuple[int, int],
    metadata: tuple[int, int],
    message: tuple[int, int] | None,
    timeout_ms: int | None,
    ret_token: int,
) -> int:
    memory = vm.memory
    raw_service = memory.read(*service)
    cluster = _text(raw_service)
    parsed = grpc_service_target(raw_service)
    if parsed is not None and not parsed.target:
        raise grpc_call_crash(f"proxy_grpc_{kind}", raw_service)
    if parsed is not None and parsed.target == "envoy_grpc":
        cluster = parsed.cluster_name  # Envoy uses the message's cluster (skip_cluster_check)
    elif parsed is not None:
        raise NotImplementedError(f"a GrpcService with {parsed.target} (Envoy's Google gRPC client)")
    name = _text(memory.read(*service_name))
    method_name = _text(memory.read(*method))
    pairs = decode_pairs(memory.read(*metadata)) or []
    body = memory.read(*message) if message is not None else None
    context = vm.effective_context()
    if context is None:
        return WasmResult.BAD_ARGUMENT
    if not vm.host.grpc.knows(cluster):
        return WasmResult.PARSE_FAILURE  # Envoy: not a GrpcService and not a known cluster
    text_pairs = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in pairs]
    token = vm.host.grpc.start(context.root, kind, cluster, name, method_name, text_pairs, body, timeout_ms)
    vm.memory.write_u32(ret_token, token)
    return WasmResult.OK


@hostcall("proxy_grpc_call")
def proxy_grpc_call(
    vm: VM,
    svc_ptr: int,
    svc_size: int,
    name_ptr: int,
    name_size: int,
    method_ptr: int,
    method_size: int,
    md_ptr: int,
    md_size: int,
    msg_ptr: int,
    msg_size: int,
    timeout_ms: int,
    ret_token: int,
) -> int:
    return _open(
        vm,
        "call",
        (svc_ptr, svc_size),
        (name_ptr, name_size),
        (method_ptr, method_size),
        (md_ptr, md_size),
        (msg_ptr, msg_size),
        timeout_ms,
        ret_token,
    )


@hostcall("proxy_grpc_stream")
def proxy_grpc_stream(
    vm: VM,
    svc_ptr: int,
    svc_size: int,
    name_ptr: int,
    name_size: int,
    method_ptr: int,
    method_size: int,
    md_ptr: int,
    md_size: int,
    ret_token: int,
) -> int:
    return _open(
        vm,
        "stream",
        (svc_ptr, svc_size),
        (name_ptr, name_size),
        (method_ptr, method_size),
        (md_ptr, md_size),
        None,
        None,
        ret_token,
    )


@hostcall("proxy_grpc_send")
def proxy_grpc_send(vm: VM, token: int, msg_ptr: int, msg_size: int, end_stream: int) -> int:
    message = vm.memory.read(msg_ptr, msg_size)
    if token & 3 != STREAM_KIND:
        return WasmResult.BAD_ARGUMENT
    active = vm.host.grpc.lookup(vm, token)
    if active is None:
        return WasmResult.NOT_FOUND
    vm.host.grpc.send(active, message, end_stream != 0)
    return WasmResult.OK


def _finish(vm: VM, token: int, how: str) -> int:
    if token & 3 not in (CALL_KIND, STREAM_KIND):
        return WasmResult.BAD_ARGUMENT
    active = vm.host.grpc.lookup(vm, token)
    if active is None:
        return WasmResult.NOT_FOUND
    if how == "close":
        vm.host.grpc.close(active)
    else:
        vm.host.grpc.cancel(active)
    return WasmResult.OK


@hostcall("proxy_grpc_cancel")
def proxy_grpc_cancel(vm: VM, token: int) -> int:
    return _finish(vm, token, "cancel")


@hostcall("proxy_grpc_close")
def proxy_grpc_close(vm: VM, token: int) -> int:
    return _finish(vm, token, "close")
