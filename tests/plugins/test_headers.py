"""headers (plugins_under_test/CONTRACTS.md) in Rust, Go and AssemblyScript."""

from __future__ import annotations

import pytest

from pytest_proxy_wasm import Host, PluginStartError

from .conftest import sample


def test_defaults_add_and_remove(proxy_wasm_host: Host, language: str) -> None:
    plugin = proxy_wasm_host.load_plugin(sample(language, "headers"))
    outcome = proxy_wasm_host.request(
        plugin,
        headers={"x-remove-me": "1", "x-keep": "2"},
        upstream_headers=[("x-remove-me", "3"), ("x-up", "4")],
    )
    upstream = outcome.upstream_request
    assert upstream is not None
    assert upstream.header("x-wasm-request") == "hello"
    assert upstream.header("x-remove-me") is None
    assert upstream.header("x-keep") == "2"
    assert outcome.header("x-wasm-response") == "world"
    assert outcome.header("x-remove-me") is None
    assert outcome.header("x-up") == "4"


def test_every_header_is_logged_in_order(proxy_wasm_host: Host, language: str) -> None:
    plugin = proxy_wasm_host.load_plugin(sample(language, "headers"))
    outcome = proxy_wasm_host.request(
        plugin, path="/p", headers=[("x-a", "1"), ("x-a", "2")], upstream_headers=[("x-b", "3")]
    )
    info = [m for m in outcome.log_messages("info") if m.startswith(("request header:", "response header:"))]
    assert info == [
        "request header: :method: GET",
        "request header: :path: /p",
        "request header: :scheme: http",
        "request header: :authority: example.com",
        "request header: x-a: 1",
        "request header: x-a: 2",
        "response header: :status: 200",
        "response header: x-b: 3",
        "response header: content-length: 0",
    ]


def test_names_and_values_come_from_config(proxy_wasm_host: Host, language: str) -> None:
    config = {"request_header": ["x-req", "r"], "response_header": ["x-resp", "s"], "remove": "x-secret"}
    plugin = proxy_wasm_host.load_plugin(sample(language, "headers"), plugin_config=config)
    outcome = proxy_wasm_host.request(
        plugin, headers={"x-secret": "1", "x-req": "0"}, upstream_headers={"x-secret": "2"}
    )
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.headers[-2:] == [("x-req", "0"), ("x-req", "r")]  # added, not replaced
    assert outcome.upstream_request.header("x-secret") is None
    assert outcome.header("x-resp") == "s"
    assert outcome.header("x-secret") is None


def test_malformed_config_is_refused(proxy_wasm_host: Host, language: str) -> None:
    with pytest.raises(PluginStartError):
        proxy_wasm_host.load_plugin(sample(language, "headers"), plugin_config="{not json")
    assert any(m.startswith("headers: invalid configuration") for m in proxy_wasm_host.log_messages("error"))
