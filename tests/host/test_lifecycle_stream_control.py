"""Callback order (Envoy), body buffering, pause/continue, close and local responses."""

from __future__ import annotations

import pytest
from wat_builder import BAD_PTR, Probe, build, pairs, records, slot, slots

from pytest_proxy_wasm import Action, Host

OK, BAD_ARGUMENT, IMA, UNIMPLEMENTED = 0, 2, 6, 12
STREAM_CALLBACKS = [
    "proxy_on_request_headers",
    "proxy_on_request_body",
    "proxy_on_request_trailers",
    "proxy_on_response_headers",
    "proxy_on_response_body",
    "proxy_on_response_trailers",
    "proxy_on_log",
    "proxy_on_done",
    "proxy_on_delete",
]


def tracing_probe(abi: str = "0.2.1") -> Probe:
    """Every callback logs its name without the ``proxy_on_`` prefix."""
    probe = Probe(abi)
    for name in ["proxy_on_context_create", "proxy_on_vm_start", "proxy_on_configure", *STREAM_CALLBACKS]:
        probe.on(name, probe.log(name.removeprefix("proxy_on_")))
    return probe


# -- order


def test_root_start_order_and_arguments(proxy_wasm_host: Host) -> None:
    probe = tracing_probe()
    probe.on(
        "proxy_on_context_create",
        probe.log("context_create") + records(["(local.get $p0)", "(local.get $p1)"]),
    )
    probe.on("proxy_on_vm_start", probe.log("vm_start") + records(["(local.get $p0)", "(local.get $p1)"], 2))
    probe.on(
        "proxy_on_configure", probe.log("configure") + records(["(local.get $p0)", "(local.get $p1)"], 4)
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), vm_config="vm", plugin_config="plugin", name="order")
    assert proxy_wasm_host.log_messages() == ["context_create", "vm_start", "configure"]
    root = plugin.root.id
    assert root == 1
    assert slots(plugin, 6) == [root, 0, root, 2, root, 6]


def test_full_stream_order(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(tracing_probe()), name="order")
    del proxy_wasm_host.records[:]
    outcome = proxy_wasm_host.request(
        plugin,
        body=[b"a", b"b"],
        trailers=[("t", "1")],
        upstream_body="resp",
        upstream_trailers=[("rt", "1")],
    )
    assert outcome.status == 200
    assert outcome.log_messages() == [
        "context_create",
        "request_headers",
        "request_body",
        "request_body",
        "request_trailers",
        "response_headers",
        "response_body",
        "response_trailers",
        "log",
        "done",
        "delete",
    ]


def test_headers_only_exchange_has_no_body_callbacks(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(tracing_probe()), name="order")
    del proxy_wasm_host.records[:]
    proxy_wasm_host.request(plugin)
    assert proxy_wasm_host.log_messages() == [
        "context_create",
        "request_headers",
        "response_headers",
        "log",
        "done",
        "delete",
    ]


def test_stream_context_ids(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_context_create",
        "(if (local.get $p1) (then "
        f"(i32.store (i32.const {slot(0)}) (local.get $p0)) (i32.store (i32.const {slot(1)}) "
        "(local.get $p1))))",
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="ids")
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 2) == [2, 1]
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 2) == [3, 1]


def test_context_is_created_lazily(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(tracing_probe()), name="lazy")
    del proxy_wasm_host.records[:]
    stream = plugin.http_stream()
    assert proxy_wasm_host.log_messages() == []
    assert stream.on_request_headers({":path": "/"}, end_of_stream=True) is Action.CONTINUE
    assert proxy_wasm_host.log_messages() == ["context_create", "request_headers"]
    stream.complete()
    assert proxy_wasm_host.log_messages()[-3:] == ["log", "done", "delete"]


