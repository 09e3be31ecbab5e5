"""One callout record shape on every backend (issue 16 item 2): one test body, the same fields.

The module dispatches one HTTP callout with the headers a case gives, holds the request until the
answer arrives, then lets it through. Each backend's record must list ``:method``, ``:scheme``,
``:authority``, ``:path`` and the plugin's other headers, with Envoy's ``:scheme`` rule applied.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from pathlib import Path

import pytest
import wasmtime

from pytest_proxy_wasm.backends import Backend, make_backend
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

CLUSTER = "outbound|5000||sealos.hub"
BACKENDS = ["emulator", "envoy", "diff"]
BASE = [(b":method", b"GET"), (b":path", b"/bytes/1"), (b":authority", b"sealos.hub:5000")]


def _pairs(items: list[tuple[bytes, bytes]]) -> bytes:
    out = struct.pack("<I", len(items)) + b"".join(struct.pack("<II", len(k), len(v)) for k, v in items)
    return out + b"".join(k + b"\0" + v + b"\0" for k, v in items)


def _escaped(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


def callout_module(headers: list[tuple[bytes, bytes]], body: bytes = b"", timeout_ms: int = 5000) -> bytes:
    """Dispatch on request headers (paused); on the answer, copy its ``x-v`` header (if any) into the
    request as ``x-from-callout`` and continue the stream."""
    cluster, encoded = CLUSTER.encode(), _pairs(headers)
    body_at = 2048 + len(encoded) + 8
    wat = f"""(module
  (import "env" "proxy_http_call" (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_effective_context" (func $effective (param i32) (result i32)))
  (import "env" "proxy_continue_stream" (func $continue (param i32) (result i32)))
  (import "env" "proxy_get_header_map_value" (func $get (param i32 i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (global $stream (mut i32) (i32.const 0))
  (data (i32.const 1024) "{_escaped(cluster)}")
  (data (i32.const 1536) "x-v")
  (data (i32.const 1544) "x-from-callout")
  (data (i32.const 2048) "{_escaped(encoded)}")
  (data (i32.const {body_at}) "{_escaped(body)}")
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
  (func (export "proxy_on_request_headers") (param $id i32) (param i32 i32) (result i32)
    (global.set $stream (local.get $id))
    (drop (call $call (i32.const 1024) (i32.const {len(cluster)}) (i32.const 2048) (i32.const {len(encoded)})
      (i32.const {body_at}) (i32.const {len(body)}) (i32.const 0) (i32.const 0) (i32.const {timeout_ms})
      (i32.const 512)))
    (i32.const 1))
  (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
    (drop (call $effective (global.get $stream)))
    (if (i32.eqz (call $get (i32.const 6) (i32.const 1536) (i32.const 3) (i32.const 600) (i32.const 604)))
      (then (drop (call $add (i32.const 0) (i32.const 1544) (i32.const 14)
        (i32.load (i32.const 600)) (i32.load (i32.const 604))))))
    (drop (call $continue (i32.const 0)))))
"""
    return bytes(wasmtime.wat2wasm(wat))


@pytest.fixture(params=BACKENDS)
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


CASES = {
    # the guide's snippet: :scheme http
    "scheme-http": ([*BASE, (b":scheme", b"http")], "http"),
    "scheme-https": ([*BASE, (b":scheme", b"https")], "https"),
    # Envoy's router: no (or an invalid) :scheme becomes x-forwarded-proto if valid, else http
    "no-scheme": (BASE, "http"),
    "invalid-scheme": ([*BASE, (b":scheme", b"ftp")], "http"),
    "forwarded-proto": ([*BASE, (b"x-forwarded-proto", b"https")], "https"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_the_record_has_the_same_fields_on_every_backend(backend: Backend, case: str) -> None:
    headers, scheme = CASES[case]
    plugin = backend.load_plugin(callout_module([(b"x-trace", b"t1"), *headers]))
    backend.expect_http_call(CLUSTER).respond_with(200, body=b"\x02")
    outcome = backend.request(plugin, upstream_body="through")
    assert outcome.status == 200
    assert outcome.response_body == b"through"
    [call] = backend.http_calls
    assert call.cluster == CLUSTER
    expected = [(":method", "GET"), (":scheme", scheme), (":authority", "sealos.hub:5000")]
    expected.append((":path", "/bytes/1"))
    extra = [("x-forwarded-proto", "https")] if case == "forwarded-proto" else []
    assert call.headers == [*expected, ("x-trace", "t1"), *extra]
    assert call.header(":authority") == "sealos.hub:5000"
    assert call.header(":scheme") == scheme
    assert (call.body, call.trailers, call.timeout_ms, call.matched, call.answered_status) == (
        b"",
        [],
        5000,
        True,
        200,
    )
    assert [c["headers"] for c in outcome.callouts] == [[list(h) for h in call.headers]]


def test_a_body_adds_content_length_on_every_backend(backend: Backend) -> None:
    plugin = backend.load_plugin(
        callout_module([(b":method", b"POST"), *BASE[1:], (b"x-a", b"1")], body=b"hello", timeout_ms=0)
    )
    backend.expect_http_call(CLUSTER, method="POST").respond_with(204)
    assert backend.request(plugin).status == 200
    [call] = backend.http_calls
    assert call.headers[4:] == [("x-a", "1"), ("content-length", "5")]
    assert (call.header(":method"), call.body) == ("POST", b"hello")
    assert (call.timeout_ms, call.answered_status) == (0, 204)


def test_a_reset_reads_as_envoys_503_on_every_backend(backend: Backend) -> None:
    plugin = backend.load_plugin(callout_module(BASE))
    backend.expect_http_call(CLUSTER).fail("reset")
    assert backend.request(plugin).status == 200
    [call] = backend.http_calls
    assert (call.header(":scheme"), call.answered_status) == ("http", 503)
