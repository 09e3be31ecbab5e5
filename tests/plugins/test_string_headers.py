"""string_headers (plugins_under_test/rust/string_headers/README.md): the Rust SDK's String header
API, and the panic it carries on a header value that is not UTF-8."""

from __future__ import annotations

import re

import pytest

from pytest_proxy_wasm.backends import Backend

from .conftest import sample

MODULE = sample("rust", "string_headers")
LATIN1 = "caf\xe9"  # sent on the wire as the single byte 0xE9: valid HTTP (obs-text), not UTF-8
PANIC = re.compile(
    r"panicked at .*hostcalls\.rs:\d+:\d+:\ncalled `Result::unwrap\(\)` on an `Err` value: FromUtf8Error"
)


@pytest.mark.parametrize(
    ("user_agent", "expected"),
    [
        ("Mozilla/5.0 (X11; Linux x86_64)", "browser"),
        ("Googlebot/2.1 (+http://www.google.com/bot.html)", "bot"),
        ("curl/8.5.0", "bot"),
        ("okhttp/4.12", "other"),
        (None, "other"),
    ],
)
def test_user_agent_class_is_added(
    proxy_wasm_backend: Backend, user_agent: str | None, expected: str
) -> None:
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    headers = {"user-agent": user_agent} if user_agent is not None else {}
    outcome = proxy_wasm_backend.request(plugin, headers=headers, upstream_body="ok")
    assert outcome.status == 200 and outcome.response_body == b"ok"
    assert outcome.upstream_request is not None
    assert [v for k, v in outcome.upstream_request.headers if k == "x-ua-class"] == [expected]
    assert outcome.header("x-string-headers") == "1"
    info = outcome.log_messages("info")
    if user_agent is not None:
        assert info[0] == f"string-headers: #2 user-agent: {user_agent}"
    assert any(re.fullmatch(rf"string-headers: #2 \d+ request headers, class {expected}", m) for m in info)


def test_response_headers_are_logged_in_order(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    outcome = proxy_wasm_backend.request(plugin, upstream_headers=[("x-b", "3"), ("x-c", "4")])
    response = [
        re.sub(r"(x-envoy-upstream-service-time: )\d+", r"\g<1>0", m)  # real Envoy measures it
        for m in outcome.log_messages("info")
        if " <- " in m
    ]
    assert response == [
        "string-headers: #2 <- :status: 200",
        "string-headers: #2 <- x-b: 3",
        "string-headers: #2 <- x-c: 4",
        "string-headers: #2 <- content-length: 0",
        "string-headers: #2 <- x-envoy-upstream-service-time: 0",
    ]


@pytest.mark.parametrize("where", ["user-agent", "other-request-header"])
def test_non_utf8_request_header_panics_and_fails_closed(proxy_wasm_backend: Backend, where: str) -> None:
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    headers = {"user-agent": LATIN1} if where == "user-agent" else {"user-agent": "curl/8", "x-name": LATIN1}
    outcome = proxy_wasm_backend.request(plugin, headers=headers)
    assert outcome.status == 503
    assert outcome.upstream_request is None
    assert outcome.plugin_failed is not None
    [critical] = outcome.log_messages("critical")
    assert PANIC.match(critical), critical
    assert "bytes: [99, 97, 102, 233]" in critical
    # the VM is broken: every later request is refused too, even a clean one
    later = proxy_wasm_backend.request(plugin, headers={"user-agent": "Mozilla/5.0"})
    assert later.status == 503
    assert later.upstream_request is None


def test_non_utf8_response_header_panics(proxy_wasm_backend: Backend) -> None:
    """A trap in proxy_on_response_headers: Envoy 1.40 sends the 503 straight to the client with an
    empty body (issue 12.4; the emulator used to pass the upstream body on)."""
    plugin = proxy_wasm_backend.load_plugin(MODULE)
    outcome = proxy_wasm_backend.request(plugin, upstream_headers={"x-name": LATIN1}, upstream_body="up")
    assert outcome.upstream_request is not None  # the request went through before the panic
    assert outcome.status == 503
    assert outcome.response_body == b""
    [critical] = outcome.log_messages("critical")
    assert PANIC.match(critical), critical


def test_fail_open_passes_later_requests_untouched(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(MODULE, failure_policy="FAIL_OPEN")
    proxy_wasm_backend.request(plugin, headers={"user-agent": LATIN1})
    later = proxy_wasm_backend.request(plugin, headers={"user-agent": "Mozilla/5.0"}, upstream_body="ok")
    assert later.status == 200 and later.response_body == b"ok"
    assert later.upstream_request is not None
    assert later.upstream_request.header("x-ua-class") is None
    assert later.header("x-string-headers") is None
