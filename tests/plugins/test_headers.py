"""headers (plugins_under_test/CONTRACTS.md) in Rust, Go and AssemblyScript."""

from __future__ import annotations

import re

import pytest

from pytest_proxy_wasm import PluginStartError
from pytest_proxy_wasm.backends import Backend

from .conftest import sample


def test_defaults_add_and_remove(proxy_wasm_backend: Backend, language: str) -> None:
    plugin = proxy_wasm_backend.load_plugin(sample(language, "headers"))
    outcome = proxy_wasm_backend.request(
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


def test_every_header_is_logged_in_order(proxy_wasm_backend: Backend, language: str) -> None:
    plugin = proxy_wasm_backend.load_plugin(sample(language, "headers"))
    outcome = proxy_wasm_backend.request(
        plugin,
        path="/p",
        headers=[("x-a", "1"), ("x-a", "2"), ("x-request-id", "r1")],
        upstream_headers=[("x-b", "3")],
    )
    info = [
        re.sub(r"(x-envoy-upstream-service-time: )\d+", r"\g<1>0", m)  # real Envoy measures it
        for m in outcome.log_messages("info")
        if m.startswith(("request header:", "response header:"))
    ]
    # Envoy 1.40's maps as filters see them (HTTP/1.1 downstream, the router's header on the response)
    assert info == [
        "request header: :authority: example.com",
        "request header: :path: /p",
        "request header: :method: GET",
        "request header: :scheme: http",
        "request header: x-a: 1",
        "request header: x-a: 2",
        "request header: x-request-id: r1",
        "request header: x-forwarded-proto: http",
        "response header: :status: 200",
        "response header: x-b: 3",
        "response header: content-length: 0",
        "response header: x-envoy-upstream-service-time: 0",
    ]


def test_names_and_values_come_from_config(proxy_wasm_backend: Backend, language: str) -> None:
    config = {"request_header": ["x-req", "r"], "response_header": ["x-resp", "s"], "remove": "x-secret"}
    plugin = proxy_wasm_backend.load_plugin(sample(language, "headers"), plugin_config=config)
    outcome = proxy_wasm_backend.request(
        plugin, headers={"x-secret": "1", "x-req": "0"}, upstream_headers={"x-secret": "2"}
    )
    assert outcome.upstream_request is not None
    assert [v for k, v in outcome.upstream_request.headers if k == "x-req"] == [
        "0",
        "r",
    ]  # added, not replaced
    assert outcome.upstream_request.header("x-secret") is None
    assert outcome.header("x-resp") == "s"
    assert outcome.header("x-secret") is None


def test_malformed_config_is_refused(proxy_wasm_backend: Backend, language: str) -> None:
    with pytest.raises(PluginStartError):
        proxy_wasm_backend.load_plugin(sample(language, "headers"), plugin_config="{not json")
    assert any(
        m.startswith("headers: invalid configuration") for m in proxy_wasm_backend.log_messages("error")
    )
