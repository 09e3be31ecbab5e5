"""Hostcall area foreign functions: proxy_call_foreign_function and the Envoy stand-ins."""

from __future__ import annotations

import zlib

import pytest
from wat_builder import BAD_PTR, Probe, build, guest_bytes, records, slots, u32

from pytest_proxy_wasm import Host

OK, NOT_FOUND, BAD_ARGUMENT, SERIALIZATION_FAILURE, IMA = 0, 1, 2, 3, 6
UNSET = 0xFFFFFFFF


def call(p: Probe, name: str | bytes, args: bytes, ret_ptr: int = 16, ret_size: int = 20) -> str:
    return (
        f"(call $proxy_call_foreign_function {p.s(name)} {p.s(args)} (i32.const {ret_ptr})"
        f" (i32.const {ret_size}))"
    )


def run(host: Host, calls: list[object]) -> object:
    """A plugin whose on_configure makes the calls (``calls`` are functions of the probe)."""
    p = Probe()
    p.on("proxy_on_configure", records([c(p) for c in calls]))  # type: ignore[operator]
    return host.load_plugin(build(p))


def preset(plugin: object) -> tuple[int, int]:
    return u32(plugin, 16), u32(plugin, 20)


@pytest.mark.parametrize("data", [b"hello hello hello hello", b"x", b"\x00" * 1000])
def test_compress_is_zlib(proxy_wasm_host: Host, data: bytes) -> None:
    plugin = run(proxy_wasm_host, [lambda p: call(p, "compress", data)])
    assert slots(plugin, 1) == [OK]
    result = guest_bytes(plugin, 16, 20)
    assert result[:1] == b"\x78"  # zlib header, as Envoy's compress() produces
    assert zlib.decompress(result) == data


def test_uncompress_round_trips(proxy_wasm_host: Host) -> None:
    packed = zlib.compress(b"payload" * 50)
    plugin = run(proxy_wasm_host, [lambda p: call(p, "uncompress", packed)])
    assert slots(plugin, 1) == [OK]
    assert guest_bytes(plugin, 16, 20) == b"payload" * 50


@pytest.mark.parametrize("garbage", [b"not zlib", b""])
def test_uncompress_of_garbage_is_serialization_failure(proxy_wasm_host: Host, garbage: bytes) -> None:
    plugin = run(proxy_wasm_host, [lambda p: call(p, "uncompress", garbage)])
    assert slots(plugin, 1) == [SERIALIZATION_FAILURE]
    assert preset(plugin) == (0, 0)  # written even on failure: nothing was allocated


def test_unknown_name_is_not_found_and_writes_nothing(proxy_wasm_host: Host) -> None:
    plugin = run(proxy_wasm_host, [lambda p: call(p, "expr_create", b"1 + 1")])
    assert slots(plugin, 1) == [NOT_FOUND]
    assert preset(plugin) == (0, 0)  # the data segment zero-fills this scratch area; 0 means untouched
    [record] = proxy_wasm_host.foreign_functions.calls
    assert (record.name, record.status) == ("expr_create", NOT_FOUND)


def test_unknown_name_leaves_the_return_slots_alone(proxy_wasm_host: Host) -> None:
    p = Probe()
    p.on(
        "proxy_on_configure",
        "(i32.store (i32.const 16) (i32.const 77))"
        " (i32.store (i32.const 20) (i32.const 88))" + records([call(p, "nope", b"")]),
    )
    plugin = proxy_wasm_host.load_plugin(build(p))
    assert slots(plugin, 1) == [NOT_FOUND]
    assert preset(plugin) == (77, 88)


@pytest.mark.parametrize("name", ["set_envoy_filter_state", "clear_route_cache", "declare_property"])
def test_envoy_stand_ins_accept_and_record(proxy_wasm_host: Host, name: str) -> None:
    plugin = run(proxy_wasm_host, [lambda p: call(p, name, b"\x0a\x01k")])
    assert slots(plugin, 1) == [OK]
    assert preset(plugin) == (0, 0)
    [record] = proxy_wasm_host.foreign_functions.calls_to(name)
    assert record.args == b"\x0a\x01k" and record.status == OK
    assert record.context_id == plugin.root.id  # type: ignore[attr-defined]


def test_registered_function_result_is_allocated_in_the_plugin(proxy_wasm_host: Host) -> None:
    proxy_wasm_host.foreign_functions["reverse"] = lambda args: args[::-1]
    plugin = run(proxy_wasm_host, [lambda p: call(p, "reverse", b"abc")])
    assert slots(plugin, 1) == [OK]
    ptr, size = preset(plugin)
    assert ptr >= 65536 and size == 3  # the probe's heap starts at 64 KiB
    assert guest_bytes(plugin, 16, 20) == b"cba"


def test_registered_function_status_is_returned_with_its_bytes(proxy_wasm_host: Host) -> None:
    proxy_wasm_host.foreign_functions["picky"] = lambda args: (BAD_ARGUMENT, b"why")
    plugin = run(proxy_wasm_host, [lambda p: call(p, "picky", b"")])
    assert slots(plugin, 1) == [BAD_ARGUMENT]
    assert guest_bytes(plugin, 16, 20) == b"why"


def test_null_return_pointers_are_not_written(proxy_wasm_host: Host) -> None:
    proxy_wasm_host.foreign_functions["echo"] = lambda args: args
    p = Probe()
    p.on(
        "proxy_on_configure",
        "(i32.store (i32.const 16) (i32.const 77))"
        + records(
            [
                call(p, "echo", b"abcd", ret_ptr=0, ret_size=20),
                call(p, "echo", b"abcd", ret_ptr=0, ret_size=0),
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(build(p))
    assert slots(plugin, 2) == [OK, OK]
    assert preset(plugin) == (77, 4)  # size written without a pointer (cpp-host), pointer slot untouched


@pytest.mark.parametrize(("which", "expected"), [("name", IMA), ("args", IMA), ("ret", IMA)])
def test_invalid_memory(proxy_wasm_host: Host, which: str, expected: int) -> None:
    proxy_wasm_host.foreign_functions["echo"] = lambda args: args
    p = Probe()
    bad = f"(i32.const {BAD_PTR}) (i32.const 4)"
    name = bad if which == "name" else p.s("echo")
    args = bad if which == "args" else p.s(b"abcd")
    ret = f"(i32.const {BAD_PTR}) (i32.const 20)" if which == "ret" else "(i32.const 16) (i32.const 20)"
    p.on("proxy_on_configure", records([f"(call $proxy_call_foreign_function {name} {args} {ret})"]))
    plugin = proxy_wasm_host.load_plugin(build(p))
    assert slots(plugin, 1) == [expected]
    assert len(proxy_wasm_host.foreign_functions.calls) == (1 if which == "ret" else 0)
