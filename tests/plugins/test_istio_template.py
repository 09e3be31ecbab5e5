"""istio_template (plugins_under_test/rust/istio_template/README.md): the Istio wasm guide's Rust
template — logs its configuration and every header, 401 JSON under /v2, marks other responses."""

from __future__ import annotations

import re

import pytest

from pytest_proxy_wasm import Host, PluginStartError
from pytest_proxy_wasm.backends import Backend

from .conftest import sample

MODULE = sample("rust", "istio_template")
JSON_TYPE = "application/json; charset=utf-8"


def test_configuration_is_logged_at_debug(proxy_wasm_backend: Backend) -> None:
    proxy_wasm_backend.load_plugin(MODULE, plugin_config='{"username":"admin","password":"passw0rd"}')
    assert '#on_configure -> {"username":"admin","password":"passw0rd"}' in proxy_wasm_backend.log_messages(
        "debug"
    )


def test_request_and_response_headers_are_logged(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    outcome = proxy_wasm_backend.request(
        plugin,
        path="/v1/items",
        headers=[("x-a", "1"), ("x-request-id", "r1")],
        upstream_headers=[("x-b", "2")],
        upstream_body="up",
    )
    assert outcome.status == 200 and outcome.response_body == b"up"
    assert outcome.header("x-wasm-template") == "1"
    assert [
        re.sub(r"(x-envoy-upstream-service-time: )\d+", r"\g<1>0", m) for m in outcome.log_messages("info")
    ] == [
        "#2 -> :authority: example.com",
        "#2 -> :path: /v1/items",
        "#2 -> :method: GET",
        "#2 -> :scheme: http",
        "#2 -> x-a: 1",
        "#2 -> x-request-id: r1",
        "#2 -> x-forwarded-proto: http",
        "#2 <- :status: 200",
        "#2 <- x-b: 2",
        "#2 <- content-length: 2",
        "#2 <- x-envoy-upstream-service-time: 0",
    ]


@pytest.mark.parametrize(
    ("path", "refused"), [("/v2", True), ("/v2/items?a=1", True), ("/v20", True), ("/v1/v2", False)]
)
def test_paths_under_v2_are_refused(proxy_wasm_backend: Backend, path: str, refused: bool) -> None:
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    outcome = proxy_wasm_backend.request(plugin, path=path, upstream_body="up")
    if not refused:
        assert outcome.status == 200 and outcome.response_body == b"up"
        return
    assert outcome.status == 401
    assert outcome.response_body == b'{"error":"unauthorized"}'
    assert outcome.upstream_request is None
    assert outcome.header("x-wasm-template") == "1"  # the local reply passes on_http_response_headers too
    assert "#2 <- :status: 401" in outcome.log_messages("info")


def test_refusal_keeps_the_plugins_content_type(proxy_wasm_backend: Backend) -> None:
    """Issue 16.1: Envoy keeps the plugin's content type and adds content-length after it."""
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    outcome = proxy_wasm_backend.request(plugin, path="/v2")
    assert outcome.headers_named("content-type") == [JSON_TYPE]
    assert [m for m in outcome.log_messages("info") if " <- " in m] == [
        "#2 <- :status: 401",
        f"#2 <- content-type: {JSON_TYPE}",
        "#2 <- content-length: 24",
    ]


def test_configuration_that_is_not_utf8_is_refused(proxy_wasm_host: Host) -> None:
    """Emulator only: Envoy's configuration arrives as a protobuf StringValue (the Envoy backend
    decodes the bytes with replacement characters), so a plugin there never sees invalid UTF-8."""
    with pytest.raises(PluginStartError):
        proxy_wasm_host.load_plugin(MODULE, plugin_config=b"\xff\xfe")
    assert "Failed to convert configuration bytes to string" in proxy_wasm_host.log_messages("error")
