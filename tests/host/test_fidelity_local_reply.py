"""Local replies as Envoy 1.40 builds and walks them (issue 12 items 1, 3, 4; issue 16 item 1).

Differential: each test runs on the emulator by default and unchanged with
``--proxy-wasm-backend envoy`` or ``diff``; the expected values are what Envoy 1.40 did.
"""

from __future__ import annotations

import pytest
from wat_builder import Probe, build, pairs

from pytest_proxy_wasm.backends import Backend
from pytest_proxy_wasm.host.local_reply import grpc_percent_encode

GRPC = {"content-type": "application/grpc", "te": "trailers"}
JSON = "application/json; charset=utf-8"


def replying(status: int, body: bytes, headers: list[tuple[bytes, bytes]], grpc_status: int = -1) -> bytes:
    """A plugin that answers every request with one local reply from on_request_headers."""
    probe = Probe()
    probe.on(
        "proxy_on_request_headers",
        f"(drop (call $proxy_send_local_response (i32.const {status}) {probe.s('denied by plugin')} "
        f"{probe.s(body)} {probe.s(pairs(headers))} (i32.const {grpc_status})))",
        ret=1,
    )
    return build(probe)


def test_plugin_content_type_is_kept(proxy_wasm_backend: Backend) -> None:
    """Issue 16.1: the template's 401 with its own JSON content type."""
    body = b'{"error":"unauthorized"}'
    plugin = proxy_wasm_backend.load_plugin(replying(401, body, [(b"content-type", JSON.encode())]))
    outcome = proxy_wasm_backend.request(plugin, path="/v2")
    assert (outcome.status, outcome.response_body) == (401, body)
    assert outcome.header("content-type") == JSON
    assert outcome.local_reply and outcome.details == "denied_by_plugin"


def test_text_plain_only_when_the_plugin_gives_none(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(replying(403, b"no", [(b"x-why", b"policy")]))
    outcome = proxy_wasm_backend.request(plugin)
    assert (outcome.status, outcome.response_body) == (403, b"no")
    assert outcome.header("content-type") == "text/plain"
    assert outcome.header("x-why") == "policy"


def test_empty_body_drops_the_content_type(proxy_wasm_backend: Backend) -> None:
    """prepareLocalReply removes content-type and content-length when there is no body."""
    plugin = proxy_wasm_backend.load_plugin(replying(401, b"", [(b"content-type", JSON.encode())]))
    outcome = proxy_wasm_backend.request(plugin)
    assert (outcome.status, outcome.response_body) == (401, b"")
    assert outcome.header("content-type") is None
    assert outcome.header("content-length") == "0"  # written by the HTTP/1.1 codec


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"upstream ok\n", "upstream ok%0A"),
        (b"50% off ~ caf\xc3\xa9\t!", "50%25 off %7E caf%C3%A9%09!"),
        (b"plain text", "plain text"),
    ],
)
def test_grpc_message_is_percent_encoded(proxy_wasm_backend: Backend, body: bytes, message: str) -> None:
    """Issue 12.1: a gRPC request gets a trailers-only answer, the body in grpc-message encoded with
    Envoy's PercentEncoding::encode (which also encodes '~')."""
    plugin = proxy_wasm_backend.load_plugin(replying(401, body, [(b"content-type", JSON.encode())]))
    outcome = proxy_wasm_backend.request(plugin, method="POST", path="/pkg.Svc/Call", headers=GRPC, body=b"")
    assert (outcome.status, outcome.response_body) == (200, b"")
    assert outcome.header("content-type") == "application/grpc"  # the plugin's JSON type is replaced
    assert outcome.header("grpc-status") == "16"  # 401 -> UNAUTHENTICATED
    assert outcome.header("grpc-message") == message


