"""Envoy attributes for ``proxy_get_property`` (abi-spec section 7) and their value encodings (4.4)."""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from .abi.pairs import encode_pairs

if TYPE_CHECKING:
    from .contexts import Context
    from .headers import HeaderMap

PropertyValue = str | bytes | bool | int | float | Mapping[str, Any] | list[Any] | None

STREAM_ROOTS = {
    "request",
    "response",
    "connection",
    "upstream",
    "source",
    "destination",
    "metadata",
    "filter_state",
    "upstream_filter_state",
    "connection_id",
}


def encode_value(value: PropertyValue) -> bytes | None:
    """Envoy's serializeValue: strings raw, ints 8 bytes LE, bools 1 byte, maps and lists as pairs."""
    if value is None:
        return None
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, bool):
        return b"\x01" if value else b"\x00"
    if isinstance(value, int):
        return struct.pack("<q", value) if value < (1 << 63) else struct.pack("<Q", value)
    if isinstance(value, float):
        return struct.pack("<d", value)
    if isinstance(value, Mapping):
        pairs = []
        for k, v in value.items():
            encoded = encode_value(v)
            pairs.append((encode_value(k) or b"", encoded or b""))
        return encode_pairs(pairs)
    if isinstance(value, list):
        return encode_pairs([(encode_value(v) or b"", b"") for v in value])
    return None


class StreamInfo:
    """What Envoy knows about one downstream request, shared by every filter of the chain.

    Class attributes are the defaults; an instance sets only what differs (it is made per stream).
    """

    request_headers: HeaderMap | None = None
    response_headers: HeaderMap | None = None
    response_trailers: HeaderMap | None = None
    duration_ns: int | None = None
    request_size: int = 0  # body bytes received so far (Envoy's bytesReceived)
    response_size: int = 0
    response_code: int | None = None
    response_details: str = ""
    source: tuple[str, int] = ("127.0.0.1", 45678)
    destination: tuple[str, int] = ("127.0.0.1", 10000)
    upstream: tuple[str, int] | None = None
    protocol: str = "HTTP/1.1"

    def __init__(self, start_ns: int = 0, connection_id: int = 1, random_bits: int = 0) -> None:
        self.start_ns = start_ns
        self.connection_id = connection_id
        self.random_bits = random_bits
        self.filter_state: dict[bytes, bytes] = {}


def _header(headers: HeaderMap | None, name: bytes) -> bytes | None:
    return headers.get(name) if headers is not None else None


def _joined(headers: HeaderMap | None) -> dict[str, str]:
    out: dict[str, str] = {}
    if headers is None:
        return out
    for k, v in headers.entries:
        key, val = k.decode("latin-1"), v.decode("latin-1")
        out[key] = f"{out[key]},{val}" if key in out else val
    return out


def _request_attribute(info: StreamInfo, req: HeaderMap | None, rest: list[str]) -> PropertyValue:
    """Envoy 1.40's ``RequestLookup`` (filters/common/expr/context.cc): header-derived attributes come
    from ``req``, the map the filter holds (None: NOT_FOUND); time, protocol and sizes from the stream."""
    name = rest[0] if rest else ""
    if name == "headers":
        headers = _joined(req)
        return headers.get(rest[1].lower()) if len(rest) > 1 else headers
    if name == "time":
        return info.start_ns
    if name == "protocol":
        return info.protocol
    if name == "size":
        length = _header(req, b"content-length")
        return int(length) if length is not None and length.isdigit() else info.request_size
    if name == "total_size":
        return info.request_size + (req.byte_size() if req is not None else 0)
    if name == "duration":
        return info.duration_ns
    if req is None:
        return None
    raw_path = req.get(b":path")
    if name == "url_path":
        return raw_path.split(b"?", 1)[0] if raw_path is not None else b""
    if name == "query":
        query = raw_path.partition(b"?")[2] if raw_path is not None else b""
        return query.partition(b"#")[0]
    header = REQUEST_HEADER_ATTRIBUTES.get(name)
    return req.get(header) if header is not None else None


