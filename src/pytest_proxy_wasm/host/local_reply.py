"""The headers of a local reply, as Envoy 1.40's ``Http::Utility::prepareLocalReply`` builds them.

Rules (source/common/http/utility.cc, checked on Envoy 1.40 by tests/host/test_fidelity_local_reply.py):
- ``:status`` first, then the plugin's headers, each added (``addCopy``: duplicates kept).
- A body sets ``content-length``; ``content-type: text/plain`` only when the plugin gave none.
  An empty body removes both (the HTTP/1.1 codec then writes ``content-length: 0`` on the wire).
- A gRPC request (``:path`` present, content type ``application/grpc`` or ``application/grpc+...``)
  gets a trailers-only answer: ``:status 200``, ``content-type: application/grpc``, the plugin's own
  ``grpc-status`` if it gave one (else the given or mapped code), the body percent-encoded into
  ``grpc-message`` (not for HEAD), and no ``content-length``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .headers import HeaderMap

if TYPE_CHECKING:
    from .contexts import LocalResponse

# Envoy Grpc::Utility::httpToGrpcStatus
HTTP_TO_GRPC = {400: 13, 401: 16, 403: 7, 404: 12, 429: 14, 502: 14, 503: 14, 504: 14}


def is_grpc_request(request: HeaderMap | None) -> bool:
    """Envoy ``Grpc::Common::isGrpcRequestHeaders`` (``application/grpc-web`` is not gRPC)."""
    if request is None or request.get(b":path") is None:
        return False
    content_type = request.get(b"content-type") or b""
    return content_type == b"application/grpc" or content_type.startswith(b"application/grpc+")


def is_head_request(request: HeaderMap | None) -> bool:
    return request is not None and request.get(b":method") == b"HEAD"


def grpc_percent_encode(value: bytes) -> bytes:
    """Envoy ``PercentEncoding::encode(value, "%")``: bytes below 0x20, at or above 0x7E (so ``~``
    too, stricter than gRPC's own rule) and ``%`` become ``%XX`` with upper-case hex."""
    out = bytearray()
    for byte in value:
        if byte < 0x20 or byte >= 0x7E or byte == 0x25:
            out += b"%%%02X" % byte
        else:
            out.append(byte)
    return bytes(out)


def _set(headers: HeaderMap, key: bytes, value: bytes) -> None:
    """Envoy's inline-header ``set``: the first entry keeps its place with the new value, any other
    entries of ``key`` go; a missing header is appended."""
    for index, (k, _) in enumerate(headers.entries):
        if k == key:
            headers.entries[index] = (key, value)
            headers.entries[index + 1 :] = [(k2, v2) for k2, v2 in headers.entries[index + 1 :] if k2 != key]
            return
    headers.add(key, value)


def local_reply_headers(
    reply: LocalResponse, request: HeaderMap | None, *, grpc: bool | None = None, head: bool | None = None
) -> HeaderMap:
    """``grpc``/``head``: what Envoy decided from the request headers as the client sent them (the
    filter manager's ``requestHeadersInitialized``); taken from ``request`` when not given."""
    grpc = is_grpc_request(request) if grpc is None else grpc
    head = is_head_request(request) if head is None else head
    headers = HeaderMap([(b":status", str(reply.status).encode())])
    for key, value in reply.headers:
        headers.add(key, value)
    if grpc:
        _set(headers, b":status", b"200")
        _set(headers, b"content-type", b"application/grpc")
        if not headers.get(b"grpc-status"):
            code = reply.grpc_status if reply.grpc_status is not None else HTTP_TO_GRPC.get(reply.status, 2)
            _set(headers, b"grpc-status", str(code).encode())
        if reply.body and not head:
            _set(headers, b"grpc-message", grpc_percent_encode(reply.body))
        headers.remove(b"content-length")
        return headers
    if reply.body:
        _set(headers, b"content-length", str(len(reply.body)).encode())
        if headers.get(b"content-type") is None:
            _set(headers, b"content-type", b"text/plain")
    else:
        headers.remove(b"content-length")
        headers.remove(b"content-type")
    return headers


def local_reply_body(reply: LocalResponse, *, grpc: bool, head: bool) -> bytes:
    """The body frame: none for a gRPC (trailers-only) answer or a HEAD request."""
    return b"" if grpc or head else reply.body