@pytest.mark.parametrize(
    ("ret", "sizes", "upstream"),
    [
        # Envoy's HTTP/1.1 codec ends the body with an empty end-of-stream frame
        (0, [2, 3, 1, 0], b"aabbbc"),
        (1, [2, 5, 6, 6], None),  # StopIterationAndBuffer until the end: cumulative sizes
    ],
)
def test_body_sizes(proxy_wasm_host: Host, ret: int, sizes: list[int], upstream: bytes | None) -> None:
    probe = Probe()
    probe.global_count = True  # type: ignore[attr-defined]
    probe.extra.append("  (global $n (mut i32) (i32.const 0))")
    probe.on(
        "proxy_on_request_body",
        f"(i32.store (i32.add (i32.const {slot(0)}) (i32.shl (global.get $n) (i32.const 2))) (local.get $p1))"
        " (global.set $n (i32.add (global.get $n) (i32.const 1)))"
        f" (if (local.get $p2) (then (return (i32.const 0))))",
        ret=ret,
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="body")
    outcome = proxy_wasm_host.request(plugin, body=[b"aa", b"bbb", b"c"])
    assert slots(plugin, 5) == [*sizes, 0xFFFFFFFF]
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.body == b"aabbbc"
    assert upstream is None or outcome.upstream_request.body == upstream


def test_buffered_body_is_readable_whole(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_request_body",
        "(drop (call $proxy_get_buffer_bytes (i32.const 0) (i32.const 0) (i32.const -1) (i32.const 16)"
        " (i32.const 20)))"
        " (if (i32.eqz (local.get $p2)) (then (return (i32.const 1))))"
        " (drop (call $proxy_log (i32.const 2) (i32.load (i32.const 16)) (i32.load (i32.const 20))))",
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="buffered")
    outcome = proxy_wasm_host.request(plugin, body=[b"one ", b"two ", b"three"])
    assert outcome.log_messages("info") == ["one two three"]
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.body == b"one two three"


# -- continue / close


@pytest.mark.parametrize(
    ("call", "status"),
    [
        ("(call $proxy_continue_stream (i32.const 4))", BAD_ARGUMENT),
        ("(call $proxy_continue_stream (i32.const -1))", BAD_ARGUMENT),
        ("(call $proxy_continue_stream (i32.const 3))", UNIMPLEMENTED),
        ("(call $proxy_continue_stream (i32.const 2))", OK),
        ("(call $proxy_continue_stream (i32.const 0))", OK),
        ("(call $proxy_close_stream (i32.const 4))", BAD_ARGUMENT),
        ("(call $proxy_close_stream (i32.const 99))", BAD_ARGUMENT),
    ],
)
def test_stream_control_arguments(proxy_wasm_host: Host, call: str, status: int) -> None:
    probe = Probe()
    probe.on("proxy_on_request_headers", records([call]))
    plugin = proxy_wasm_host.load_plugin(build(probe), name="ctl")
    outcome = proxy_wasm_host.request(plugin)
    assert slots(plugin, 1) == [status]
    assert outcome.status == 200


