"""Hostcall area shared data: proxy_set_shared_data, proxy_get_shared_data (abi-spec 2.6, 8)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from wat_builder import BAD_PTR, Probe, guest_bytes, records, slots, u32

from pytest_proxy_wasm import Host

OK, NOT_FOUND, IMA, CAS_MISMATCH = 0, 1, 6, 8
Wat = Callable[[str], bytes]
UNTOUCHED = 0xAAAAAAAA


def set_(probe: Probe, key: str, value: str, cas: int | str = 0) -> str:
    cas_expr = cas if isinstance(cas, str) else f"(i32.const {cas})"
    return f"(call $proxy_set_shared_data {probe.s(key)} {probe.s(value)} {cas_expr})"


def get(probe: Probe, key: str, ret: int = 16) -> str:
    """Value (ptr, size) at ``ret``, ``ret+4``; cas at ``ret+8``."""
    return (
        f"(call $proxy_get_shared_data {probe.s(key)} (i32.const {ret}) (i32.const {ret + 4})"
        f" (i32.const {ret + 8}))"
    )


def on_vm_start(calls: Callable[[Probe], list[str]], tag: str = "") -> Probe:
    probe = Probe()
    probe.data[16] = b"\xaa" * 48  # scratch for returned (ptr, size, cas): "not written"
    probe.on("proxy_on_vm_start", records(calls(probe)) + (probe.log(tag) if tag else ""))
    return probe


def test_set_then_get_and_cas_rules(proxy_wasm_host: Host, wat: Wat) -> None:
    probe = on_vm_start(
        lambda p: [
            set_(p, "k", "v1"),  # new key, cas 0 -> cas 1
            get(p, "k", 16),
            set_(p, "k", "v2", "(i32.load (i32.const 24))"),  # the cas just read: OK -> cas 2
            set_(p, "k", "v3", 1),  # stale cas
            get(p, "k", 32),
            set_(p, "k", "v4", 0),  # cas 0: unconditional -> cas 3
            set_(p, "new", "n", 99),  # a new key accepts any cas (cpp-host) -> cas 4
            get(p, "new", 48),
        ]
    )
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="sd")
    assert slots(plugin, 8) == [OK, OK, OK, CAS_MISMATCH, OK, OK, OK, OK]
    assert (guest_bytes(plugin, 16, 20), u32(plugin, 24)) == (b"v1", 1)
    assert (guest_bytes(plugin, 32, 36), u32(plugin, 40)) == (b"v2", 2)
    assert (guest_bytes(plugin, 48, 52), u32(plugin, 56)) == (b"n", 4)
    assert proxy_wasm_host.shared_data.snapshot("") == {"k": b"v4", "new": b"n"}
    assert proxy_wasm_host.shared_data.get("", b"k") == (b"v4", 3)


def test_missing_key_is_not_found_and_writes_nothing(proxy_wasm_host: Host, wat: Wat) -> None:
    plugin = proxy_wasm_host.load_plugin(wat(on_vm_start(lambda p: [get(p, "absent")]).wat()), name="nf")
    assert slots(plugin, 1) == [NOT_FOUND]
    assert [u32(plugin, a) for a in (16, 20, 24)] == [UNTOUCHED] * 3


def test_empty_value_reads_as_null_pair(proxy_wasm_host: Host, wat: Wat) -> None:
    probe = on_vm_start(lambda p: [set_(p, "empty", ""), get(p, "empty")])
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="empty")
    assert slots(plugin, 2) == [OK, OK]
    assert [u32(plugin, a) for a in (16, 20, 24)] == [0, 0, 1]  # no allocation for an empty value


def test_empty_key_is_a_key(proxy_wasm_host: Host, wat: Wat) -> None:
    probe = on_vm_start(lambda p: [set_(p, "", "x"), get(p, "")])
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="ek")
    assert slots(plugin, 2) == [OK, OK]
    assert guest_bytes(plugin, 16, 20) == b"x"


@pytest.mark.parametrize(
    "call",
    [
        f"(call $proxy_set_shared_data (i32.const {BAD_PTR}) (i32.const 1) (i32.const 1024) (i32.const 1)"
        " (i32.const 0))",
        f"(call $proxy_set_shared_data (i32.const 1024) (i32.const 1) (i32.const {BAD_PTR}) (i32.const 1)"
        " (i32.const 0))",
        "(call $proxy_set_shared_data (i32.const 1024) (i32.const 1) (i32.const 131071) (i32.const 2)"
        " (i32.const 0))",
    ],
    ids=["set-key", "set-value", "set-value-past-end"],
)
def test_set_bad_memory_stores_nothing(proxy_wasm_host: Host, wat: Wat, call: str) -> None:
    probe = Probe()
    probe.ptr("k")
    probe.on("proxy_on_vm_start", records([call]))
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="ima")
    assert slots(plugin, 1) == [IMA]
    assert proxy_wasm_host.shared_data.values == {}


@pytest.mark.parametrize(
    ("ret_value", "ret_size", "ret_cas"),
    [(BAD_PTR, 20, 24), (16, BAD_PTR, 24), (16, 20, BAD_PTR), (16, 20, 131070)],
    ids=["ret-ptr", "ret-size", "ret-cas", "ret-cas-past-end"],
)
def test_get_bad_memory(proxy_wasm_host: Host, wat: Wat, ret_value: int, ret_size: int, ret_cas: int) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_vm_start",
        records(
            [
                set_(probe, "k", "v"),
                f"(call $proxy_get_shared_data {probe.s('k')} (i32.const {ret_value}) (i32.const {ret_size})"
                f" (i32.const {ret_cas}))",
                f"(call $proxy_get_shared_data (i32.const {BAD_PTR}) (i32.const 1) (i32.const 16)"
                " (i32.const 20) (i32.const 24))",
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(wat(probe.wat()), name="ima")
    assert slots(plugin, 3) == [OK, IMA, IMA]


def test_vm_ids_scope_the_data(proxy_wasm_host: Host, wat: Wat) -> None:
    writer = on_vm_start(lambda p: [set_(p, "k", "from-a")], tag="writer")
    reader = on_vm_start(lambda p: [get(p, "k")], tag="reader")  # different code: its own VM
    a = proxy_wasm_host.load_plugin(wat(writer.wat()), vm_id="a", name="a")
    b = proxy_wasm_host.load_plugin(wat(reader.wat()), vm_id="b", name="b")
    a2 = proxy_wasm_host.load_plugin(wat(reader.wat()), vm_id="a", name="a2")
    empty = proxy_wasm_host.load_plugin(wat(reader.wat()), name="empty")
    assert a.vm is not a2.vm  # different code, same vm_id: separate VMs that share the data
    assert slots(a, 1) == [OK]
    assert slots(b, 1) == [NOT_FOUND]
    assert slots(empty, 1) == [NOT_FOUND]
    assert slots(a2, 1) == [OK]
    assert guest_bytes(a2, 16, 20) == b"from-a"
    assert proxy_wasm_host.shared_data.snapshot("a") == {"k": b"from-a"}
    assert proxy_wasm_host.shared_data.snapshot("b") == {}


def test_cas_counter_is_global_across_vm_ids(proxy_wasm_host: Host, wat: Wat) -> None:
    probe = on_vm_start(lambda p: [set_(p, "k", "v"), get(p, "k")])
    first = proxy_wasm_host.load_plugin(wat(probe.wat()), vm_id="one", name="one")
    second = proxy_wasm_host.load_plugin(wat(probe.wat()), vm_id="two", name="two")
    assert (u32(first, 24), u32(second, 24)) == (1, 2)


def test_shared_vm_plugins_see_each_others_writes(proxy_wasm_host: Host, wat: Wat) -> None:
    """Two root contexts of one VM: the second reads what the first wrote, and CAS arbitrates them."""
    probe = Probe()
    probe.data[16] = b"\xaa" * 48
    probe.on(
        "proxy_on_configure",
        records([get(probe, "k"), set_(probe, "k", "v", "(i32.load (i32.const 24))")]),
    )
    one = proxy_wasm_host.load_plugin(wat(probe.wat()), root_id="one", name="one")
    assert slots(one, 2) == [NOT_FOUND, OK]  # cas read was 0xAAAAAAAA, but a new key accepts it
    two = proxy_wasm_host.load_plugin(wat(probe.wat()), root_id="two", name="two")
    assert two.vm is one.vm
    assert slots(two, 2) == [OK, OK]
    assert (guest_bytes(two, 16, 20), u32(two, 24)) == (b"v", 1)
    assert proxy_wasm_host.shared_data.get("", b"k") == (b"v", 2)
