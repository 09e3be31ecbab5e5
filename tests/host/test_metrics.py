"""Hostcall area metrics: define, increment, record, get (abi-spec 2.6; Envoy context.cc)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from wat_builder import BAD_PTR, Probe, records, slots, u32, u64

from pytest_proxy_wasm import Host, Plugin

OK, NOT_FOUND, BAD_ARGUMENT, IMA = 0, 1, 2, 6
COUNTER, GAUGE, HISTOGRAM = 0, 1, 2
Wat = Callable[[str], bytes]


def define(probe: Probe, kind: int, name: str, ret: int) -> str:
    return f"(call $proxy_define_metric (i32.const {kind}) {probe.s(name)} (i32.const {ret}))"


def inc(metric_id: int, delta: int) -> str:
    return f"(call $proxy_increment_metric (i32.const {metric_id}) (i64.const {delta}))"


def rec(metric_id: int, value: int) -> str:
    return f"(call $proxy_record_metric (i32.const {metric_id}) (i64.const {value}))"


def get(metric_id: int, ret: int) -> str:
    return f"(call $proxy_get_metric (i32.const {metric_id}) (i32.const {ret}))"


def load(host: Host, wat: Wat, calls: Callable[[Probe], list[str]], **kwargs: str) -> Plugin:
    probe = Probe()
    probe.on("proxy_on_vm_start", records(calls(probe)))
    return host.load_plugin(wat(probe.wat()), **kwargs)


def test_define_ids_carry_the_type(proxy_wasm_host: Host, wat: Wat) -> None:
    plugin = load(
        proxy_wasm_host,
        wat,
        lambda p: [
            define(p, COUNTER, "c", 16),
            define(p, GAUGE, "g", 20),
            define(p, HISTOGRAM, "h", 24),
            define(p, COUNTER, "c2", 28),
            define(p, COUNTER, "c", 32),  # same name again: a new id, the same stat
            define(p, HISTOGRAM, "h2", 36),
        ],
    )
    assert slots(plugin, 6) == [OK] * 6
    assert [u32(plugin, a) for a in range(16, 40, 4)] == [4, 5, 6, 8, 12, 10]
    assert proxy_wasm_host.metrics.snapshot() == {"c": 0, "g": 0, "h": 0, "c2": 0, "h2": 0}


@pytest.mark.parametrize("kind", [3, 4, 0xFFFFFFFF])
def test_define_bad_type(proxy_wasm_host: Host, wat: Wat, kind: int) -> None:
    plugin = load(proxy_wasm_host, wat, lambda p: [define(p, kind, "x", 16)])
    assert slots(plugin, 1) == [BAD_ARGUMENT]
    assert u32(plugin, 16) == 0
    assert proxy_wasm_host.metrics.snapshot() == {}


def test_define_bad_memory(proxy_wasm_host: Host, wat: Wat) -> None:
    plugin = load(
        proxy_wasm_host,
        wat,
        lambda p: [
            f"(call $proxy_define_metric (i32.const 0) (i32.const {BAD_PTR}) (i32.const 1) (i32.const 16))",
            # the name is read before the type is checked
            f"(call $proxy_define_metric (i32.const 7) (i32.const {BAD_PTR}) (i32.const 1) (i32.const 16))",
            define(p, COUNTER, "c", BAD_PTR),
        ],
    )
    assert slots(plugin, 3) == [IMA, IMA, IMA]


def test_counter_increment_record_get(proxy_wasm_host: Host, wat: Wat) -> None:
    plugin = load(
        proxy_wasm_host,
        wat,
        lambda p: [
            define(p, COUNTER, "requests", 16),  # 4
            define(p, COUNTER, "requests", 20),  # 8, same stat
            inc(4, 5),
            inc(8, 2),
            inc(4, 0),  # counters only grow
            inc(4, -1),  # the i64 is signed: not 2**64 - 1
            rec(4, 3),  # record on a counter adds
            get(4, 32),
            get(8, 40),
            inc(100, 1),  # unknown counter id
            get(100, 48),
            rec(100, 1),
        ],
    )
    assert slots(plugin, 12) == [
        OK,
        OK,
        OK,
        OK,
        BAD_ARGUMENT,
        BAD_ARGUMENT,
        OK,
        OK,
        OK,
        NOT_FOUND,
        NOT_FOUND,
        NOT_FOUND,
    ]
    assert (u64(plugin, 32), u64(plugin, 40)) == (10, 10)
    assert proxy_wasm_host.metrics["requests"] == 10


def test_gauge_increment_record_get(proxy_wasm_host: Host, wat: Wat) -> None:
    plugin = load(
        proxy_wasm_host,
        wat,
        lambda p: [
            define(p, GAUGE, "level", 16),  # 5
            inc(5, 10),
            inc(5, -3),  # a gauge goes down
            get(5, 32),
            rec(5, 42),  # record on a gauge sets
            get(5, 40),
            rec(5, -1),  # u64 max
            get(5, 48),
            inc(101, 1),
            get(101, 56),
        ],
    )
    assert slots(plugin, 10) == [OK, OK, OK, OK, OK, OK, OK, OK, NOT_FOUND, NOT_FOUND]
    assert u64(plugin, 32) == 7
    assert u64(plugin, 40) == 42
    assert u64(plugin, 48) == (1 << 64) - 1
    assert proxy_wasm_host.metrics["level"] == (1 << 64) - 1


def test_histogram_records_and_refuses_the_rest(proxy_wasm_host: Host, wat: Wat) -> None:
    plugin = load(
        proxy_wasm_host,
        wat,
        lambda p: [
            define(p, HISTOGRAM, "sizes", 16),  # 6
            rec(6, 3),
            rec(6, 7),
            rec(6, -1),
            inc(6, 1),  # histograms cannot be incremented
            get(6, 32),  # nor read
            get(102, 32),  # an unknown histogram id is still BAD_ARGUMENT (type bits first)
            inc(102, 1),
            rec(102, 1),  # but recording to it is NOT_FOUND
        ],
    )
    assert slots(plugin, 9) == [
        OK,
        OK,
        OK,
        OK,
        BAD_ARGUMENT,
        BAD_ARGUMENT,
        BAD_ARGUMENT,
        BAD_ARGUMENT,
        NOT_FOUND,
    ]
    assert proxy_wasm_host.metrics["sizes"] == 3
    assert proxy_wasm_host.metrics.samples("sizes") == [3, 7, (1 << 64) - 1]


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        (inc(7, 1), BAD_ARGUMENT),
        (rec(7, 1), NOT_FOUND),
        (get(7, 32), BAD_ARGUMENT),
        (inc(3, 1), BAD_ARGUMENT),
    ],
)
def test_type_bits_three(proxy_wasm_host: Host, wat: Wat, call: str, expected: int) -> None:
    plugin = load(proxy_wasm_host, wat, lambda p: [define(p, HISTOGRAM, "h", 16), call])
    assert slots(plugin, 2) == [OK, expected]


def test_get_bad_memory(proxy_wasm_host: Host, wat: Wat) -> None:
    plugin = load(
        proxy_wasm_host,
        wat,
        lambda p: [define(p, COUNTER, "c", 16), get(4, BAD_PTR), get(4, 131068), get(8, BAD_PTR)],
    )
    assert slots(plugin, 4) == [OK, IMA, IMA, NOT_FOUND]  # lookup first, then the write


def test_ids_are_per_vm_stats_are_per_name(proxy_wasm_host: Host, wat: Wat) -> None:
    """Envoy keeps the id tables on each Wasm; the stat (wasmcustom.<name>) is the server's."""

    def calls(p: Probe) -> list[str]:
        return [define(p, GAUGE, "g", 20), define(p, COUNTER, "shared", 16), inc(4, 1), get(4, 32)]

    a = load(proxy_wasm_host, wat, calls, vm_id="a", name="a")
    b = load(proxy_wasm_host, wat, calls, vm_id="b", name="b")
    assert a.vm is not b.vm
    assert slots(a, 4) == slots(b, 4) == [OK] * 4
    assert (u32(a, 16), u32(b, 16), u32(a, 20), u32(b, 20)) == (4, 4, 5, 5)
    assert (u64(a, 32), u64(b, 32)) == (1, 2)
    assert proxy_wasm_host.metrics["shared"] == 2

    stranger = load(proxy_wasm_host, wat, lambda p: [inc(4, 1), get(4, 32)], vm_id="c", name="c")
    assert slots(stranger, 2) == [NOT_FOUND, NOT_FOUND]  # id 4 means nothing in a VM that defined none


def test_metrics_from_a_stream_show_in_the_outcome(proxy_wasm_host: Host, wat: Wat) -> None:
    probe = Probe()
    probe.on("proxy_on_configure", records([define(probe, COUNTER, "hits", 16)]))
    probe.on("proxy_on_request_headers", records([inc(4, 1)], first=1))
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="hits")
    proxy_wasm_host.request(plugin)
    outcome = proxy_wasm_host.request(plugin)
    assert slots(plugin, 2) == [OK, OK]
    assert outcome.metrics == {"hits": 2}
