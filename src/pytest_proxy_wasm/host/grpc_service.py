"""The ``service`` bytes of ``proxy_grpc_call``/``proxy_grpc_stream`` read the way Envoy 1.40 reads them.

Envoy (``Context::grpcCall``/``grpcStream`` in ``source/extensions/common/wasm/context.cc``) first
tries ``GrpcService::ParseFromString(bytes)``; only when that fails are the bytes a cluster name. When
they parse, the message goes to ``getOrCreateRawAsyncClient``, whose switch on the ``target_specifier``
oneof ends in ``PANIC_DUE_TO_PROTO_UNSET`` ("panic: unset oneof", SIGABRT) when neither ``envoy_grpc``
nor ``google_grpc`` is set. Many short names parse: ``authorino`` is field 12 as a fixed64 (``a`` =
0x61) carrying ``uthorino``, an unknown field protobuf keeps, so Envoy aborts.

The parse here is protobuf's wire format (varints, fixed32/64, length-delimited, groups) with the
rules of the C++ parser that matter: field number 0, wire types 6 and 7, an unmatched end-group tag
or a truncated field fail; a known field sent with another wire type is kept as an unknown field;
``envoy_grpc`` and the fields of ``EnvoyGrpc``/``Duration``/``HeaderValue`` are parsed as messages,
and their ``string`` fields must be UTF-8 (proto3). Deeper messages (``google_grpc``'s credentials,
``retry_policy``) are checked for well-formed wire format only.
"""

from __future__ import annotations

from dataclasses import dataclass

VARINT, FIXED64, LEN, START_GROUP, END_GROUP, FIXED32 = range(6)

# message -> {field number: (kind, sub-message)}; kinds: "message", "string", "bytes", "scalar"
_SCHEMAS: dict[str, dict[int, tuple[str, str]]] = {
    "GrpcService": {
        1: ("message", "EnvoyGrpc"),
        2: ("message", "*"),  # GoogleGrpc: wire format only
        3: ("message", "Duration"),
        5: ("message", "HeaderValue"),
        6: ("message", "*"),  # RetryPolicy
    },
    "EnvoyGrpc": {
        1: ("string", ""),  # cluster_name
        2: ("string", ""),  # authority
        3: ("message", "*"),  # retry_policy
        4: ("message", "*"),  # max_receive_message_length (UInt32Value)
        5: ("scalar", ""),  # skip_envoy_headers
    },
    "Duration": {1: ("scalar", ""), 2: ("scalar", "")},
    "HeaderValue": {1: ("string", ""), 2: ("string", ""), 3: ("bytes", "")},
    "*": {},
}


class WireError(ValueError):
    """The bytes are not a serialized message (Envoy then takes them as a cluster name)."""


@dataclass(frozen=True)
class GrpcServiceTarget:
    """What a parsed ``GrpcService`` asks for: ``target`` is ``envoy_grpc``, ``google_grpc`` or ``""``
    (unset: Envoy 1.40 aborts); ``cluster_name`` is ``envoy_grpc.cluster_name``."""

    target: str
    cluster_name: str = ""


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    for index in range(at, min(at + 10, len(data))):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index + 1
        shift += 7
    raise WireError(f"truncated or overlong varint at byte {at}")


def _skip(data: bytes, at: int, wire_type: int, number: int, depth: int) -> int:
    """The offset after one field's value (groups included)."""
    if wire_type == VARINT:
        return _varint(data, at)[1]
    if wire_type in (FIXED64, FIXED32):
        end = at + (8 if wire_type == FIXED64 else 4)
        if end > len(data):
            raise WireError(f"truncated fixed-size field {number}")
        return end
    if wire_type == LEN:
        size, at = _varint(data, at)
        if size > len(data) - at:
            raise WireError(f"field {number} claims {size} bytes, {len(data) - at} remain")
        return at + size
    if wire_type == START_GROUP:
        return _fields(data, at, "*", depth + 1, group=number)[0]
    raise WireError(f"wire type {wire_type} of field {number}")


def _fields(data: bytes, at: int, message: str, depth: int, group: int = 0) -> tuple[int, dict[int, bytes]]:
    """Parse a message's fields from ``at``; returns the end offset and the last LEN value of each
    known message/string field."""
    if depth > 100:  # protobuf's default recursion limit
        raise WireError("nested too deeply")
    schema = _SCHEMAS[message]
    found: dict[int, bytes] = {}
    while at < len(data):
        key, at = _varint(data, at)
        number, wire_type = key >> 3, key & 7
        if number == 0 or wire_type > FIXED32:
            raise WireError(f"field {number} with wire type {wire_type}")
        if wire_type == END_GROUP:
            if group and number == group:
                return at, found
            raise WireError(f"end of group {number} without its start")
        start = at
        at = _skip(data, at, wire_type, number, depth)
        kind, sub = schema.get(number, ("", ""))
        if wire_type != LEN or kind not in ("message", "string"):
            continue  # unknown field, scalar, or a known field with another wire type (kept as unknown)
        value = data[_varint(data, start)[1] : at]
        if kind == "message":
            _fields(value, 0, sub, depth + 1)
        else:
            try:
                value.decode("utf-8")
            except UnicodeDecodeError:
                raise WireError(f"field {number} of {message} is not UTF-8") from None
        found.pop(number, None)
        found[number] = value  # insertion order: the order of each field's last occurrence
    if group:
        raise WireError(f"group {group} not closed")
    return at, found


def grpc_service_target(service: bytes) -> GrpcServiceTarget | None:
    """``None`` when Envoy takes ``service`` as a cluster name (it does not parse as a ``GrpcService``);
    else the parsed target."""
    try:
        _, found = _fields(service, 0, "GrpcService", 0)
    except WireError:
        return None
    targets = [n for n in found if n in (1, 2)]
    if targets:  # a oneof: the last one on the wire wins
        if targets[-1] == 1:
            _, inner = _fields(found[1], 0, "EnvoyGrpc", 1)
            return GrpcServiceTarget("envoy_grpc", inner.get(1, b"").decode("utf-8"))
        return GrpcServiceTarget("google_grpc")
    return GrpcServiceTarget("")