def test_plugin_grpc_status_header_wins(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(replying(403, b"", [(b"grpc-status", b"9")], grpc_status=7))
    outcome = proxy_wasm_backend.request(plugin, method="POST", path="/pkg.Svc/Call", headers=GRPC)
    assert outcome.header("grpc-status") == "9"
    assert outcome.header("grpc-message") is None


def test_grpc_web_is_not_grpc(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(replying(403, b"no", []))
    outcome = proxy_wasm_backend.request(
        plugin, method="POST", path="/pkg.Svc/Call", headers={"content-type": "application/grpc-web"}
    )
    assert (outcome.status, outcome.response_body, outcome.header("grpc-status")) == (403, b"no", None)


def test_head_request_gets_headers_only(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(replying(403, b"no", []))
    outcome = proxy_wasm_backend.request(plugin, method="HEAD")
    assert (outcome.status, outcome.response_body) == (403, b"")
    assert (outcome.header("content-type"), outcome.header("content-length")) == ("text/plain", "2")
    grpc = proxy_wasm_backend.request(plugin, method="HEAD", path="/pkg.Svc/Call", headers=GRPC)
    assert (grpc.status, grpc.header("grpc-status"), grpc.header("grpc-message")) == (200, "7", None)


def test_percent_encoding_rule() -> None:
    assert grpc_percent_encode(bytes(range(0x1E, 0x22))) == b"%1E%1F !"
    assert grpc_percent_encode(b"}~\x7f\x80%") == b"}%7E%7F%80%25"


# -- a local reply paused in on_response_headers and resumed after callouts (issue 12.3) -------------

STREAM_ID, ANSWERS = 200, 204


def pausing_reply() -> bytes:
    """Local reply 403 from on_request_headers; on its response headers the plugin dispatches two
    callouts and pauses; the second answer resumes the response (effective context: the stream)."""
    probe = Probe()
    call = (
        f"(drop (call $proxy_http_call {probe.s('authz')} "
        f"{probe.s(pairs([(b':method', b'GET'), (b':path', b'/check'), (b':authority', b'authz')]))} "
        "(i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 5000) (i32.const 208)))"
    )
    probe.on(
        "proxy_on_request_headers",
        f"(drop (call $proxy_send_local_response (i32.const 403) {probe.s('denied')} {probe.s('denied')} "
        f"{probe.s(pairs([]))} (i32.const -1)))",
        ret=1,
    )
    probe.on(
        "proxy_on_response_headers",
        f"(i32.store (i32.const {STREAM_ID}) (local.get $p0)) {probe.log('paused the reply')} {call} {call}",
        ret=1,
    )
    probe.on(
        "proxy_on_http_call_response",
        f"""(i32.store (i32.const {ANSWERS}) (i32.add (i32.load (i32.const {ANSWERS})) (i32.const 1)))
    {probe.log("answer")}
    (if (i32.eq (i32.load (i32.const {ANSWERS})) (i32.const 2))
      (then (drop (call $proxy_set_effective_context (i32.load (i32.const {STREAM_ID}))))
            {probe.log("resuming")}
            (drop (call $proxy_continue_stream (i32.const 1)))))""",
    )
    return build(probe)


def test_a_paused_local_reply_resumes(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(pausing_reply())
    proxy_wasm_backend.expect_http_call("authz").respond_with(200, body="ok")
    outcome = proxy_wasm_backend.request(plugin)
    assert (outcome.status, outcome.response_body, outcome.hung) == (403, b"denied", False)
    assert outcome.header("content-type") == "text/plain"
    assert [c["cluster"] for c in outcome.callouts] == ["authz", "authz"]
    assert [r.message for r in outcome.logs] == ["paused the reply", "answer", "answer", "resuming"]
    assert [r.context_kind for r in outcome.logs] == ["stream", "root", "root", "stream"]


# -- a trap in a response callback while a local reply passes (issue 12.4) ---------------------------


def trapping(reply_first: bool) -> bytes:
    probe = Probe()
    if reply_first:
        probe.on(
            "proxy_on_request_headers",
            f"(drop (call $proxy_send_local_response (i32.const 403) {probe.s('denied')} "
            f"{probe.s('denied')} {probe.s(pairs([(b'x-plugin', b'1')]))} (i32.const -1)))",
            ret=1,
        )
    probe.on("proxy_on_response_headers", f"{probe.log('about to trap')} unreachable")
    return build(probe)


@pytest.mark.parametrize("reply_first", [True, False], ids=["local-reply", "upstream"])
def test_trap_in_a_response_callback_sends_a_bare_503(proxy_wasm_backend: Backend, reply_first: bool) -> None:
    plugin = proxy_wasm_backend.load_plugin(trapping(reply_first))
    outcome = proxy_wasm_backend.request(
        plugin, upstream_body="from upstream", upstream_headers={"x-up": "1"}
    )
    assert (outcome.status, outcome.response_body, outcome.hung) == (503, b"", False)
    assert outcome.header("x-plugin") is None and outcome.header("x-up") is None
    assert outcome.header("content-type") is None
    assert outcome.plugin_failed is not None
    assert outcome.details == "wasm_fail_stream"
    assert [r.message for r in outcome.logs] == ["about to trap"]
    assert (outcome.upstream_request is None) == reply_first


def replying_twice(second_in: str) -> bytes:
    """A local reply from on_request_headers, and a second one: in the same callback or from
    on_response_headers while the first passes."""
    probe = Probe()

    def reply(status: int, body: str) -> str:
        return (
            f"(drop (call $proxy_send_local_response (i32.const {status}) {probe.s('twice')} "
            f"{probe.s(body)} {probe.s(pairs([]))} (i32.const -1)))"
        )

    first = reply(403, "first")
    second = reply(418, "second")
    if second_in == "same-callback":
        probe.on("proxy_on_request_headers", f"{first} {second}", ret=1)
    else:
        probe.on("proxy_on_request_headers", first, ret=1)
        probe.on("proxy_on_response_headers", second, ret=1)
    return build(probe)


@pytest.mark.parametrize("second_in", ["same-callback", "response-headers"])
def test_a_second_local_reply(proxy_wasm_backend: Backend, second_in: str) -> None:
    plugin = proxy_wasm_backend.load_plugin(replying_twice(second_in))
    outcome = proxy_wasm_backend.request(plugin)
    assert (outcome.reset, outcome.hung) == (False, False)
    if second_in == "same-callback":  # the first reply completes the stream; the second does nothing
        assert (outcome.status, outcome.response_body) == (403, b"first")
    else:  # sendDirectLocalReply: straight to the client
        assert (outcome.status, outcome.response_body) == (418, b"second")
