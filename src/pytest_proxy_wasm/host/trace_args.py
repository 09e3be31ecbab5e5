"""Names and readable values for hostcall and callback arguments (marshalling only, no meaning).

Parameter names follow the ABI spec. The suffixes say how to show them: ``X_ptr``/``X_size`` is a
region the plugin passes (read before the call), ``ret_X_ptr``/``ret_X_size`` a region the host
returns (read after it), ``ret_X`` a u32 out-parameter (``ret_X64``: u64), ``map_type``,
``buffer_type``, ``stream_type``, ``level`` and ``metric_type`` are enums shown by name.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Any

from .abi.enums import BufferType, LogLevel, MapType, MetricType, StreamType
from .abi.pairs import decode_pairs

CUT = 80  # characters of a value shown before it is cut

_ENUMS: dict[str, Callable[[int], Any]] = {
    "map_type": MapType,
    "buffer_type": BufferType,
    "stream_type": StreamType,
    "level": LogLevel,
    "metric_type": MetricType,
}

_P = "ptr"
# The service, method and metadata arguments both gRPC calls start with.
_GRPC_TARGET = (
    "service_ptr",
    "service_size",
    "service_name_ptr",
    "service_name_size",
    "method_ptr",
    "method_size",
    "metadata_pairs_ptr",
    "metadata_pairs_size",
)

HOSTCALL_PARAMS: dict[str, tuple[str, ...]] = {
    "proxy_log": ("level", "message_ptr", "message_size"),
    "proxy_get_log_level": ("ret_level",),
    "proxy_get_current_time_nanoseconds": ("ret_time64",),
    "proxy_set_tick_period_milliseconds": ("period_ms",),
    "proxy_get_configuration": ("ret_config_ptr", "ret_config_size"),
    "proxy_set_effective_context": ("context_id",),
    "proxy_call_foreign_function": (
        "name_ptr",
        "name_size",
        "args_ptr",
        "args_size",
        "ret_results_ptr",
        "ret_results_size",
    ),
    "proxy_get_buffer_bytes": ("buffer_type", "start", "max_size", "ret_data_ptr", "ret_data_size"),
    "proxy_get_buffer_status": ("buffer_type", "ret_size", "ret_flags"),
    "proxy_set_buffer_bytes": ("buffer_type", "start", "length", "data_ptr", "data_size"),
    "proxy_get_header_map_pairs": ("map_type", "ret_pairs_ptr", "ret_pairs_size"),
    "proxy_set_header_map_pairs": ("map_type", "pairs_ptr", "pairs_size"),
    "proxy_get_header_map_value": ("map_type", "key_ptr", "key_size", "ret_value_ptr", "ret_value_size"),
    "proxy_add_header_map_value": ("map_type", "key_ptr", "key_size", "value_ptr", "value_size"),
    "proxy_replace_header_map_value": ("map_type", "key_ptr", "key_size", "value_ptr", "value_size"),
    "proxy_remove_header_map_value": ("map_type", "key_ptr", "key_size"),
    "proxy_get_header_map_size": ("map_type", "ret_size"),
    "proxy_continue_stream": ("stream_type",),
    "proxy_close_stream": ("stream_type",),
    "proxy_send_local_response": (
        "status_code",
        "details_ptr",
        "details_size",
        "body_ptr",
        "body_size",
        "headers_pairs_ptr",
        "headers_pairs_size",
        "grpc_status",
    ),
    "proxy_get_status": ("ret_code", "ret_message_ptr", "ret_message_size"),
    "proxy_http_call": (
        "upstream_ptr",
        "upstream_size",
        "headers_pairs_ptr",
        "headers_pairs_size",
        "body_ptr",
        "body_size",
        "trailers_pairs_ptr",
        "trailers_pairs_size",
        "timeout_ms",
        "ret_token",
    ),
    "proxy_grpc_call": (
        *_GRPC_TARGET,
        "message_ptr",
        "message_size",
        "timeout_ms",
        "ret_token",
    ),
    "proxy_grpc_stream": (
        *_GRPC_TARGET,
        "ret_token",
    ),
    "proxy_grpc_send": ("token", "message_ptr", "message_size", "end_stream"),
    "proxy_grpc_cancel": ("token",),
    "proxy_grpc_close": ("token",),
    "proxy_set_shared_data": ("key_ptr", "key_size", "value_ptr", "value_size", "cas"),
    "proxy_get_shared_data": ("key_ptr", "key_size", "ret_value_ptr", "ret_value_size", "ret_cas"),
    "proxy_register_shared_queue": ("name_ptr", "name_size", "ret_queue_id"),
    "proxy_resolve_shared_queue": ("vm_id_ptr", "vm_id_size", "name_ptr", "name_size", "ret_queue_id"),
    "proxy_enqueue_shared_queue": ("queue_id", "value_ptr", "value_size"),
    "proxy_dequeue_shared_queue": ("queue_id", "ret_value_ptr", "ret_value_size"),
    "proxy_define_metric": ("metric_type", "name_ptr", "name_size", "ret_metric_id"),
    "proxy_increment_metric": ("metric_id", "offset"),
    "proxy_record_metric": ("metric_id", "value"),
    "proxy_get_metric": ("metric_id", "ret_value64"),
    "proxy_get_property": ("path_ptr", "path_size", "ret_value_ptr", "ret_value_size"),
    "proxy_set_property": ("path_ptr", "path_size", "value_ptr", "value_size"),
}

CALLBACK_PARAMS: dict[str, tuple[str, ...]] = {
    "proxy_on_context_create": ("context_id", "parent_context_id"),
    "proxy_on_vm_start": ("context_id", "vm_configuration_size"),
    "proxy_validate_configuration": ("context_id", "configuration_size"),
    "proxy_on_configure": ("context_id", "configuration_size"),
    "proxy_on_tick": ("context_id",),
    "proxy_on_queue_ready": ("context_id", "queue_id"),
    "proxy_on_foreign_function": ("context_id", "function_id", "arguments_size"),
    "proxy_on_new_connection": ("context_id",),
    "proxy_on_downstream_data": ("context_id", "data_size", "end_of_stream"),
    "proxy_on_upstream_data": ("context_id", "data_size", "end_of_stream"),
    "proxy_on_downstream_connection_close": ("context_id", "peer_type"),
    "proxy_on_upstream_connection_close": ("context_id", "peer_type"),
    "proxy_on_request_headers": ("context_id", "num_headers", "end_of_stream"),
    "proxy_on_request_body": ("context_id", "body_size", "end_of_stream"),
    "proxy_on_request_trailers": ("context_id", "num_trailers"),
    "proxy_on_response_headers": ("context_id", "num_headers", "end_of_stream"),
    "proxy_on_response_body": ("context_id", "body_size", "end_of_stream"),
    "proxy_on_response_trailers": ("context_id", "num_trailers"),
    "proxy_on_http_call_response": ("context_id", "token", "num_headers", "body_size", "num_trailers"),
    "proxy_on_grpc_receive_initial_metadata": ("context_id", "token", "num_headers"),
    "proxy_on_grpc_receive": ("context_id", "token", "message_size"),
    "proxy_on_grpc_receive_trailing_metadata": ("context_id", "token", "num_trailers"),
    "proxy_on_grpc_close": ("context_id", "token", "status_code"),
    "proxy_on_done": ("context_id",),
    "proxy_on_log": ("context_id",),
    "proxy_on_delete": ("context_id",),
    "malloc": ("size",),
    "proxy_on_memory_allocate": ("size",),
}

Reader = Callable[[int, int], bytes]  # (ptr, size) -> bytes; raises on a bad range


def param_names(name: str, count: int, callback: bool = False) -> tuple[str, ...]:
    names = (CALLBACK_PARAMS if callback else HOSTCALL_PARAMS).get(name)
    if names is None or len(names) != count:
        return tuple(f"arg{i}" for i in range(count))
    return names


def is_pointer(param: str) -> bool:
    """Addresses differ from one host to the next; they never take part in a comparison."""
    return param.endswith("_ptr") or param.startswith("ret_")


def is_context(param: str) -> bool:
    return param in ("context_id", "parent_context_id")


def shown_bytes(data: bytes, label: str = "") -> str:
    """A readable, cut rendering: header pairs as ``k: v``, property paths dotted, else text or hex."""
    if "pairs" in label:
        pairs = decode_pairs(data)
        if pairs:
            text = "; ".join(
                f"{k.decode('utf-8', 'replace')}: {v.decode('utf-8', 'replace')}" for k, v in pairs
            )
            return _cut(f"{{{text}}}", len(data))
    if label == "path" and b"\0" in data:
        return _cut('"' + data.decode("utf-8", "replace").replace("\0", ".") + '"', len(data))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return _cut("0x" + data.hex(), len(data))
    if text.isprintable() or not text:
        return _cut(f'"{text}"', len(data))
    return _cut(repr(text), len(data))


def _cut(text: str, size: int) -> str:
    if len(text) > CUT:
        return f"{text[:CUT]}... ({size} B)"
    return text


def _enum(param: str, value: int) -> Any:
    try:
        return _ENUMS[param](value).name
    except ValueError:
        return value


def decode_inputs(names: tuple[str, ...], args: tuple[int, ...], read: Reader | None) -> dict[str, Any]:
    """Arguments before the call: enums by name, passed regions read (or marked out of range)."""
    out: dict[str, Any] = {}
    index = 0
    while index < len(names):
        param, value = names[index], args[index]
        if param.endswith("_ptr") and not param.startswith("ret_") and index + 1 < len(names):
            label = param[: -len("_ptr")]
            size = args[index + 1]
            out[label] = _region(read, value, size, label)
            index += 2
            continue
        if param.startswith("ret_"):
            index += 1
            continue
        out[param] = _enum(param, value) if param in _ENUMS else value
        index += 1
    return out


def _region(read: Reader | None, ptr: int, size: int, label: str) -> str:
    if read is None:
        return f"[{ptr:#x}, +{size}]"
    try:
        return shown_bytes(read(ptr, size), label)
    except Exception:
        return f"<out of range: {ptr:#x}, +{size}>"


def decode_outputs(names: tuple[str, ...], args: tuple[int, ...], read: Reader) -> dict[str, Any]:
    """What the host wrote back after an OK call: returned regions and out-parameters."""
    out: dict[str, Any] = {}
    index = 0
    while index < len(names):
        param = names[index]
        if not param.startswith("ret_"):
            index += 1
            continue
        label = param[len("ret_") :]
        try:
            if param.endswith("_ptr") and index + 1 < len(names):
                ptr, size = _u32(read, args[index]), _u32(read, args[index + 1])
                out[label[: -len("_ptr")]] = shown_bytes(read(ptr, size), label) if size else '""'
                index += 2
                continue
            if param.endswith("64"):
                out[label[:-2]] = struct.unpack("<Q", read(args[index], 8))[0]
            else:
                out[label] = _u32(read, args[index])
        except Exception:
            out[label] = "<unreadable>"
        index += 1
    return out


def _u32(read: Reader, ptr: int) -> int:
    value: int = struct.unpack("<I", read(ptr, 4))[0]
    return value


def comparable_args(names: tuple[str, ...], args: tuple[int, ...]) -> tuple[int, ...]:
    """The raw arguments two hosts must agree on: no addresses, no context ids."""
    return tuple(v for p, v in zip(names, args, strict=False) if not is_pointer(p) and not is_context(p))
