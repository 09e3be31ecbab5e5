"""Hostcall area properties: proxy_get_property / proxy_set_property (Envoy attribute paths)."""

from __future__ import annotations

import struct

import pytest
from wat_builder import BAD_PTR, Probe, build, guest_bytes, records, slots

from pytest_proxy_wasm import Host

OK, NOT_FOUND, SERIALIZATION_FAILURE, IMA = 0, 1, 3, 6


def get(probe: Probe, path: bytes, ret: int) -> str:
    where = probe.s(path) if path else "(i32.const 0) (i32.const 0)"
    return f"(call $proxy_get_property {where} (i32.const {ret}) (i32.const {ret + 4}))"


def test_plugin_properties_in_root(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_vm_start",
        records(
            [
                get(probe, b"plugin_name", 16),
                get(probe, b"plugin_root_id", 24),
                get(probe, b"plugin_vm_id", 32),
                get(probe, b"request\0path", 40),
                get(probe, b"no_such_thing", 48),
                get(probe, b"", 56),
                get(probe, b"plugin_name", BAD_PTR),
                f"(call $proxy_get_property (i32.const {BAD_PTR}) (i32.const 4)"
                " (i32.const 16) (i32.const 20))",
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="props", root_id="rid", vm_id="vmid")
    assert slots(plugin, 8) == [OK, OK, OK, NOT_FOUND, NOT_FOUND, SERIALIZATION_FAILURE, IMA, IMA]
    assert guest_bytes(plugin, 16, 20) == b"props"
    assert guest_bytes(plugin, 24, 28) == b"rid"
    assert guest_bytes(plugin, 32, 36) == b"vmid"


def test_stream_properties(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_request_headers",
        records(
            [
                get(probe, b"request\0path", 16),
                get(probe, b"request\0method", 24),
                get(probe, b"request\0url_path\0", 32),
                get(probe, b"request\0headers\0x-a", 40),
                get(probe, b"source\0port", 48),
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="props")
    proxy_wasm_host.request(plugin, method="POST", path="/a/b?c=d", headers=[("x-a", "1"), ("x-a", "2")])
    assert slots(plugin, 5) == [OK] * 5
    assert guest_bytes(plugin, 16, 20) == b"/a/b?c=d"
    assert guest_bytes(plugin, 24, 28) == b"POST"
    assert guest_bytes(plugin, 32, 36) == b"/a/b"
    assert guest_bytes(plugin, 40, 44) == b"1,2"
    assert struct.unpack("<q", guest_bytes(plugin, 48, 52)) == (45678,)


@pytest.mark.parametrize("value", [b"v", b"", b"x" * 70_000])
def test_set_property_then_get(proxy_wasm_host: Host, value: bytes) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_configure",
        "(drop (call $proxy_get_buffer_bytes (i32.const 7) (i32.const 0) (i32.const -1)"
        " (i32.const 0) (i32.const 4)))",
    )
    probe.on("proxy_on_vm_start", records([f"(call $proxy_set_property {probe.s('my')} {probe.s('x')})"], 4))
    probe.on(
        "proxy_on_request_headers",
        records(
            [
                f"(call $proxy_set_property {probe.s('my')} (i32.load (i32.const 0)) (i32.load "
                "(i32.const 4)))",
                get(probe, b"my", 16),
                f"(call $proxy_set_property {probe.s('my')} (i32.const {BAD_PTR}) (i32.const 2))",
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), plugin_config=value, name="props")
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 3) == [OK, OK, IMA]
    assert slots(plugin, 1, first=4) == [NOT_FOUND]  # no stream, no filter state
    assert guest_bytes(plugin, 16, 20) == value
