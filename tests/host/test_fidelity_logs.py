"""Log lines and request headers as Envoy 1.40 gives them (issue 12 items 2 and 7), on every backend."""

from __future__ import annotations

import struct

from wat_builder import Probe, build, pairs

from pytest_proxy_wasm.backends import Backend

IOVS = 128  # iovec tables, 8 bytes per entry
NWRITTEN = 100


def writing(*writes: tuple[int, bytes]) -> bytes:
    """on_request_headers calls fd_write once per ``(fd, data)``."""
    probe = Probe()
    calls = []
    for index, (fd, data) in enumerate(writes):
        table = IOVS + 8 * index
        probe.data[table] = struct.pack("<II", probe.ptr(data) if data else 0, len(data))
        calls.append(
            f"(drop (call $fd_write (i32.const {fd}) (i32.const {table}) (i32.const 1) "
            f"(i32.const {NWRITTEN})))"
        )
    probe.on("proxy_on_request_headers", " ".join(calls))
    return build(probe)


def test_a_lone_newline_is_an_empty_log_line(proxy_wasm_backend: Backend) -> None:
    """cpp-host writevImpl: every non-empty write is one line with one trailing newline removed; stdout
    logs at info, stderr at error (the Go runtime's panic output, ``fmt.Println()``)."""
    plugin = proxy_wasm_backend.load_plugin(
        writing((1, b"\n"), (2, b"\n"), (1, b"x\n\n"), (1, b""), (2, b"panic: boom\n"))
    )
    outcome = proxy_wasm_backend.request(plugin)
    assert [(r.level_name, r.message) for r in outcome.logs] == [
        ("info", ""),
        ("error", ""),
        ("info", "x\n"),
        ("error", "panic: boom"),
    ]
    assert {r.context_kind for r in outcome.logs} == {"stream"}


def late_callout() -> bytes:
    """Dispatches a callout and lets the request go on at once: the answer comes after the stream."""
    probe = Probe()
    headers = pairs([(b":method", b"GET"), (b":path", b"/audit"), (b":authority", b"audit")])
    probe.on(
        "proxy_on_request_headers",
        f"(drop (call $proxy_http_call {probe.s('audit')} {probe.s(headers)} "
        "(i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 5000) (i32.const 208)))",
    )
    probe.on("proxy_on_log", probe.log("stream done"))
    probe.on("proxy_on_http_call_response", probe.log("audit answered"))
    return build(probe)


def test_outcome_logs_wait_for_the_exchange_callouts(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(late_callout())
    proxy_wasm_backend.expect_http_call("audit").respond_with(200, body="ok", delay_ms=150)
    outcome = proxy_wasm_backend.request(plugin, upstream_body="served")
    assert (outcome.status, outcome.response_body) == (200, b"served")
    assert [(r.message, r.context_kind) for r in outcome.logs] == [
        ("stream done", "stream"),
        ("audit answered", "root"),
    ]
    second = proxy_wasm_backend.request(plugin)
    assert [r.message for r in second.logs] == ["stream done", "audit answered"]  # nothing carried over


def test_request_headers_in_client_order(proxy_wasm_backend: Backend) -> None:
    """A body's content-length comes after the client's own headers, where curl writes it."""
    plugin = proxy_wasm_backend.load_plugin(build(Probe().on("proxy_on_request_headers")))
    outcome = proxy_wasm_backend.request(
        plugin, method="POST", headers=[("x-b", "2"), ("x-a", "1")], body="hello"
    )
    upstream = outcome.upstream_request
    assert upstream is not None
    names = [k for k, _ in upstream.headers if k in ("x-a", "x-b", "content-length")]
    assert names == ["x-b", "x-a", "content-length"]


def late_grpc_call() -> bytes:
    probe = Probe()
    probe.on(
        "proxy_on_request_headers",
        f"(drop (call $proxy_grpc_call {probe.s('grpc_audit')} {probe.s('audit.Log')} {probe.s('Write')} "
        f"{probe.s(pairs([]))} {probe.s('entry')} (i32.const 5000) (i32.const 208)))",
    )
    probe.on("proxy_on_log", probe.log("stream done"))
    probe.on("proxy_on_grpc_receive", probe.log("grpc answered"))
    probe.on("proxy_on_grpc_close", probe.log("grpc closed"))
    return build(probe)


def test_outcome_logs_wait_for_the_exchange_grpc_calls(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(late_grpc_call())
    proxy_wasm_backend.expect_grpc_call("grpc_audit", "audit.Log", "Write").respond_with(b"ok", delay_ms=150)
    outcome = proxy_wasm_backend.request(plugin, upstream_body="served")
    assert outcome.response_body == b"served"
    assert [(r.message, r.context_kind) for r in outcome.logs] == [
        ("stream done", "stream"),
        ("grpc answered", "root"),
    ]
