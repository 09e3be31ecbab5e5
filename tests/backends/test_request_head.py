"""The request head as Envoy's HTTP/1.1 codec and connection manager hand it to filters, on every backend:
``expect: 100-continue`` consumed (issue 26), ``host`` as the authority (issue 27 item 1).

Each test runs on the emulator, on Envoy (subprocess), in diff mode (both, compared field by field,
logs included) and in the container backend; a backend that cannot run here is skipped with the reason.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import wasmtime

from pytest_proxy_wasm.backends import Backend, make_backend
from pytest_proxy_wasm.host.request_head import RequestHeadError
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
HEADERS = FIXTURES / "rust" / "headers.wasm"  # logs "request header: <name>: <value>" for each header
BODY = bytes(range(256)) * 8  # 2 KiB: curl sends "Expect: 100-continue" for bodies over 1 KiB
CURL = [("user-agent", "curl/8.5.0"), ("accept", "*/*"), ("content-type", "application/octet-stream")]


@pytest.fixture(params=["emulator", "envoy", "diff", "container"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    name = str(request.param)
    reason = envoy_unavailable_reason(name) if name != "emulator" else None
    if reason:
        pytest.skip(reason)
    made = make_backend(name, workdir=tmp_path / "envoy")
    try:
        yield made
        made.check()
    finally:
        made.close()


def seen(outcome: object) -> list[str]:
    """The request headers the plugin saw, as ``name: value``."""
    prefix = "request header: "
    messages = outcome.log_messages("info")  # type: ignore[attr-defined]
    return [m.removeprefix(prefix) for m in messages if m.startswith(prefix)]


@pytest.mark.parametrize("value", ["100-continue", "100-Continue"])
def test_expect_100_continue_is_consumed_before_the_filters(backend: Backend, value: str) -> None:
    """curl's upload: the head with Expect, the body once "100 Continue" came. Envoy answers the interim
    itself and removes the header: neither the plugin nor the upstream sees it; the body arrives whole."""
    plugin = backend.load_plugin(HEADERS)
    outcome = backend.request(
        plugin,
        method="POST",
        path="/upload",
        headers=[*CURL, ("expect", value)],
        body=BODY,
        upstream_body="stored",
    )
    assert outcome.status == 200 and outcome.response_body == b"stored"
    assert not [line for line in seen(outcome) if line.lower().startswith("expect:")]
    assert seen(outcome)[:4] == [
        ":authority: example.com",
        ":path: /upload",
        ":method: POST",
        ":scheme: http",
    ]
    assert f"content-length: {len(BODY)}" in seen(outcome)
    up = outcome.upstream_request
    assert up is not None and up.header("expect") is None
    assert up.body == BODY


def test_other_expectations_pass_through(backend: Backend) -> None:
    plugin = backend.load_plugin(HEADERS)
    outcome = backend.request(plugin, method="POST", headers=[("expect", "gzip")], body=b"x" * 1500)
    assert outcome.status == 200
    assert "expect: gzip" in seen(outcome)
    assert outcome.upstream_request is not None and outcome.upstream_request.header("expect") == "gzip"


def response_code_module() -> bytes:
    """Logs ``code: <response.code>`` (three digits) or ``code: none`` in on_request_headers."""
    return bytes(
        wasmtime.wat2wasm(r"""(module
  (import "env" "proxy_get_property" (func $prop (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (data (i32.const 1024) "response\00code")
  (data (i32.const 1040) "code: none")
  (data (i32.const 1056) "code: ")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap
      (i32.add (global.get $heap) (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    (local $code i32)
    (if (i32.ne (call $prop (i32.const 1024) (i32.const 13) (i32.const 600) (i32.const 604)) (i32.const 0))
      (then (drop (call $log (i32.const 2) (i32.const 1040) (i32.const 10))) (return (i32.const 0))))
    (local.set $code (i32.load (i32.load (i32.const 600))))
    (i32.store8 (i32.const 1062) (i32.add (i32.const 48) (i32.div_u (local.get $code) (i32.const 100))))
    (i32.store8 (i32.const 1063)
      (i32.add (i32.const 48) (i32.rem_u (i32.div_u (local.get $code) (i32.const 10)) (i32.const 10))))
    (i32.store8 (i32.const 1064) (i32.add (i32.const 48) (i32.rem_u (local.get $code) (i32.const 10))))
    (drop (call $log (i32.const 2) (i32.const 1056) (i32.const 9)))
    (i32.const 0)))
""")
    )


@pytest.mark.parametrize(("expect", "logged"), [(True, "code: 100"), (False, "code: none")])
def test_response_code_is_100_once_envoy_answered_continue(
    backend: Backend, expect: bool, logged: str
) -> None:
    """Envoy charges the "100 Continue" it sent to the stream: ``response.code`` reads 100 in
    on_request_headers (and is absent without Expect)."""
    plugin = backend.load_plugin(response_code_module())
    headers = [("expect", "100-continue")] if expect else []
    outcome = backend.request(plugin, method="PUT", headers=headers, body=BODY)
    assert outcome.status == 200
    assert outcome.log_messages("info") == [logged]


@pytest.mark.parametrize("name", ["host", "Host", b"host"])
def test_host_header_is_the_authority(backend: Backend, name: str | bytes) -> None:
    plugin = backend.load_plugin(HEADERS)
    outcome = backend.request(plugin, headers=[(name, "other.org:8443"), ("x-a", "1")])
    assert outcome.status == 200
    assert [line for line in seen(outcome) if not line.startswith("x-request-id: ")] == [
        ":authority: other.org:8443",
        ":path: /",
        ":method: GET",
        ":scheme: http",
        "x-a: 1",
        "x-forwarded-proto: http",
    ]
    up = outcome.upstream_request
    assert up is not None
    assert [(k, v) for k, v in up.headers if k in (":authority", "host")] == [
        (":authority", "other.org:8443")
    ]


def test_default_authority_and_an_equal_host(backend: Backend) -> None:
    plugin = backend.load_plugin(HEADERS)
    assert seen(backend.request(plugin))[0] == ":authority: example.com"
    same = backend.request(plugin, authority="api.test", headers={"host": "api.test"})
    assert seen(same)[0] == ":authority: api.test"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"authority": "a.test", "headers": {"host": "b.test"}},
            r"Host header 'b.test' and authority='a.test'",
        ),
        ({"headers": [("host", "a.test"), ("Host", "b.test")]}, r"2 Host headers .*carries one"),
    ],
)
def test_conflicting_authorities_are_refused(
    backend: Backend, kwargs: dict[str, object], message: str
) -> None:
    plugin = backend.load_plugin(HEADERS)
    with pytest.raises(RequestHeadError, match=message):
        backend.request(plugin, **kwargs)  # type: ignore[arg-type]


def test_expect_without_a_body_or_with_trailers_is_consumed_too(backend: Backend) -> None:
    """Envoy consumes the header whatever follows: no body at all, or a chunked body with trailers."""
    plugin = backend.load_plugin(response_code_module())
    bare = backend.request(plugin, headers={"expect": "100-continue"})
    assert bare.status == 200 and bare.log_messages("info")[-1] == "code: 100"
    chunked = backend.request(
        plugin,
        method="POST",
        headers={"expect": "100-continue"},
        body=[b"a" * 700, b"b" * 700],
        trailers={"x-t": "1"},
    )
    assert chunked.status == 200 and chunked.log_messages("info")[-1] == "code: 100"
    up = chunked.upstream_request
    assert up is not None and up.header("expect") is None and up.body == b"a" * 700 + b"b" * 700
    assert up.trailers == [("x-t", "1")]
