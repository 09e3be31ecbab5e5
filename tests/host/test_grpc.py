"""Hostcall area gRPC calls: proxy_grpc_call/stream/send/cancel/close and the gRPC callbacks."""

from __future__ import annotations

import pytest
from wat_builder import BAD_PTR, Probe, build, decode_pairs, guest_bytes, pairs, records, slot, slots, u32

from pytest_proxy_wasm import ExpectationError, Host
from pytest_proxy_wasm.host.grpc import TIMEOUT_MESSAGE, UPSTREAM_DOWN
from pytest_proxy_wasm.host.grpc_fakes import UPSTREAM_DOWN_DETAILS

OK, NOT_FOUND, BAD_ARGUMENT, PARSE_FAILURE, IMA = 0, 1, 2, 4, 6
UNSET = 0xFFFFFFFF
CLUSTER, SERVICE, METHOD = "grpc_backend", "pkg.Svc", "Do"
TOKEN = slot(40)  # where proxy_grpc_call/stream write the token


def grpc_call(
    p: Probe,
    cluster: str = CLUSTER,
    msg: bytes = b"req",
    timeout: int = 1000,
    md: bytes = b"",
    ret: int = TOKEN,
    svc_ptr: str | None = None,
) -> str:
    service = svc_ptr or p.s(cluster)
    return (
        f"(call $proxy_grpc_call {service} {p.s(SERVICE)} {p.s(METHOD)} {p.s(md)} {p.s(msg)}"
        f" (i32.const {timeout}) (i32.const {ret}))"
    )


def grpc_stream(p: Probe, cluster: str = CLUSTER, md: bytes = b"", ret: int = TOKEN) -> str:
    return (
        f"(call $proxy_grpc_stream {p.s(cluster)} {p.s(SERVICE)} {p.s(METHOD)} {p.s(md)} (i32.const {ret}))"
    )


def send(p: Probe, token: str, msg: bytes, end: int = 0) -> str:
    return f"(call $proxy_grpc_send {token} {p.s(msg)} (i32.const {end}))"


LOADED = f"(i32.load (i32.const {TOKEN}))"


def probe(configure: list[str]) -> Probe:
    """on_configure runs ``configure``; every gRPC callback logs its name and stores what it saw."""
    p = Probe()
    p.on("proxy_on_configure", records(configure))
    p.on(
        "proxy_on_grpc_receive_initial_metadata",
        p.log("initial")
        + records(
            [
                "(local.get $p1)",
                "(local.get $p2)",
                "(call $proxy_get_header_map_pairs (i32.const 4) (i32.const 32) (i32.const 36))",
            ],
            10,
        ),
    )
    p.on(
        "proxy_on_grpc_receive",
        p.log("message")
        + records(
            [
                "(local.get $p1)",
                "(local.get $p2)",
                "(call $proxy_get_buffer_bytes (i32.const 5) (i32.const 0) (local.get $p2) (i32.const 16)"
                " (i32.const 20))",
            ],
            13,
        ),
    )
    p.on(
        "proxy_on_grpc_receive_trailing_metadata",
        p.log("trailing")
        + records(
            [
                "(local.get $p1)",
                "(local.get $p2)",
                "(call $proxy_get_header_map_pairs (i32.const 5) (i32.const 40) (i32.const 44))",
            ],
            16,
        ),
    )
    p.on(
        "proxy_on_grpc_close",
        p.log("close")
        + records(
            [
                "(local.get $p1)",
                "(local.get $p2)",
                f"(call $proxy_get_status (i32.const {slot(22)}) (i32.const 24) (i32.const 28))",
            ],
            19,
        ),
    )
    return p


def events(host: Host) -> list[str]:
    return host.log_messages()


