"""TCP (network filter) connections: callback order, pause/continue, buffers 2/3, close, traps, chains."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from wat_builder import Probe, records, slot, slots

from pytest_proxy_wasm import Action, FailurePolicy, Host, Plugin
from pytest_proxy_wasm.host.abi.enums import PeerType

OK, BAD_ARGUMENT, UNIMPLEMENTED = 0, 2, 12
DOWNSTREAM, UPSTREAM = 2, 3
TCP_CALLBACKS = [
    "proxy_on_context_create",
    "proxy_on_new_connection",
    "proxy_on_downstream_data",
    "proxy_on_upstream_data",
    "proxy_on_downstream_connection_close",
    "proxy_on_upstream_connection_close",
    "proxy_on_done",
    "proxy_on_log",
    "proxy_on_delete",
]
TCP_NAMES = {n.removeprefix("proxy_on_") for n in TCP_CALLBACKS}
Compile = Callable[[str], bytes]


def push(value: str) -> str:
    """Append an i32 to the slot list (slot 0, 1, 2, ... in call order)."""
    return (
        f"(i32.store (i32.add (i32.const {slot(0)}) (i32.shl (global.get $n) (i32.const 2))) {value})"
        " (global.set $n (i32.add (global.get $n) (i32.const 1)))"
    )


def log_buffer(buffer_type: int) -> str:
    """Log the whole buffer's bytes (get_buffer_bytes(type, 0, max) -> proxy_log)."""
    return (
        f"(drop (call $proxy_get_buffer_bytes (i32.const {buffer_type}) (i32.const 0) (i32.const -1)"
        " (i32.const 16) (i32.const 20)))"
        " (drop (call $proxy_log (i32.const 2) (i32.load (i32.const 16)) (i32.load (i32.const 20))))"
    )


def tcp_probe(**bodies: str) -> Probe:
    """Every TCP callback logs its name (without ``proxy_on_``), then runs ``bodies[short name]``."""
    probe = Probe()
    probe.extra.append("(global $n (mut i32) (i32.const 0))")
    for name in TCP_CALLBACKS:
        short = name.removeprefix("proxy_on_")
        if short != "context_create":
            probe.on(name, probe.log(short) + "\n    " + bodies.get(short, ""))
    probe.on("proxy_on_context_create", "(if (local.get $p1) (then " + probe.log("context_create") + "))")
    return probe


def load(host: Host, wat: Compile, probe: Probe, name: str = "tcp", **options: object) -> Plugin:
    plugin = host.load_plugin(wat(probe.wat()), name=name, **options)  # type: ignore[arg-type]
    del host.records[:]
    return plugin


def with_return(probe: Probe, name: str, value: str) -> Probe:
    """Make a callback return ``value`` (a WAT i32 expression) instead of 0."""
    body, _ = probe.bodies[name]
    probe.bodies[name] = (f"{body}\n    (return {value})", None)
    return probe


# -- order -------------------------------------------------------------------------------------------


def test_connection_order_closed_by_client(proxy_wasm_host: Host, wat: Compile) -> None:
    probe = tcp_probe(downstream_connection_close=push("(local.get $p1)"))
    plugin = load(proxy_wasm_host, wat, probe)
    outcome = proxy_wasm_host.connect(plugin, downstream=[b"ping"], upstream_reply=lambda data: b"pong")
    assert outcome.log_messages() == [
        "context_create",
        "new_connection",
        "downstream_data",
        "upstream_data",
        "downstream_connection_close",
        "done",
        "log",
        "delete",
    ]
    assert (outcome.upstream_received, outcome.client_received, outcome.closed_by) == (
        b"ping",
        b"pong",
        "downstream",
    )
    assert slots(plugin, 1) == [PeerType.REMOTE]
    assert plugin.vm.contexts.keys() == {plugin.root.id}  # the connection's context is gone


def test_upstream_close_is_emulated_from_end_of_stream(proxy_wasm_host: Host, wat: Compile) -> None:
    probe = tcp_probe(
        upstream_data=push("(local.get $p2)"),
        upstream_connection_close=push("(local.get $p1)"),
        downstream_connection_close=push("(local.get $p1)"),
    )
    plugin = load(proxy_wasm_host, wat, probe)
    outcome = proxy_wasm_host.connect(plugin, downstream="hi", upstream_reply=["a"], close_from="upstream")
    assert outcome.log_messages() == [
        "context_create",
        "new_connection",
        "downstream_data",
        "upstream_data",
        "upstream_data",
        "upstream_connection_close",
        "downstream_connection_close",
        "done",
        "log",
        "delete",
    ]
    assert slots(plugin, 4) == [0, 1, PeerType.UNKNOWN, PeerType.LOCAL]  # eos 0, eos 1, peers
    assert outcome.closed_by == "upstream"
    assert outcome.client_end_of_stream


