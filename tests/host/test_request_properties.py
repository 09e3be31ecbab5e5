"""request.* attributes as Envoy 1.40 computes them: from the request header map the filter holds (in
on_request_headers, while paused there, in on_log), on every stream however it is driven. The same
sample runs against Envoy in tests/plugins/test_gateway_samples.py."""

from __future__ import annotations

from pathlib import Path

from pytest_proxy_wasm import Host
from pytest_proxy_wasm.host.abi.enums import Action

ROUTE_METER = Path(__file__).resolve().parents[2] / "fixtures" / "go" / "route_meter.wasm"
REQUEST = [(":authority", "example.com"), (":path", "/api/v1?x=1"), (":method", "GET"), (":scheme", "http")]


def test_a_stream_driven_directly_has_its_request_attributes(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(ROUTE_METER, plugin_config={"strip_prefix": "/api"})
    del proxy_wasm_host.records[:]
    stream = plugin.http_stream()
    assert stream.on_request_headers(REQUEST, end_of_stream=False) is Action.CONTINUE
    stream.on_request_body(b"abc", end_of_stream=True)
    stream.on_response_headers([(":status", "200")], end_of_stream=True)
    stream.complete()
    assert plugin.failed is None
    attributes = "method=GET host=example.com scheme=http query=x=1 protocol=HTTP/1.1 useragent=NOT_FOUND"
    assert proxy_wasm_host.log_messages("info") == [
        f"route-meter request_headers: url_path=/api/v1 path=/api/v1?x=1 {attributes}",
        "route-meter: rewrote :path, request.path=/v1?x=1 request.url_path=/v1",
        "route-meter request_body: request.url_path NOT_FOUND, kept url_path=/v1",
        "route-meter response_headers: request.url_path NOT_FOUND, kept url_path=/v1",
        f"route-meter log: url_path=/v1 path=/v1?x=1 {attributes}",
        # 3 body bytes received + the 54 bytes of names and values of the (rewritten) map
        "route-meter log: request.size=3 request.total_size=57",
    ]


def test_root_context_has_no_request(proxy_wasm_host: Host) -> None:
    from pytest_proxy_wasm.host.properties import resolve

    plugin = proxy_wasm_host.load_plugin(ROUTE_METER)
    assert resolve(plugin.root, None, {}, b"request\0path") is None
