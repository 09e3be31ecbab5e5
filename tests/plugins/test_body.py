"""body (plugins_under_test/{rust,go}/body/README.md): buffering, rewriting and end_of_stream handling."""

from __future__ import annotations

import json

import pytest

from pytest_proxy_wasm import Action, Host

from .conftest import sample

CONFIG = {"request_field": "seen", "request_value": "yes", "response_body": "new body"}


@pytest.fixture(params=["rust", "go"])
def body_language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize(
    "chunks",
    [[b'{"a": 1}'], [b'{"a"', b": 1}"], [b"{", b'"a"', b":", b" 1", b"}"]],
    ids=["one", "two", "five"],
)
def test_json_request_is_rewritten_across_chunks(
    proxy_wasm_host: Host, body_language: str, chunks: list[bytes]
) -> None:
    plugin = proxy_wasm_host.load_plugin(sample(body_language, "body"), plugin_config=CONFIG)
    outcome = proxy_wasm_host.request(plugin, method="POST", body=chunks, upstream_body="old")
    upstream = outcome.upstream_request
    assert upstream is not None
    assert json.loads(upstream.body) == {"a": 1, "seen": "yes"}
    assert upstream.header("content-length") is None  # removed: the size changed
    assert outcome.response_body == b"new body"


def test_non_object_body_passes_unchanged(proxy_wasm_host: Host, body_language: str) -> None:
    plugin = proxy_wasm_host.load_plugin(sample(body_language, "body"), plugin_config=CONFIG)
    outcome = proxy_wasm_host.request(plugin, method="POST", body=[b"[1,", b"2]"])
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.body == b"[1,2]"


def test_headers_only_exchange_never_reaches_body_callbacks(
    proxy_wasm_host: Host, body_language: str
) -> None:
    plugin = proxy_wasm_host.load_plugin(sample(body_language, "body"), plugin_config=CONFIG)
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.response_body == b""
    assert plugin.vm.calls.get("proxy_on_request_body", 0) == 0
    assert plugin.vm.calls.get("proxy_on_response_body", 0) == 0


def test_body_callbacks_see_the_cumulative_size(proxy_wasm_host: Host, body_language: str) -> None:
    plugin = proxy_wasm_host.load_plugin(sample(body_language, "body"), plugin_config=CONFIG)
    stream = plugin.http_stream()
    assert (
        stream.on_request_headers({":method": "POST", ":path": "/"}, end_of_stream=False) is Action.CONTINUE
    )
    assert stream.on_request_body(b'{"x":', end_of_stream=False) is Action.PAUSE
    assert stream.on_request_body(b"2}", end_of_stream=True) is Action.CONTINUE
    assert json.loads(stream.request_body_buffer) == {"x": 2, "seen": "yes"}
    if body_language == "rust":
        debug = proxy_wasm_host.log_messages("debug")
        assert "body: request chunk size=5 end_of_stream=false" in debug
        assert "body: request chunk size=7 end_of_stream=true" in debug


def test_bad_config_is_refused(proxy_wasm_host: Host, body_language: str) -> None:
    from pytest_proxy_wasm import PluginStartError

    with pytest.raises(PluginStartError):
        proxy_wasm_host.load_plugin(sample(body_language, "body"), plugin_config="not json")
    assert any(m.startswith("body: invalid configuration") for m in proxy_wasm_host.log_messages("error"))