def test_upstream_close_alone_waits_for_the_downstream_close(proxy_wasm_host: Host, wat: Compile) -> None:
    plugin = load(proxy_wasm_host, wat, tcp_probe())
    stream = proxy_wasm_host.tcp_stream(plugin)
    assert stream.on_new_connection() is Action.CONTINUE
    stream.on_upstream_close()
    assert proxy_wasm_host.log_messages()[-1] == "upstream_connection_close"
    assert not stream.finished
    stream.on_downstream_close(PeerType.REMOTE)
    assert proxy_wasm_host.log_messages()[-4:] == ["downstream_connection_close", "done", "log", "delete"]
    stream.complete()  # already finished: nothing more
    assert proxy_wasm_host.log_messages().count("delete") == 1


# -- pause, accumulation, continue -----------------------------------------------------------------------


def test_paused_data_accumulates_until_continue(proxy_wasm_host: Host, wat: Compile) -> None:
    # Pause while the buffer is shorter than 6 bytes; log the buffer each time.
    probe = tcp_probe(downstream_data=push("(local.get $p1)") + " " + log_buffer(DOWNSTREAM))
    with_return(probe, "proxy_on_downstream_data", "(i32.lt_u (local.get $p1) (i32.const 6))")
    plugin = load(proxy_wasm_host, wat, probe)
    stream = proxy_wasm_host.tcp_stream(plugin)
    assert stream.on_downstream_data(b"ab") is Action.PAUSE
    assert stream.on_downstream_data(b"cd") is Action.PAUSE
    assert (stream.upstream_received, stream.downstream_buffer) == (b"", b"abcd")
    assert stream.on_downstream_data(b"ef") is Action.CONTINUE
    assert stream.upstream_received == b"abcdef"
    assert stream.on_downstream_data(b"g") is Action.PAUSE  # a fresh buffer after the drain
    assert slots(plugin, 4) == [2, 4, 6, 1]
    assert [m for m in proxy_wasm_host.log_messages() if m not in TCP_NAMES] == ["ab", "abcd", "abcdef", "g"]


def test_continue_stream_downstream_resumes_from_a_later_callback(
    proxy_wasm_host: Host, wat: Compile
) -> None:
    probe = tcp_probe(upstream_data=records(["(call $proxy_continue_stream (i32.const 2))"]))
    with_return(probe, "proxy_on_downstream_data", "(i32.const 1)")
    plugin = load(proxy_wasm_host, wat, probe)
    stream = proxy_wasm_host.tcp_stream(plugin)
    stream.on_downstream_data(b"held")
    stream.on_downstream_data(b"+more")
    assert stream.upstream_received == b""
    assert stream.on_upstream_data(b"reply") is Action.CONTINUE
    assert slots(plugin, 1) == [OK]
    assert (stream.upstream_received, stream.client_received) == (b"held+more", b"reply")


def test_pause_on_new_connection_holds_the_chain_until_data_continues(
    proxy_wasm_host: Host, wat: Compile
) -> None:
    first = load(
        proxy_wasm_host, wat, with_return(tcp_probe(), "proxy_on_new_connection", "(i32.const 1)"), "a"
    )
    second = load(proxy_wasm_host, wat, tcp_probe(), "b")
    outcome = proxy_wasm_host.connect([first, second], downstream=[b"x"], upstream_reply=lambda d: d.upper())
    # Envoy: b is initialized only when iteration gets past a, i.e. with the first data a lets through.
    assert [(r.plugin, r.message) for r in outcome.logs][:6] == [
        ("a", "context_create"),
        ("a", "new_connection"),
        ("a", "downstream_data"),
        ("b", "context_create"),
        ("b", "new_connection"),
        ("b", "downstream_data"),
    ]
    assert (outcome.upstream_received, outcome.client_received) == (b"x", b"X")


def test_chain_stop_replays_the_buffer_to_earlier_filters(proxy_wasm_host: Host, wat: Compile) -> None:
    first = load(proxy_wasm_host, wat, tcp_probe(downstream_data=push("(local.get $p1)")), "a")
    probe = tcp_probe(downstream_data=push("(local.get $p1)"))
    with_return(probe, "proxy_on_downstream_data", "(i32.lt_u (local.get $p1) (i32.const 4))")
    second = load(proxy_wasm_host, wat, probe, "b")
    outcome = proxy_wasm_host.connect(
        [first, second], downstream=[b"12", b"34"], upstream_reply=lambda d: [b"r1", b"r2"]
    )
    assert slots(first, 2) == [2, 4]  # a sees "12" again with "34" appended (one connection buffer)
    assert slots(second, 2) == [2, 4]
    assert outcome.upstream_received == b"1234"
    assert outcome.client_received == b"r1r2"
    writes = [r.plugin for r in outcome.logs if r.message == "upstream_data"]
    assert writes == ["b", "a", "b", "a"]  # write filters run in reverse chain order


