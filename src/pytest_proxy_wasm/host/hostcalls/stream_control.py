"""Stream control: continue/close, local responses, proxy_get_status (Envoy defers the actions until
the current callback returns; the stream driver applies them)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..abi.enums import StreamType, WasmResult
from ..abi.pairs import decode_pairs
from ..contexts import Context, HttpContext, LocalResponse
from ..tcp import TcpContext
from . import hostcall

if TYPE_CHECKING:
    from ..vm import VM

OK = WasmResult.OK


def _stream(vm: VM) -> HttpContext | None:
    context = vm.effective_context()
    return context if isinstance(context, HttpContext) else None


def _applies(context: Context | None, stream_type: int) -> bool:
    """Envoy acts only through the callbacks the context has: decoder/encoder callbacks for HTTP (types
    0/1), network read/write filter callbacks for TCP (2/3). Otherwise it returns OK and does nothing."""
    http_type = stream_type in (StreamType.HTTP_REQUEST, StreamType.HTTP_RESPONSE)
    if isinstance(context, HttpContext):
        return http_type
    return isinstance(context, TcpContext) and not http_type


def _continue(vm: VM, stream_type: int) -> int:
    if stream_type > StreamType.UPSTREAM:
        return WasmResult.BAD_ARGUMENT
    if stream_type == StreamType.UPSTREAM:
        return WasmResult.UNIMPLEMENTED
    context = vm.effective_context()
    if context is not None and _applies(context, stream_type):
        vm.host.request_continue(context, StreamType(stream_type))
    return OK


@hostcall("proxy_continue_stream")
def proxy_continue_stream(vm: VM, stream_type: int) -> int:
    return _continue(vm, stream_type)


@hostcall("proxy_continue_request")
def proxy_continue_request(vm: VM) -> int:
    return _continue(vm, StreamType.HTTP_REQUEST)


@hostcall("proxy_continue_response")
def proxy_continue_response(vm: VM) -> int:
    return _continue(vm, StreamType.HTTP_RESPONSE)


@hostcall("proxy_close_stream")
def proxy_close_stream(vm: VM, stream_type: int) -> int:
    if stream_type > StreamType.UPSTREAM:
        return WasmResult.BAD_ARGUMENT
    context = vm.effective_context()
    if context is not None and _applies(context, stream_type):
        vm.host.request_close(context, StreamType(stream_type))
    return OK


@hostcall("proxy_clear_route_cache")
def proxy_clear_route_cache(vm: VM) -> int:
    vm.host.note(vm, "clear_route_cache")
    return OK


@hostcall("proxy_send_local_response")
def proxy_send_local_response(
    vm: VM,
    status: int,
    details_ptr: int,
    details_size: int,
    body_ptr: int,
    body_size: int,
    headers_ptr: int,
    headers_size: int,
    grpc_status: int,
) -> int:
    details = vm.memory.read(details_ptr, details_size)
    body = vm.memory.read(body_ptr, body_size)
    headers = decode_pairs(vm.memory.read(headers_ptr, headers_size)) or []
    stream = _stream(vm)
    if stream is None:
        # Envoy returns OK and does nothing outside an HTTP stream: the request would hang.
        vm.host.host_log(
            3,
            "proxy_send_local_response outside an HTTP stream context is ignored by Envoy "
            "(call proxy_set_effective_context first)",
            vm,
        )
        return OK
    text = details.decode("utf-8", "replace")
    reply = LocalResponse(
        status=status,
        body=body,
        headers=headers,
        details="".join("_" if ch.isspace() else ch for ch in text),
        grpc_status=grpc_status if grpc_status <= 16 else None,
    )
    vm.host.request_local_response(stream, reply)
    return OK


@hostcall("proxy_get_status")
def proxy_get_status(vm: VM, ret_code: int, ret_msg_ptr: int, ret_msg_size: int) -> int:
    context = vm.effective_context()
    code, message = context.root.status if context is not None else (0, b"")
    vm.memory.write_u32(ret_code, code)
    vm.memory.return_bytes(message, ret_msg_ptr, ret_msg_size)
    return OK
