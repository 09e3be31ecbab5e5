"""Hostcall areas logging, clocks/timers, configuration (0.1.0) and contexts."""

from __future__ import annotations

import pytest
from wat_builder import BAD_PTR, Probe, build, guest_bytes, records, slots, u64

from pytest_proxy_wasm import Host, WasmResult

OK, NOT_FOUND, BAD_ARGUMENT, IMA = 0, 1, 2, 6
MEMORY_END = 2 * 65536


def vm_start_probe(calls: list[str], abi: str = "0.2.1", probe: Probe | None = None) -> Probe:
    probe = probe or Probe(abi)
    probe.on("proxy_on_vm_start", records(calls))
    return probe


# -- proxy_log ---------------------------------------------------------------------------------------


def test_proxy_log_every_level(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_vm_start",
        records([f"(call $proxy_log (i32.const {lv}) {probe.s(f'l{lv}')})" for lv in range(6)]),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="levels")
    assert slots(plugin, 6) == [OK] * 6
    records_ = [r for r in proxy_wasm_host.logs if r.source == "plugin"]
    assert [(r.level_name, r.message) for r in records_] == [
        ("trace", "l0"),
        ("debug", "l1"),
        ("info", "l2"),
        ("warn", "l3"),
        ("error", "l4"),
        ("critical", "l5"),
    ]
    assert {r.plugin for r in records_} == {"levels"}
    assert {r.context_id for r in records_} == {plugin.root.id}


@pytest.mark.parametrize("level", [6, 7, 100, -1])
def test_proxy_log_bad_level(proxy_wasm_host: Host, level: int) -> None:
    probe = Probe()
    vm_start_probe(
        [
            f"(call $proxy_log (i32.const {level}) {probe.s('x')})",
            f"(call $proxy_log (i32.const {level}) (i32.const {BAD_PTR}) (i32.const 4))",
        ],
        probe=probe,
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="bad")
    assert slots(plugin, 2) == [BAD_ARGUMENT, BAD_ARGUMENT]  # level is checked before memory
    assert proxy_wasm_host.log_messages() == []


@pytest.mark.parametrize(
    ("ptr", "size"), [(BAD_PTR, 4), (MEMORY_END - 2, 3), (MEMORY_END + 1, 0), (0xFFFFFFFF, 2)]
)
def test_proxy_log_bad_memory(proxy_wasm_host: Host, ptr: int, size: int) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(vm_start_probe([f"(call $proxy_log (i32.const 2) (i32.const {ptr}) (i32.const {size}))"])),
        name="m",
    )
    assert slots(plugin, 1) == [IMA]
    assert proxy_wasm_host.log_messages() == []


def test_proxy_log_empty_and_edge_ranges(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            vm_start_probe(
                [
                    "(call $proxy_log (i32.const 2) (i32.const 0) (i32.const 0))",
                    f"(call $proxy_log (i32.const 2) (i32.const {MEMORY_END}) (i32.const 0))",
                    f"(call $proxy_log (i32.const 2) (i32.const {MEMORY_END - 1}) (i32.const 1))",
                ]
            )
        ),
        name="edge",
    )
    assert slots(plugin, 3) == [OK, OK, OK]
    assert proxy_wasm_host.log_messages("info") == ["", "", "\0"]


def test_proxy_log_large_message(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_configure",
        records(
            [
                "(call $proxy_get_buffer_bytes (i32.const 7) (i32.const 0) (i32.const -1) "
                "(i32.const 16) (i32.const 20))",
                "(call $proxy_log (i32.const 3) (i32.load (i32.const 16)) (i32.load (i32.const 20)))",
            ]
        ),
    )
    message = "0123456789abcdef" * 20_000
    plugin = proxy_wasm_host.load_plugin(build(probe), plugin_config=message, name="large")
    assert slots(plugin, 2) == [OK, OK]
    assert proxy_wasm_host.log_messages("warn") == [message]


def test_proxy_log_in_stream_context_names_the_stream(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on("proxy_on_request_headers", probe.log("stream"))
    plugin = proxy_wasm_host.load_plugin(build(probe), name="ctx")
    proxy_wasm_host.request(plugin)
    (record,) = [r for r in proxy_wasm_host.logs if r.message == "stream"]
    assert record.context_id == plugin.root.id + 1
    assert record.plugin == "ctx"


# -- proxy_get_log_level ------------------------------------------------------------------------------


def test_get_log_level_default_is_trace(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            vm_start_probe(
                [
                    "(call $proxy_get_log_level (i32.const 16))",
                    f"(call $proxy_get_log_level (i32.const {BAD_PTR}))",
                ]
            )
        ),
        name="lvl",
    )
    assert slots(plugin, 2) == [OK, IMA]
    assert u64(plugin, 16) & 0xFFFFFFFF == 0


@pytest.mark.proxy_wasm(log_level=4)
def test_get_log_level_follows_host_options(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(vm_start_probe(["(call $proxy_get_log_level (i32.const 16))"])), name="lvl"
    )
    assert slots(plugin, 1) == [OK]
    assert u64(plugin, 16) & 0xFFFFFFFF == 4


# -- time and ticks -----------------------------------------------------------------------------------


