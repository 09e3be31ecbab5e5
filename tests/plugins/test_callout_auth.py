"""callout-auth (plugins_under_test/CONTRACTS.md) in Rust, Go and AssemblyScript."""

from __future__ import annotations

import pytest

from pytest_proxy_wasm import Host
from pytest_proxy_wasm.backends import Backend

from .conftest import sample

CLUSTER = "outbound|5000||sealos.hub"


@pytest.mark.parametrize("first_byte", [b"\x00", b"\x02", b"\xfe"])
def test_even_byte_lets_the_request_through(proxy_wasm_host: Host, language: str, first_byte: bytes) -> None:
    plugin = proxy_wasm_host.load_plugin(sample(language, "callout_auth"))
    proxy_wasm_host.expect_http_call(CLUSTER).respond_with(200, body=first_byte + b"rest")
    outcome = proxy_wasm_host.request(plugin, upstream_body="hello")
    assert outcome.status == 200
    assert outcome.response_body == b"hello"
    assert outcome.upstream_request is not None
    [call] = proxy_wasm_host.http_calls
    assert call.cluster == CLUSTER
    assert (call.header(":method"), call.header(":path"), call.header(":authority")) == (
        "GET",
        "/bytes/1",
        "sealos.hub:5000",
    )
    assert call.timeout_ms == 5000


@pytest.mark.parametrize("answer", ["odd", "empty", "reset", "timeout", "server-error-odd"])
def test_anything_else_is_forbidden(proxy_wasm_backend: Backend, language: str, answer: str) -> None:
    if answer == "timeout" and proxy_wasm_backend.name != "emulator":
        pytest.skip("a real timeout takes the plugin's 5 s; the emulator covers it on the virtual clock")
    plugin = proxy_wasm_backend.load_plugin(sample(language, "callout_auth"))
    expectation = proxy_wasm_backend.expect_http_call(CLUSTER)
    if answer == "odd":
        expectation.respond_with(200, body=b"\x01")
    elif answer == "empty":
        expectation.respond_with(200, body=b"")
    elif answer == "server-error-odd":
        expectation.respond_with(500, body=b"\x03")
    else:
        expectation.fail(answer)
    outcome = proxy_wasm_backend.request(plugin)
    assert outcome.status == 403
    assert outcome.response_body == b"Access forbidden."
    assert outcome.header("powered-by") == "proxy-wasm"
    assert outcome.upstream_request is None


def test_slow_upstream_times_out_after_the_callout_timeout(proxy_wasm_host: Host, language: str) -> None:
    plugin = proxy_wasm_host.load_plugin(sample(language, "callout_auth"))
    proxy_wasm_host.expect_http_call(CLUSTER).respond_with(200, body=b"\x02", delay_ms=6000)
    before = proxy_wasm_host.clock.monotonic_ns
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.status == 403  # Envoy answers the callout 504 at 5 s: no even byte
    assert proxy_wasm_host.http_calls[0].answered_status == 504
    assert proxy_wasm_host.clock.monotonic_ns - before == 5_000_000_000


def test_unknown_cluster_makes_the_plugin_answer_503(proxy_wasm_host: Host, language: str) -> None:
    plugin = proxy_wasm_host.load_plugin(
        sample(language, "callout_auth"), plugin_config={"cluster": "nowhere"}
    )
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.status == 503
    assert outcome.response_body == b"callout dispatch failed"
    assert outcome.header("powered-by") == "proxy-wasm"
    assert proxy_wasm_host.http_calls == []


def test_undeclared_call_is_reported_at_check(proxy_wasm_host: Host, language: str) -> None:
    plugin = proxy_wasm_host.load_plugin(sample(language, "callout_auth"))
    proxy_wasm_host.add_cluster(CLUSTER)
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.status == 403  # the cluster answers 503 "upstream connect error" with an odd 'u'
    with pytest.raises(AssertionError, match="unexpected HTTP call to cluster 'outbound"):
        proxy_wasm_host.check()
