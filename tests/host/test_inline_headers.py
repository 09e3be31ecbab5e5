"""Envoy's inline headers: adding one that is there appends to its value (``host/inline_headers.py``).

Seen on Envoy 1.40 with fixtures/scenarios/go-cors.proxywasm.yaml (diff mode): a plugin adding
``vary: Origin`` to a response with ``vary: Accept-Encoding`` gives the client one
``vary: Accept-Encoding,Origin``.
"""

from __future__ import annotations

from wat_builder import Probe, build

from pytest_proxy_wasm.backends import Backend
from pytest_proxy_wasm.host.abi.enums import MapType
from pytest_proxy_wasm.host.headers import HeaderMap
from pytest_proxy_wasm.host.inline_headers import add_copy, set_pairs


def _add(probe: Probe, map_type: int, key: str, value: str) -> str:
    return f"(call $proxy_add_header_map_value (i32.const {map_type}) {probe.s(key)} {probe.s(value)})"


def test_add_copy_joins_inline_headers_only() -> None:
    headers = HeaderMap([(b"vary", b"Accept-Encoding"), (b"x-own", b"1")])
    add_copy(headers, MapType.HTTP_RESPONSE_HEADERS, b"Vary", b"Origin")
    add_copy(headers, MapType.HTTP_RESPONSE_HEADERS, b"vary", b"")  # Envoy appends nothing
    add_copy(headers, MapType.HTTP_RESPONSE_HEADERS, b"x-own", b"2")
    add_copy(headers, MapType.HTTP_RESPONSE_HEADERS, b"cache-control", b"no-store")
    assert headers.entries == [
        (b"vary", b"Accept-Encoding,Origin"),
        (b"x-own", b"1"),
        (b"x-own", b"2"),
        (b"cache-control", b"no-store"),
    ]


def test_inline_sets_differ_per_map() -> None:
    request = HeaderMap([(b"vary", b"a"), (b"origin", b"o1")])
    add_copy(request, MapType.HTTP_REQUEST_HEADERS, b"vary", b"b")  # not inline in requests
    add_copy(request, MapType.HTTP_REQUEST_HEADERS, b"origin", b"o2")
    assert request.entries == [(b"vary", b"a"), (b"origin", b"o1,o2"), (b"vary", b"b")]
    trailers = HeaderMap([(b"grpc-status", b"0")])
    add_copy(trailers, MapType.HTTP_REQUEST_TRAILERS, b"grpc-status", b"1")  # no inline trailers
    assert trailers.entries == [(b"grpc-status", b"0"), (b"grpc-status", b"1")]


def test_set_pairs_joins_repeated_inline_headers() -> None:
    headers = HeaderMap([(b"old", b"x")])
    set_pairs(headers, MapType.HTTP_RESPONSE_HEADERS, [(b":status", b"200"), (b"via", b"a"), (b"Via", b"b")])
    assert headers.entries == [(b":status", b"200"), (b"via", b"a,b")]


def test_plugin_adds_reach_the_client_joined(proxy_wasm_backend: Backend) -> None:
    """On every backend (diff mode compares it with Envoy 1.40)."""
    probe = Probe("0.2.1")
    probe.on(
        "proxy_on_response_headers",
        f"(drop {_add(probe, 2, 'vary', 'Origin')}) (drop {_add(probe, 2, 'x-twice', 'b')})",
    )
    probe.on("proxy_on_request_headers", f"(drop {_add(probe, 0, 'cache-control', 'no-cache')})")
    plugin = proxy_wasm_backend.load_plugin(build(probe))
    outcome = proxy_wasm_backend.request(
        plugin,
        headers={"cache-control": "max-age=0"},
        upstream_headers=[("vary", "Accept-Encoding"), ("x-twice", "a")],
    )
    assert [v for k, v in outcome.response_headers if k == "vary"] == ["Accept-Encoding,Origin"]
    assert [v for k, v in outcome.response_headers if k == "x-twice"] == ["a", "b"]
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.header("cache-control") == "max-age=0,no-cache"