# request.<name> read from one request header (Envoy's RequestLookup)
REQUEST_HEADER_ATTRIBUTES = {
    "path": b":path",
    "host": b":authority",
    "scheme": b":scheme",
    "method": b":method",
    "referer": b"referer",
    "useragent": b"user-agent",
    "id": b"x-request-id",
}


def stream_attribute(
    info: StreamInfo,
    path: list[str],
    request_headers: HeaderMap | None = None,
    response_headers: HeaderMap | None = None,
) -> PropertyValue:
    """Resolve ``request.*``, ``response.*``, ``source.*`` ... from the stream; ``None`` = NOT_FOUND.
    ``request_headers``/``response_headers``: the maps the filter holds in this callback (Envoy reads
    the header-derived attributes from them; in other callbacks there are none)."""
    root, rest = path[0], path[1:]
    name = rest[0] if rest else ""
    if root == "request":
        return _request_attribute(info, request_headers, rest)
    if root == "response":
        if name == "headers":
            headers = _joined(response_headers)
            return headers.get(rest[1].lower()) if len(rest) > 1 else headers
        if name == "trailers":
            return _joined(info.response_trailers)
        return {
            "code": info.response_code,
            "code_details": info.response_details or None,
            "size": info.response_size,
            "total_size": info.response_size,
            "flags": 0,
            "grpc_status": None,
        }.get(name)
    if root in ("source", "destination", "upstream"):
        where = {"source": info.source, "destination": info.destination, "upstream": info.upstream}[root]
        if where is None:
            return None
        ip = f"[{where[0]}]" if ":" in where[0] else where[0]  # Envoy's asString
        address: dict[str, PropertyValue] = {"address": f"{ip}:{where[1]}", "port": where[1]}
        return address.get(name)
    if root == "connection":
        return {"id": info.connection_id, "mtls": False}.get(name)
    if root == "connection_id":
        return info.connection_id
    return None


def held_headers(context: Context, info: StreamInfo) -> tuple[HeaderMap | None, HeaderMap | None]:
    """The request and response header maps an HTTP filter holds now (Envoy wasm ``Context``: during
    its headers callback and while paused there; the access log's in on_log), else None."""
    request = getattr(context, "request", None)
    response = getattr(context, "response", None)
    if request is None or response is None:
        return None, None  # a TCP stream: no HTTP headers
    if getattr(context, "in_log_phase", False):
        return info.request_headers or request.headers, info.response_headers or response.headers
    return (
        request.headers if request.headers_live else None,
        response.headers if response.headers_live else None,
    )


def resolve(
    context: Context,
    info: StreamInfo | None,
    overrides: Mapping[tuple[str, ...], PropertyValue],
    raw_path: bytes,
) -> bytes | None:
    """The encoded value of ``raw_path`` (segments split on NUL) as Envoy would return it."""
    segments = [s.decode("utf-8", "replace") for s in raw_path.rstrip(b"\0").split(b"\0")]
    key = tuple(segments)
    if key in overrides:
        return encode_value(overrides[key])
    plugin = context.plugin
    root = segments[0]
    if root == "plugin_name" and len(segments) == 1:
        return plugin.name.encode()
    if root == "plugin_root_id" and len(segments) == 1:
        return plugin.root_id.encode()
    if root == "plugin_vm_id" and len(segments) == 1:
        return context.vm.vm_id.encode()
    if info is None:
        return None  # no stream: request.*, response.* ... are NOT_FOUND in a root context
    if root in STREAM_ROOTS:
        return encode_value(stream_attribute(info, segments, *held_headers(context, info)))
    # Anything else is a filter-state key. Envoy 1.40 (Context::findValue) looks up ``wasm.`` + the
    # FIRST segment only, while proxy_set_property stores under ``wasm.`` + the whole raw path: a
    # property set as "a\0b" (or "a\0") is never found again, and "a\0b" of a property "a" is NOT_FOUND
    # (a set value is bytes, with no fields below it; one trailing NUL is ignored).
    first, _, rest = raw_path.partition(b"\0")
    if rest:
        return None
    return info.filter_state.get(b"wasm." + first)
