"""Callout answers in sequence and withdrawn declarations (issue 12 item 7), the same on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
from wat_builder import Probe, build, pairs

from pytest_proxy_wasm.backends import Backend
from pytest_proxy_wasm.errors import ExpectationError
from pytest_proxy_wasm.host.callouts import RESET_BODY

STREAM_ID, BODY_PTR, BODY_SIZE = 200, 216, 220


def relaying() -> bytes:
    """Each request calls cluster ``authz`` and answers the client with the callout's body."""
    probe = Probe()
    headers = pairs([(b":method", b"GET"), (b":path", b"/check"), (b":authority", b"authz")])
    probe.on(
        "proxy_on_request_headers",
        f"""(i32.store (i32.const {STREAM_ID}) (local.get $p0))
    (drop (call $proxy_http_call {probe.s("authz")} {probe.s(headers)} (i32.const 0) (i32.const 0)
      (i32.const 0) (i32.const 0) (i32.const 5000) (i32.const 208)))""",
        ret=1,
    )
    probe.on(
        "proxy_on_http_call_response",
        f"""(i32.store (i32.const {BODY_SIZE}) (i32.const 0))
    (drop (call $proxy_get_buffer_bytes (i32.const 4) (i32.const 0) (local.get $p3)
      (i32.const {BODY_PTR}) (i32.const {BODY_SIZE})))
    (drop (call $proxy_set_effective_context (i32.load (i32.const {STREAM_ID}))))
    (drop (call $proxy_send_local_response (i32.const 200) {probe.s("relayed")}
      (i32.load (i32.const {BODY_PTR})) (i32.load (i32.const {BODY_SIZE}))
      {probe.s(pairs([]))} (i32.const -1)))""",
    )
    return build(probe)


def bodies(backend: Backend, plugin: object, count: int) -> list[bytes]:
    return [backend.request(plugin).response_body for _ in range(count)]


def test_answers_come_in_order_and_the_last_repeats(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(relaying())
    proxy_wasm_backend.expect_http_call("authz").respond_with(body="first").respond_with(body="second").fail(
        "reset"
    )
    assert bodies(proxy_wasm_backend, plugin, 4) == [b"first", b"second", RESET_BODY, RESET_BODY]


def test_a_list_of_answers(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(relaying())
    proxy_wasm_backend.expect_http_call("authz").respond_in_order(
        [{"body": "a"}, {"status": 500, "body": "b"}, {"body": "c"}]
    )
    assert bodies(proxy_wasm_backend, plugin, 4) == [b"a", b"b", b"c", b"c"]


def test_once_answers_each_call_once(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(relaying())
    proxy_wasm_backend.expect_http_call("authz", once=True).respond_with(body="1").respond_with(body="2")
    proxy_wasm_backend.expect_http_call("authz").respond_with(body="fallback")
    assert bodies(proxy_wasm_backend, plugin, 3) == [b"1", b"2", b"fallback"]


def test_an_unused_once_sequence_is_reported(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(relaying())
    proxy_wasm_backend.expect_http_call("authz", once=True).respond_with(body="1").respond_with(body="2")
    assert bodies(proxy_wasm_backend, plugin, 1) == [b"1"]
    with pytest.raises(ExpectationError, match="expected 2 HTTP calls to 'authz', got 1"):
        proxy_wasm_backend.check()


@pytest.mark.parametrize("how", ["handle", "cluster"])
def test_withdrawn_answers_leave_a_cluster_nobody_answers(proxy_wasm_backend: Backend, how: str) -> None:
    plugin = proxy_wasm_backend.load_plugin(relaying())
    expectation = proxy_wasm_backend.expect_http_call("authz").respond_with(body="allowed")
    assert bodies(proxy_wasm_backend, plugin, 1) == [b"allowed"]
    if how == "handle":
        expectation.withdraw()
    else:
        assert proxy_wasm_backend.withdraw("authz") == 1
    assert bodies(proxy_wasm_backend, plugin, 1) == [RESET_BODY]  # the 503 of a silent cluster
    with pytest.raises(ExpectationError, match="unexpected HTTP call to cluster 'authz'"):
        proxy_wasm_backend.check()
    proxy_wasm_backend.expect_http_call("authz").respond_with(body="again")
    assert bodies(proxy_wasm_backend, plugin, 1) == [b"again"]


def test_grpc_answers_come_in_order(proxy_wasm_backend: Backend) -> None:
    """The Rust grpc_auth sample: an OK check (field 1 = true) lets the request through, else 403."""
    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    plugin = proxy_wasm_backend.load_plugin(fixtures / "rust" / "grpc_auth.wasm")
    proxy_wasm_backend.expect_grpc_call("grpc_auth", "auth.Authorizer", "Check").respond_with(
        b"\x08\x01"
    ).respond_with(status=7, status_message="no")
    statuses = [proxy_wasm_backend.request(plugin).status for _ in range(3)]
    assert statuses == [200, 403, 403]
