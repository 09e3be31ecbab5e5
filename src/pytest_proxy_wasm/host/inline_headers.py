"""Envoy's inline (O(1)) headers: adding one that is already there appends to its value.

Envoy's ``HeaderMapImpl::addCopy`` (what ``proxy_add_header_map_value`` and
``proxy_set_header_map_pairs`` call) goes through ``insertByKey``: for a header the map keeps inline
and that is present, the new value is appended to the existing one with ``,`` instead of a second
entry (``vary: Accept-Encoding`` plus ``vary: Origin`` reads ``vary: Accept-Encoding,Origin``).
The lists are Envoy 1.40's "HTTP header map info" start-up lines (the core headers plus those
its compiled-in extensions register, e.g. the CORS and compressor filters).
"""

from __future__ import annotations

from collections.abc import Iterable

from .abi.enums import MapType
from .headers import HeaderMap

REQUEST_HEADERS = frozenset(
    b""":authority :method :path :protocol :scheme accept accept-encoding
    access-control-request-headers access-control-request-method
    access-control-request-private-network authentication authorization cache-control cdn-loop
    connection content-encoding content-length content-type expect grpc-accept-encoding grpc-timeout
    if-match if-modified-since if-none-match if-range if-unmodified-since keep-alive origin pragma
    proxy-connection proxy-status referer te transfer-encoding upgrade user-agent via
    x-client-trace-id x-envoy-attempt-count x-envoy-decorator-operation
    x-envoy-downstream-service-cluster x-envoy-downstream-service-node
    x-envoy-expected-rq-timeout-ms x-envoy-external-address x-envoy-force-trace
    x-envoy-hedge-on-per-try-timeout x-envoy-internal x-envoy-ip-tags x-envoy-is-timeout-retry
    x-envoy-max-retries x-envoy-original-host x-envoy-original-path x-envoy-original-url
    x-envoy-retriable-header-names x-envoy-retriable-status-codes x-envoy-retry-grpc-on
    x-envoy-retry-on x-envoy-upstream-alt-stat-name x-envoy-upstream-rq-per-try-timeout-ms
    x-envoy-upstream-rq-timeout-alt-response x-envoy-upstream-rq-timeout-ms
    x-envoy-upstream-stream-duration-ms x-forwarded-client-cert x-forwarded-for x-forwarded-host
    x-forwarded-port x-forwarded-proto x-request-id""".split()
)
RESPONSE_HEADERS = frozenset(
    b""":status access-control-allow-credentials access-control-allow-headers
    access-control-allow-methods access-control-allow-origin access-control-allow-private-network
    access-control-expose-headers access-control-max-age age cache-control connection
    content-encoding content-length content-type date etag expires grpc-message grpc-status
    keep-alive last-modified location proxy-connection proxy-status server transfer-encoding upgrade
    vary via x-envoy-attempt-count x-envoy-decorator-operation x-envoy-degraded
    x-envoy-immediate-health-check-fail x-envoy-ratelimited x-envoy-upstream-canary
    x-envoy-upstream-healthchecked-cluster x-envoy-upstream-service-time x-request-id""".split()
)
RESPONSE_TRAILERS = frozenset({b"grpc-message", b"grpc-status"})

_INLINE_BY_MAP: dict[int, frozenset[bytes]] = {
    MapType.HTTP_REQUEST_HEADERS: REQUEST_HEADERS,
    MapType.HTTP_RESPONSE_HEADERS: RESPONSE_HEADERS,
    MapType.HTTP_RESPONSE_TRAILERS: RESPONSE_TRAILERS,
}


def add_copy(headers: HeaderMap, map_type: int, key: bytes, value: bytes) -> None:
    """Envoy ``addCopy`` on the map ``map_type``: an inline header already present gets ``,value``
    appended (just ``value`` when it was empty; an empty ``value`` changes nothing); anything else
    is a new entry."""
    key = key.lower()
    if key in _INLINE_BY_MAP.get(map_type, frozenset()):
        for index, (name, old) in enumerate(headers.entries):
            if name == key:
                if value:
                    headers.entries[index] = (key, old + b"," + value if old else value)
                return
    headers.add(key, value)


def set_pairs(headers: HeaderMap, map_type: int, pairs: Iterable[tuple[bytes, bytes]]) -> None:
    """Envoy ``setHeaderMapPairs``: every header goes, then each pair is ``addCopy``-ed in order."""
    headers.entries = []
    for key, value in pairs:
        add_copy(headers, map_type, key, value)