@pytest.mark.proxy_wasm(start_time_ns=1_700_000_000_123_456_789)
def test_current_time_is_the_virtual_clock(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_vm_start",
        records(
            [
                "(call $proxy_get_current_time_nanoseconds (i32.const 16))",
                f"(call $proxy_get_current_time_nanoseconds (i32.const {BAD_PTR}))",
            ]
        ),
    )
    probe.on(
        "proxy_on_request_headers", records(["(call $proxy_get_current_time_nanoseconds (i32.const 24))"], 2)
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="time")
    assert slots(plugin, 2) == [OK, IMA]
    assert u64(plugin, 16) == 1_700_000_000_123_456_789
    proxy_wasm_host.advance(1500)
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 1, first=2) == [OK]
    assert u64(plugin, 24) == 1_700_000_000_123_456_789 + 1_500_000_000


def tick_probe(period_ms: int) -> Probe:
    probe = Probe()
    probe.on(
        "proxy_on_vm_start", records([f"(call $proxy_set_tick_period_milliseconds (i32.const {period_ms}))"])
    )
    probe.on(
        "proxy_on_tick",
        probe.log("tick") + " (drop (call $proxy_get_current_time_nanoseconds (i32.const 16)))",
    )
    return probe


@pytest.mark.proxy_wasm(start_time_ns=0)
def test_tick_period_fires_on_advance(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(tick_probe(100)), name="tick")
    assert slots(plugin, 1) == [OK]
    proxy_wasm_host.advance(99)
    assert proxy_wasm_host.log_messages() == []
    proxy_wasm_host.advance(251)
    assert proxy_wasm_host.log_messages() == ["tick"] * 3
    assert u64(plugin, 16) == 300_000_000  # the clock reads the tick's own time inside on_tick
    assert proxy_wasm_host.clock.realtime_ns == 350_000_000


def test_tick_period_zero_never_fires(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(tick_probe(0)), name="tick")
    assert slots(plugin, 1) == [OK]
    proxy_wasm_host.advance(10_000)
    assert proxy_wasm_host.log_messages() == []


def test_tick_period_can_be_cancelled_from_on_tick(proxy_wasm_host: Host) -> None:
    probe = tick_probe(10)
    probe.on(
        "proxy_on_tick",
        probe.log("tick") + " (drop (call $proxy_set_tick_period_milliseconds (i32.const 0)))",
    )
    proxy_wasm_host.load_plugin(build(probe), name="once")
    proxy_wasm_host.advance(1000)
    assert proxy_wasm_host.log_messages() == ["tick"]


# -- proxy_get_configuration (0.1.0) -----------------------------------------------------------------------


def config_probe() -> Probe:
    probe = Probe("0.1.0")
    probe.on("proxy_on_vm_start", records(["(call $proxy_get_configuration (i32.const 16) (i32.const 20))"]))
    probe.on(
        "proxy_on_configure",
        records(
            [
                "(call $proxy_get_configuration (i32.const 24) (i32.const 28))",
                f"(call $proxy_get_configuration (i32.const {BAD_PTR}) (i32.const 28))",
            ],
            1,
        ),
    )
    probe.on(
        "proxy_on_request_headers",
        records(["(call $proxy_get_configuration (i32.const 32) (i32.const 36))"], 3),
    )
    return probe


def test_get_configuration_010(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(config_probe()), vm_config="vm-cfg", plugin_config={"a": 1}, name="cfg"
    )
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 4) == [OK, OK, IMA, OK]
    assert guest_bytes(plugin, 16, 20) == b"vm-cfg"
    assert guest_bytes(plugin, 24, 28) == b'{"a":1}'
    assert guest_bytes(plugin, 32, 36) == b"vm-cfg"


def test_get_configuration_010_empty_is_null_pointer(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(build(config_probe()), name="cfg")
    assert slots(plugin, 2) == [OK, OK]
    assert (guest_bytes(plugin, 16, 20), guest_bytes(plugin, 24, 28)) == (b"", b"")
    assert plugin.vm.memory.read(24, 8) == b"\0" * 8


# -- contexts -----------------------------------------------------------------------------------------------


def test_set_effective_context(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_request_headers",
        records(
            [
                "(call $proxy_set_effective_context (i32.const 999))",
                "(call $proxy_set_effective_context (i32.const -1))",
                "(call $proxy_set_effective_context (i32.sub (local.get $p0) (i32.const 1)))",
            ]
        )
        + probe.log("as root"),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="eff")
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 3) == [BAD_ARGUMENT, BAD_ARGUMENT, OK]
    (record,) = [r for r in proxy_wasm_host.logs if r.message == "as root"]
    assert record.context_id == plugin.root.id


def test_effective_context_resets_after_the_callback(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_request_headers",
        "(drop (call $proxy_set_effective_context (i32.sub (local.get $p0) (i32.const 1))))",
    )
    probe.on("proxy_on_response_headers", probe.log("response"))
    plugin = proxy_wasm_host.load_plugin(build(probe), name="eff")
    proxy_wasm_host.request(plugin)
    (record,) = [r for r in proxy_wasm_host.logs if r.message == "response"]
    assert record.context_id == plugin.root.id + 1


def test_proxy_done_without_pending_done_is_not_found(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on("proxy_on_vm_start", records(["(call $proxy_done)"]))
    probe.on("proxy_on_request_headers", records(["(call $proxy_done)"], 1))
    plugin = proxy_wasm_host.load_plugin(build(probe), name="done")
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 2) == [NOT_FOUND, NOT_FOUND]
    assert WasmResult(NOT_FOUND) is WasmResult.NOT_FOUND
