"""body (plugins_under_test/{rust,go}/body/README.md): buffering, rewriting and end_of_stream handling."""

from __future__ import annotations

import json

import pytest

from pytest_proxy_wasm import Action, Host
from pytest_proxy_wasm.backends import Backend

from .conftest import sample

CONFIG = {"request_field": "seen", "request_value": "yes", "response_body": "new body"}
# Envoy 1.40's HTTP/1.1 codec delivers the end of a body as one more, empty data frame
# (on_*_body(eos=true) after the last chunk's eos=false); the emulator does the same.


@pytest.fixture(params=["rust", "go"])
def body_language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.mark.parametrize(
    "chunks",
    [[b'{"a": 1}'], [b'{"a"', b": 1}"], [b"{", b'"a"', b":", b" 1", b"}"]],
    ids=["one", "two", "five"],
)
def test_json_request_is_rewritten_across_chunks(
    proxy_wasm_backend: Backend, body_language: str, chunks: list[bytes]
) -> None:
    plugin = proxy_wasm_backend.load_plugin(sample(body_language, "body"), plugin_config=CONFIG)
    outcome = proxy_wasm_backend.request(plugin, method="POST", body=chunks, upstream_body="old")
    upstream = outcome.upstream_request
    assert upstream is not None
    assert json.loads(upstream.body) == {"a": 1, "seen": "yes"}
    assert upstream.header("content-length") is None  # removed: the size changed
    assert outcome.response_body == b"new body"


def test_non_object_body_passes_unchanged(proxy_wasm_backend: Backend, body_language: str) -> None:
    plugin = proxy_wasm_backend.load_plugin(sample(body_language, "body"), plugin_config=CONFIG)
    outcome = proxy_wasm_backend.request(plugin, method="POST", body=[b"[1,", b"2]"])
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


def test_headers_only_exchange_is_answered_unchanged(proxy_wasm_backend: Backend, body_language: str) -> None:
    plugin = proxy_wasm_backend.load_plugin(sample(body_language, "body"), plugin_config=CONFIG)
    outcome = proxy_wasm_backend.request(plugin, headers={"x-a": "1"})
    assert outcome.status == 200 and outcome.response_body == b""
    assert outcome.upstream_request is not None and outcome.upstream_request.body == b""
    assert outcome.upstream_request.header("x-a") == "1"


def test_bad_config_is_refused(proxy_wasm_backend: Backend, body_language: str) -> None:
    from pytest_proxy_wasm import PluginStartError

    with pytest.raises(PluginStartError):
        proxy_wasm_backend.load_plugin(sample(body_language, "body"), plugin_config="not json")
    errors = proxy_wasm_backend.log_messages("error")
    assert any(m.startswith("body: invalid configuration") for m in errors)


def test_end_of_stream_arrives_as_its_own_frame(
    proxy_wasm_backend: Backend,
) -> None:
    """What Envoy 1.40 does with an HTTP/1.1 body: the chunks, then an empty end-of-stream frame."""
    plugin = proxy_wasm_backend.load_plugin(sample("rust", "body"), plugin_config=CONFIG)
    proxy_wasm_backend.clear_logs()
    proxy_wasm_backend.request(plugin, method="POST", body=[b'{"a"', b": 1}"], upstream_body="old")
    assert [m for m in proxy_wasm_backend.log_messages("debug") if "chunk" in m] == [
        "body: request chunk size=4 end_of_stream=false",
        "body: request chunk size=8 end_of_stream=false",
        "body: request chunk size=8 end_of_stream=true",
        "body: response chunk size=3 end_of_stream=false",
        "body: response chunk size=3 end_of_stream=true",
    ]