# -- buffers 2 and 3 ----------------------------------------------------------------------------------------


def set_buffer(buffer_type: int, start: int, length: int, probe: Probe, data: str) -> str:
    return (
        f"(call $proxy_set_buffer_bytes (i32.const {buffer_type}) (i32.const {start}) (i32.const {length})"
        f" {probe.s(data)})"
    )


def test_buffers_are_mutable_in_their_data_callbacks(proxy_wasm_host: Host, wat: Compile) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_downstream_data",
        records(
            [
                set_buffer(DOWNSTREAM, 0, 0, probe, "<"),  # prepend
                set_buffer(DOWNSTREAM, 100, 0, probe, ">"),  # start >= len: append
                set_buffer(DOWNSTREAM, 1, 1, probe, "?"),  # 0 < start < len: BAD_ARGUMENT
                set_buffer(UPSTREAM, 0, 0, probe, "!"),  # buffer 3 is not live here: BAD_ARGUMENT
                "(call $proxy_get_buffer_status (i32.const 3) (i32.const 16) (i32.const 20))",
                "(i32.load (i32.const 16))",
            ]
        ),
    )
    probe.on("proxy_on_upstream_data", records([set_buffer(UPSTREAM, 0, 3, probe, "XY")], 6))
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="buf")
    outcome = proxy_wasm_host.connect(plugin, downstream="data", upstream_reply="abcdef")
    assert slots(plugin, 7) == [OK, OK, BAD_ARGUMENT, BAD_ARGUMENT, OK, 0, OK]
    assert outcome.upstream_received == b"<data>"
    assert outcome.client_received == b"XYdef"  # (0, 3): the first three bytes replaced


def test_buffer_reads_empty_after_continue(proxy_wasm_host: Host, wat: Compile) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_upstream_data",
        records(
            [
                "(call $proxy_get_buffer_status (i32.const 2) (i32.const 16) (i32.const 20))",
                "(i32.load (i32.const 16))",
                "(call $proxy_get_buffer_status (i32.const 3) (i32.const 16) (i32.const 20))",
                "(i32.load (i32.const 16))",
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="buf")
    stream = proxy_wasm_host.tcp_stream(plugin)
    stream.on_downstream_data(b"abc")
    stream.on_upstream_data(b"12345")
    assert slots(plugin, 4) == [OK, 0, OK, 5]


# -- continue/close statuses and close_stream ---------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("(call $proxy_continue_stream (i32.const 2))", OK),
        ("(call $proxy_continue_stream (i32.const 3))", UNIMPLEMENTED),
        ("(call $proxy_continue_stream (i32.const 4))", BAD_ARGUMENT),
        ("(call $proxy_close_stream (i32.const 4))", BAD_ARGUMENT),
        ("(call $proxy_continue_stream (i32.const 0))", OK),  # no HTTP callbacks on a connection: no-op
        ("(call $proxy_close_stream (i32.const 1))", OK),
    ],
)
def test_stream_control_statuses_in_tcp(
    proxy_wasm_host: Host, wat: Compile, call: str, expected: int
) -> None:
    probe = tcp_probe(downstream_data=records([call]))
    plugin = load(proxy_wasm_host, wat, probe)
    outcome = proxy_wasm_host.connect(plugin, downstream="x")
    assert slots(plugin, 1) == [expected]
    assert outcome.closed_by == "downstream"
    assert outcome.upstream_received == b"x"


@pytest.mark.parametrize("stream_type", [DOWNSTREAM, UPSTREAM])
def test_close_stream_closes_the_connection(proxy_wasm_host: Host, wat: Compile, stream_type: int) -> None:
    probe = tcp_probe(
        downstream_data=push(f"(call $proxy_close_stream (i32.const {stream_type}))"),
        downstream_connection_close=push("(local.get $p1)"),
    )
    plugin = load(proxy_wasm_host, wat, probe)
    outcome = proxy_wasm_host.connect(plugin, downstream=["first", "second"], upstream_reply=["never"])
    assert outcome.closed_by == "plugin"
    assert outcome.upstream_received == b""  # the close lands before the chunk moves on
    assert outcome.client_received == b""
    assert slots(plugin, 2) == [OK, PeerType.LOCAL]
    assert outcome.log_messages() == [
        "context_create",
        "new_connection",
        "downstream_data",
        "downstream_connection_close",
        "done",
        "log",
        "delete",
    ]


