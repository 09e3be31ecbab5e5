"""guide_callout (plugins_under_test/rust/guide_callout/README.md): the Istio guide's
dispatch_http_call snippet, as written there."""

from __future__ import annotations

import pytest

from pytest_proxy_wasm import Host
from pytest_proxy_wasm.backends import Backend

from .conftest import sample

MODULE = sample("rust", "guide_callout")
CLUSTER = "outbound|5000||sealos.hub"


def test_the_callout_is_the_guides(proxy_wasm_backend: Backend) -> None:
    """The same record on every backend (docs/backends.md, "Callout records"): on Envoy :scheme is
    what its router forwarded and :authority the Host the fake cluster received."""
    proxy_wasm_backend.expect_http_call(CLUSTER).respond_with(200, body=b"\x02")
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    proxy_wasm_backend.request(plugin)
    [call] = proxy_wasm_backend.http_calls
    assert call.cluster == CLUSTER
    assert call.headers == [
        (":method", "GET"),
        (":scheme", "http"),
        (":authority", "sealos.hub:5000"),
        (":path", "/bytes/1"),
    ]
    assert call.header(":authority") == "sealos.hub:5000"
    assert call.body == b"" and call.trailers == []
    assert call.timeout_ms == 5000
    assert call.answered_status == 200


@pytest.mark.parametrize("first_byte", [b"\x00", b"\x02", b"\xfe"])
def test_even_first_byte_grants_access(proxy_wasm_backend: Backend, first_byte: bytes) -> None:
    proxy_wasm_backend.expect_http_call(CLUSTER).respond_with(200, body=first_byte + b"rest")
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    outcome = proxy_wasm_backend.request(plugin, upstream_body="hello")
    assert outcome.status == 200 and outcome.response_body == b"hello"
    assert outcome.upstream_request is not None
    assert outcome.log_messages("info") == ["Access granted."]


@pytest.mark.parametrize("answer", ["odd", "empty", "server-error-odd", "reset"])
def test_anything_else_is_forbidden(proxy_wasm_backend: Backend, answer: str) -> None:
    expectation = proxy_wasm_backend.expect_http_call(CLUSTER)
    if answer == "odd":
        expectation.respond_with(200, body=b"\x01")
    elif answer == "empty":
        expectation.respond_with(200, body=b"")
    elif answer == "server-error-odd":
        expectation.respond_with(500, body=b"\x03")
    else:
        expectation.fail(answer)  # Envoy answers the call 503 "upstream connect error ...": 'u' is odd
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    outcome = proxy_wasm_backend.request(plugin, upstream_body="hello")
    assert outcome.status == 403
    assert outcome.response_body == b"Access forbidden.\n"
    assert outcome.header("powered-by") == "proxy-wasm"
    assert outcome.upstream_request is None
    assert outcome.log_messages("info") == ["Access forbidden."]


def test_slow_answer_times_out_after_five_seconds(proxy_wasm_host: Host) -> None:
    proxy_wasm_host.expect_http_call(CLUSTER).respond_with(200, body=b"\x02", delay_ms=6000)
    plugin = proxy_wasm_host.load_plugin(MODULE)
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.status == 403  # Envoy answers the call 504 at 5 s
    assert proxy_wasm_host.http_calls[0].answered_status == 504


def test_missing_cluster_panics_on_the_unwrap(proxy_wasm_backend: Backend) -> None:
    """The guide unwrap()s the dispatch: without the cluster (BadArgument) the SDK panics and
    FAIL_CLOSED answers 503 — the guide's code breaks every request where the cluster is absent."""
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    outcome = proxy_wasm_backend.request(plugin, upstream_body="hello")
    assert outcome.status == 503
    assert outcome.upstream_request is None
    [critical] = outcome.log_messages("critical")
    assert critical.startswith("panicked at guide_callout/src/lib.rs:49:10:")
    assert critical.endswith("called `Result::unwrap()` on an `Err` value: BadArgument")