def test_stream_control_in_root_context_is_ok(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_vm_start",
        records(
            [
                "(call $proxy_continue_stream (i32.const 0))",
                "(call $proxy_close_stream (i32.const 1))",
                f"(call $proxy_send_local_response (i32.const 403) {probe.s('d')}"
                " (i32.const 0) (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1))",
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="root")
    assert slots(plugin, 3) == [OK, OK, OK]
    assert proxy_wasm_host.request(plugin).status == 200


def test_close_stream_resets(proxy_wasm_host: Host) -> None:
    probe = tracing_probe()
    probe.on("proxy_on_request_headers", records(["(call $proxy_close_stream (i32.const 0))"]))
    plugin = proxy_wasm_host.load_plugin(build(probe), name="close")
    del proxy_wasm_host.records[:]
    outcome = proxy_wasm_host.request(plugin, body="x")
    assert slots(plugin, 1) == [OK]
    assert outcome.reset is True
    assert outcome.status is None
    assert outcome.details == "wasm_close_stream"
    assert outcome.upstream_request is None
    assert outcome.log_messages() == ["context_create", "log", "done", "delete"]


def test_pause_then_continue_from_tick(proxy_wasm_host: Host) -> None:
    probe = tracing_probe()
    probe.extra.append("  (global $paused (mut i32) (i32.const 0))")
    probe.on("proxy_on_vm_start", "(drop (call $proxy_set_tick_period_milliseconds (i32.const 10)))")
    probe.on(
        "proxy_on_request_headers",
        probe.log("request_headers") + " (global.set $paused (local.get $p0))",
        ret=1,
    )
    probe.on(
        "proxy_on_tick",
        probe.log("tick")
        + " (if (global.get $paused) (then "
        + records(
            [
                "(call $proxy_set_effective_context (global.get $paused))",
                "(call $proxy_continue_stream (i32.const 0))",
            ]
        )
        + " (global.set $paused (i32.const 0))))",
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="pause")
    del proxy_wasm_host.records[:]
    outcome = proxy_wasm_host.request(plugin, body="payload")
    assert slots(plugin, 2) == [OK, OK]
    assert outcome.status == 200
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.body == b"payload"
    messages = outcome.log_messages()
    assert messages[:3] == ["context_create", "request_headers", "tick"]
    assert messages[3:] == ["request_body", "response_headers", "log", "done", "delete"]


def test_pause_then_continue_recorded_on_the_low_level_stream(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on("proxy_on_request_headers", "", ret=1)
    probe.on("proxy_on_request_body", records(["(call $proxy_continue_stream (i32.const 0))"]))
    plugin = proxy_wasm_host.load_plugin(build(probe), name="pause")
    stream = plugin.http_stream()
    assert stream.on_request_headers({":path": "/"}) is Action.PAUSE
    assert stream.on_request_body(b"x", end_of_stream=True) is Action.CONTINUE
    assert slots(plugin, 1) == [OK]
    assert stream.take_intents() == [("continue", 0)]


# -- local responses


def local_reply_probe(
    details: str = "denied by policy",
    body: str = "nope",
    grpc: int = -1,
    callback: str = "proxy_on_request_headers",
) -> Probe:
    probe = tracing_probe()
    headers = pairs([(b"X-Local", b"yes"), (b"x-two", b"2")])
    probe.on(
        callback,
        probe.log(callback.removeprefix("proxy_on_"))
        + records(
            [
                f"(call $proxy_send_local_response (i32.const 403) {probe.s(details)} "
                f"{probe.s(body) if body else '(i32.const 0) (i32.const 0)'} {probe.s(headers)} "
                f"(i32.const {grpc}))"
            ]
        ),
    )
    probe.on(
        "proxy_on_response_headers",
        probe.log("response_headers")
        + records(["(call $proxy_get_header_map_pairs (i32.const 2) (i32.const 16) (i32.const 20))"], 1),
    )
    return probe


def test_local_response_from_request_headers(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(local_reply_probe()), name="deny")
    del proxy_wasm_host.records[:]
    outcome = proxy_wasm_host.request(plugin, body="request body", trailers=[("t", "1")])
    assert slots(plugin, 2) == [OK, OK]
    assert outcome.status == 403
    assert outcome.local_reply is True
    assert outcome.response_body == b"nope"
    assert outcome.header("x-local") == "yes"
    assert outcome.header("x-two") == "2"
    assert outcome.header("content-type") == "text/plain"
    assert outcome.header("grpc-status") is None
    assert outcome.upstream_request is None
    assert outcome.details == "denied_by_policy"
    # Envoy runs the local reply through this plugin's own response callbacks; no request body/trailers.
    assert outcome.log_messages() == [
        "context_create",
        "request_headers",
        "response_headers",
        "response_body",
        "log",
        "done",
        "delete",
    ]


def test_local_response_is_seen_by_the_plugins_response_headers(proxy_wasm_host: Host) -> None:
    from wat_builder import decode_pairs, guest_bytes

    plugin = proxy_wasm_host.load_plugin(build(local_reply_probe(body="")), name="deny")
    outcome = proxy_wasm_host.request(plugin)
    seen = decode_pairs(guest_bytes(plugin, 16, 20))
    assert seen[0] == (b":status", b"403")
    assert (b"x-local", b"yes") in seen
    assert outcome.status == 403
    assert outcome.response_body == b""
    assert "response_body" not in outcome.log_messages()


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        ("a b\tc\nd\re", "a_b_c_d_e"),
        ("  ", "__"),
        ("no_space", "no_space"),
        ("", ""),
    ],
)
def test_local_response_details_whitespace(proxy_wasm_host: Host, details: str, expected: str) -> None:
    probe = local_reply_probe(details=details) if details else local_reply_probe(details="x")
    if not details:
        probe = Probe()
        probe.on(
            "proxy_on_request_headers",
            records(
                [
                    "(call $proxy_send_local_response (i32.const 401) (i32.const 0) "
                    "(i32.const 0) (i32.const 0)"
                    " (i32.const 0) (i32.const 0) (i32.const 0) (i32.const -1))"
                ]
            ),
        )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="details")
    outcome = proxy_wasm_host.request(plugin)
    assert slots(plugin, 1) == [OK]
    assert outcome.details == expected
    assert outcome.status in (401, 403)