def test_unary_success_delivers_only_the_message(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    host.expect_grpc_call(CLUSTER, SERVICE, METHOD).respond_with(
        b"pong", initial_metadata={"x-a": "1"}, trailing_metadata={"x-b": "2"}
    )
    p = probe([])
    p.bodies["proxy_on_configure"] = (records([grpc_call(p, md=pairs([(b"X-Md", b"v")]))]), None)
    plugin = host.load_plugin(build(p))
    assert slots(plugin, 1) == [OK]
    assert u32(plugin, TOKEN) == 5  # cpp-host adds 4 before handing out the first call token (Envoy 1.40)
    assert events(host) == []  # nothing is delivered inside the callback that made the call
    while host.run_pending():
        pass
    assert events(host) == ["message"]  # Envoy's unary handler: onSuccessRaw -> on_grpc_receive only
    assert slots(plugin, 3, 13) == [5, 4, OK]
    assert guest_bytes(plugin, 16, 20) == b"pong"
    [call] = host.grpc_calls
    assert (call.kind, call.cluster, call.service, call.method) == ("call", CLUSTER, SERVICE, METHOD)
    assert call.messages == [b"req"] and call.timeout_ms == 1000
    assert call.metadata("x-md") == "v"
    assert call.received == [b"pong"]
    assert call.close_status == OK  # the server's status, recorded though the plugin is not told
    assert host.grpc.lookup(plugin.vm, 5) is None
    host.check()


@pytest.mark.parametrize(
    ("declare", "code", "message"),
    [
        # Envoy 1.40 appends the response code details (enhancedGrpcMessage; seen on the Envoy backend)
        (lambda e: e.respond_with(status=7, status_message="denied"), 7, b"denied{via_upstream}"),
        (lambda e: e.respond_with(status=7), 7, b"via_upstream"),
        (lambda e: e.fail(), 14, f"{UPSTREAM_DOWN}{{{UPSTREAM_DOWN_DETAILS}}}".encode()),
        (lambda e: e.respond_with(), 13, b""),  # OK without a message: Grpc::AsyncRequestImpl -> Internal
    ],
)
def test_unary_failure_delivers_only_close_with_status(
    proxy_wasm_host: Host, declare: object, code: int, message: bytes
) -> None:
    host = proxy_wasm_host
    declare(host.expect_grpc_call(CLUSTER))  # type: ignore[operator]
    p = probe([])
    p.bodies["proxy_on_configure"] = (records([grpc_call(p)]), None)
    plugin = host.load_plugin(build(p))
    while host.run_pending():
        pass
    assert events(host) == ["close"]
    assert slots(plugin, 4, 19) == [5, code, OK, code]
    assert guest_bytes(plugin, 24, 28) == message
    assert plugin.root.status == (code, b"")  # the message only lives during on_grpc_close
    assert host.grpc_calls[0].close_status == code


def test_unary_timeout_closes_with_unavailable_at_the_deadline(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    host.expect_grpc_call(CLUSTER).respond_with(b"late", delay_ms=3000)
    p = probe([])
    p.bodies["proxy_on_configure"] = (records([grpc_call(p, timeout=1000)]), None)
    plugin = host.load_plugin(build(p))
    before = host.clock.monotonic_ns
    while host.run_pending():
        pass
    assert host.clock.monotonic_ns - before == 1_000_000_000
    assert events(host) == ["close"]
    assert slots(plugin, 2, 20) == [14, OK]
    assert guest_bytes(plugin, 24, 28) == TIMEOUT_MESSAGE.encode() + b"{response_timeout}"


def test_unknown_cluster_is_parse_failure_and_writes_no_token(proxy_wasm_host: Host) -> None:
    p = probe([])
    p.bodies["proxy_on_configure"] = (
        records([grpc_call(p, cluster="nowhere"), grpc_stream(p, "nowhere")]),
        None,
    )
    plugin = proxy_wasm_host.load_plugin(build(p))
    assert slots(plugin, 2) == [PARSE_FAILURE, PARSE_FAILURE]
    assert u32(plugin, TOKEN) == UNSET
    assert proxy_wasm_host.grpc_calls == []


def test_invalid_memory_is_ima(proxy_wasm_host: Host) -> None:
    proxy_wasm_host.add_cluster(CLUSTER)
    p = probe([])
    bad = f"(i32.const {BAD_PTR}) (i32.const 4)"
    p.bodies["proxy_on_configure"] = (
        records(
            [
                grpc_call(p, svc_ptr=bad),
                f"(call $proxy_grpc_send (i32.const 2) {bad} (i32.const 0))",
            ]
        ),
        None,
    )
    plugin = proxy_wasm_host.load_plugin(build(p))
    assert slots(plugin, 2) == [IMA, IMA]
    assert proxy_wasm_host.grpc_calls == []


def test_tokens_follow_the_kind_rule(proxy_wasm_host: Host) -> None:
    proxy_wasm_host.add_cluster(CLUSTER)
    p = probe([])
    p.bodies["proxy_on_configure"] = (
        records(
            [
                grpc_call(p, ret=slot(4)),
                grpc_stream(p, ret=slot(5)),
                grpc_call(p, ret=slot(6)),
                grpc_stream(p, ret=slot(7)),
            ]
        ),
        None,
    )
    plugin = proxy_wasm_host.load_plugin(build(p))
    assert slots(plugin, 4) == [OK] * 4
    assert slots(plugin, 4, 4) == [5, 6, 9, 10]
    with pytest.raises(ExpectationError, match="unexpected gRPC call to cluster 'grpc_backend'"):
        proxy_wasm_host.check()  # nobody declared answers for these calls


def test_stream_delivers_metadata_messages_trailers_then_close(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    host.expect_grpc_stream(CLUSTER, SERVICE, METHOD).respond_with(
        initial_metadata=[("x-init", "i")],
        trailing_metadata=[("x-trail", "t")],
        replies=lambda message: message.upper(),
        status=0,
    )
    p = probe([])
    p.bodies["proxy_on_configure"] = (
        records(
            [
                grpc_stream(p, md=pairs([(b"x-md", b"m")])),
                send(p, LOADED, b"abc"),
                f"(call $proxy_grpc_close {LOADED})",
            ]
        ),
        None,
    )
    plugin = host.load_plugin(build(p))
    assert slots(plugin, 3) == [OK, OK, OK]
    assert u32(plugin, TOKEN) == 6
    assert host.grpc.lookup(plugin.vm, 6) is not None  # half-closed: kept until the remote close
    while host.run_pending():
        pass
    assert events(host) == ["initial", "message", "trailing", "close"]
    assert slots(plugin, 3, 10) == [6, 4, OK]
    assert decode_pairs(guest_bytes(plugin, 32, 36)) == [  # what Envoy hands over from grpcio
        (b":status", b"200"),
        (b"content-type", b"application/grpc"),
        (b"grpc-accept-encoding", b"identity"),
        (b"x-init", b"i"),
    ]
    assert guest_bytes(plugin, 16, 20) == b"ABC"
    assert decode_pairs(guest_bytes(plugin, 40, 44)) == [
        (b"grpc-status", b"0"),
        (b"grpc-message", b""),
        (b"x-trail", b"t"),
    ]
    assert slots(plugin, 2, 19) == [6, 0]
    [stream] = host.grpc_calls
    assert stream.kind == "stream" and stream.messages == [b"abc"] and stream.half_closed
    assert stream.metadata("x-md") == "m" and stream.timeout_ms is None
    assert host.grpc.lookup(plugin.vm, 6) is None  # remote close after the local one: gone


def test_stream_kept_after_remote_close_until_the_plugin_closes(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    host.expect_grpc_stream(CLUSTER).respond_with(b"hello", close_after=0, status=5, status_message="gone")
    p = probe([])
    p.bodies["proxy_on_configure"] = (records([grpc_stream(p)]), None)
    p.on(
        "proxy_on_grpc_close",
        records(
            [
                "(local.get $p2)",
                send(p, "(local.get $p1)", b"more"),
                "(call $proxy_grpc_close (local.get $p1))",
                "(call $proxy_grpc_close (local.get $p1))",
            ],
            19,
        ),
    )
    plugin = host.load_plugin(build(p))
    while host.run_pending():
        pass
    assert events(host) == ["initial", "message", "trailing"]
    # Envoy keeps the stream after the remote close: send is OK, the first close removes it.
    assert slots(plugin, 4, 19) == [5, OK, OK, NOT_FOUND]
    assert host.grpc_calls[0].messages == [b"more"]


def test_cancel_stops_every_callback(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    host.expect_grpc_stream(CLUSTER).respond_with(b"x", replies=[b"y"])
    p = probe([])
    p.bodies["proxy_on_configure"] = (
        records(
            [
                grpc_stream(p),
                send(p, LOADED, b"a"),
                f"(call $proxy_grpc_cancel {LOADED})",
                f"(call $proxy_grpc_cancel {LOADED})",
                send(p, LOADED, b"b"),
            ]
        ),
        None,
    )
    plugin = host.load_plugin(build(p))
    assert slots(plugin, 5) == [OK, OK, OK, NOT_FOUND, NOT_FOUND]
    assert not host.run_pending()
    assert events(host) == []
    assert host.grpc_calls[0].cancelled


def test_close_of_a_call_cancels_it(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    host.expect_grpc_call(CLUSTER).respond_with(b"x")
    p = probe([])
    p.bodies["proxy_on_configure"] = (records([grpc_call(p), f"(call $proxy_grpc_close {LOADED})"]), None)
    plugin = host.load_plugin(build(p))
    assert slots(plugin, 2) == [OK, OK]
    while host.run_pending():
        pass
    assert events(host) == []


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("(call $proxy_grpc_send (i32.const 1) (i32.const 0) (i32.const 0) (i32.const 0))", BAD_ARGUMENT),
        ("(call $proxy_grpc_send (i32.const 4) (i32.const 0) (i32.const 0) (i32.const 0))", BAD_ARGUMENT),
        ("(call $proxy_grpc_send (i32.const 6) (i32.const 0) (i32.const 0) (i32.const 0))", NOT_FOUND),
        ("(call $proxy_grpc_cancel (i32.const 0))", BAD_ARGUMENT),
        ("(call $proxy_grpc_cancel (i32.const 3))", BAD_ARGUMENT),
        ("(call $proxy_grpc_cancel (i32.const 5))", NOT_FOUND),
        ("(call $proxy_grpc_close (i32.const 8))", BAD_ARGUMENT),
        ("(call $proxy_grpc_close (i32.const 10))", NOT_FOUND),
    ],
)
def test_token_statuses(proxy_wasm_host: Host, call: str, expected: int) -> None:
    plugin = proxy_wasm_host.load_plugin(build(probe([call])))
    assert slots(plugin, 1) == [expected]


def test_send_on_a_call_token_is_bad_argument(proxy_wasm_host: Host) -> None:
    proxy_wasm_host.expect_grpc_call(CLUSTER).respond_with(b"x")
    p = probe([])
    p.bodies["proxy_on_configure"] = (records([grpc_call(p), send(p, LOADED, b"no")]), None)
    plugin = proxy_wasm_host.load_plugin(build(p))
    assert slots(plugin, 2) == [OK, BAD_ARGUMENT]


def test_undeclared_call_on_a_known_cluster_fails_and_is_reported(proxy_wasm_host: Host) -> None:
    host = proxy_wasm_host
    host.add_cluster(CLUSTER)
    p = probe([])
    p.bodies["proxy_on_configure"] = (records([grpc_call(p)]), None)
    plugin = host.load_plugin(build(p))
    while host.run_pending():
        pass
    assert slots(plugin, 2, 20) == [14, OK]
    with pytest.raises(AssertionError, match="unexpected gRPC call to cluster 'grpc_backend'"):
        host.check()


def test_unused_once_expectation_is_reported(proxy_wasm_host: Host) -> None:
    proxy_wasm_host.expect_grpc_stream(CLUSTER, once=True)
    with pytest.raises(AssertionError, match="expected gRPC stream to 'grpc_backend' was never made"):
        proxy_wasm_host.check()