def test_close_stream_in_http_does_not_reset_it(proxy_wasm_host: Host, wat: Compile) -> None:
    probe = Probe()
    probe.on("proxy_on_request_headers", records(["(call $proxy_close_stream (i32.const 2))"]))
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="http")
    outcome = proxy_wasm_host.request(plugin)
    assert slots(plugin, 1) == [OK]
    assert (outcome.status, outcome.reset) == (200, False)  # Envoy: no network callbacks, no-op


# -- traps ------------------------------------------------------------------------------------------------


def test_trap_closes_the_connection_fail_closed(proxy_wasm_host: Host, wat: Compile) -> None:
    probe = tcp_probe(downstream_data="unreachable")
    plugin = load(proxy_wasm_host, wat, probe)
    outcome = proxy_wasm_host.connect(plugin, downstream=["a", "b"], upstream_reply=["r"])
    assert outcome.closed_by == "plugin"
    assert outcome.plugin_failed is not None and "unreachable" in outcome.plugin_failed
    assert outcome.upstream_received == b""
    assert outcome.log_messages() == ["context_create", "new_connection", "downstream_data"]


def test_trap_in_new_connection_fail_closed(proxy_wasm_host: Host, wat: Compile) -> None:
    plugin = load(proxy_wasm_host, wat, tcp_probe(new_connection="unreachable"))
    stream = proxy_wasm_host.tcp_stream(plugin)
    assert stream.on_new_connection() is Action.PAUSE
    assert stream.closed_by == "plugin"
    assert stream.on_downstream_data(b"late") is Action.PAUSE
    assert stream.upstream_received == b""


def test_legacy_fail_open_trap_keeps_the_connection(proxy_wasm_host: Host, wat: Compile) -> None:
    probe = tcp_probe(downstream_data="unreachable")
    plugin = load(proxy_wasm_host, wat, probe, failure_policy=FailurePolicy.LEGACY_FAIL_OPEN)
    outcome = proxy_wasm_host.connect(plugin, downstream=["a", "b"], upstream_reply=lambda d: d * 2)
    assert outcome.closed_by == "downstream"
    assert outcome.plugin_failed is not None
    assert (outcome.upstream_received, outcome.client_received) == (b"ab", b"aabb")


def test_failed_fail_open_plugin_is_left_out_of_later_connections(
    proxy_wasm_host: Host, wat: Compile
) -> None:
    plugin = load(
        proxy_wasm_host, wat, tcp_probe(downstream_data="unreachable"), failure_policy=FailurePolicy.FAIL_OPEN
    )
    assert proxy_wasm_host.connect(plugin, downstream="a").closed_by == "plugin"
    del proxy_wasm_host.records[:]
    later = proxy_wasm_host.connect(plugin, downstream="b", upstream_reply="c")
    assert (later.closed_by, later.upstream_received, later.client_received) == ("downstream", b"b", b"c")
    assert later.log_messages() == []


def test_downstream_buffer_stays_readable_only_in_the_filter_that_stopped(
    proxy_wasm_host: Host, wat: Compile
) -> None:
    status_2 = "(drop (call $proxy_get_buffer_status (i32.const 2) (i32.const 16) (i32.const 20)))"
    read_2 = status_2 + " " + push("(i32.load (i32.const 16))")
    first = load(proxy_wasm_host, wat, tcp_probe(upstream_data=read_2), "a")
    probe = tcp_probe(upstream_data=read_2)
    with_return(probe, "proxy_on_downstream_data", "(i32.lt_u (local.get $p1) (i32.const 2))")
    second = load(proxy_wasm_host, wat, probe, "b")
    outcome = proxy_wasm_host.connect([first, second], downstream=["ab", "c"], upstream_reply=["r"])
    assert outcome.upstream_received == b"ab"  # "c" is held by b
    # Envoy keeps the buffer pointer only after a stop: b still sees the held byte, a sees nothing.
    assert (slots(first, 1), slots(second, 1)) == ([0], [1])


def test_continue_from_a_tick_applies_to_the_stream(proxy_wasm_host: Host, wat: Compile) -> None:
    probe = tcp_probe()
    with_return(probe, "proxy_on_downstream_data", "(i32.const 1)")
    probe.on("proxy_on_vm_start", "(drop (call $proxy_set_tick_period_milliseconds (i32.const 10)))")
    probe.on(
        "proxy_on_tick",
        "(drop (call $proxy_set_effective_context (i32.const 2)))\n    "
        + push("(call $proxy_continue_stream (i32.const 2))"),
    )
    plugin = load(proxy_wasm_host, wat, probe)
    stream = proxy_wasm_host.tcp_stream(plugin)
    assert stream.on_downstream_data(b"wait") is Action.PAUSE
    assert stream.context is not None and stream.context.id == 2
    proxy_wasm_host.advance(10)
    assert slots(plugin, 1) == [OK]
    stream.apply_pending_intents()
    assert stream.upstream_received == b"wait"