@pytest.mark.parametrize(("grpc", "expected"), [(0, "0"), (14, "14"), (16, "16"), (17, "7"), (-1, "7")])
def test_local_response_grpc_status(proxy_wasm_host: Host, grpc: int, expected: str) -> None:
    """gRPC requests get a trailers-only reply; 0..16 is used as is, anything else maps 403 -> 7."""
    plugin = proxy_wasm_host.load_plugin(build(local_reply_probe(grpc=grpc)), name="grpc")
    outcome = proxy_wasm_host.request(plugin, method="POST", headers={"content-type": "application/grpc"})
    assert outcome.status == 200
    assert outcome.header("grpc-status") == expected
    assert outcome.header("grpc-message") == "nope"
    plain = proxy_wasm_host.request(plugin)
    assert plain.status == 403
    assert plain.header("grpc-status") is None


@pytest.mark.parametrize("bad", ["details", "body", "headers"])
def test_local_response_bad_memory(proxy_wasm_host: Host, bad: str) -> None:
    args = {
        "details": "(i32.const 0) (i32.const 0)",
        "body": "(i32.const 0) (i32.const 0)",
        "headers": "(i32.const 0) (i32.const 0)",
    }
    args[bad] = f"(i32.const {BAD_PTR}) (i32.const 8)"
    probe = Probe()
    probe.on(
        "proxy_on_request_headers",
        records(
            [
                "(call $proxy_send_local_response "
                f"(i32.const 403) {args['details']} {args['body']} {args['headers']}"
                " (i32.const -1))"
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="bad")
    outcome = proxy_wasm_host.request(plugin)
    assert slots(plugin, 1) == [IMA]
    assert outcome.status == 200
    assert outcome.local_reply is False


def test_local_response_from_request_body(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(local_reply_probe(callback="proxy_on_request_body")), name="body"
    )
    del proxy_wasm_host.records[:]
    outcome = proxy_wasm_host.request(plugin, body=[b"a", b"b"])
    assert outcome.status == 403
    assert outcome.response_body == b"nope"
    # the headers had continued upstream (the router forwarded them), then the local reply reset the
    # upstream request before any body reached it (as on Envoy 1.40)
    assert outcome.upstream_request is not None
    assert (outcome.upstream_request.reset, outcome.upstream_request.body) == (True, b"")
    assert outcome.log_messages().count("request_body") == 1
