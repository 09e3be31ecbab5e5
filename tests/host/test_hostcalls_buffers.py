"""Hostcall area buffers: proxy_get_buffer_bytes, proxy_get_buffer_status, proxy_set_buffer_bytes."""

from __future__ import annotations

import pytest
from wat_builder import BAD_PTR, Probe, build, guest_bytes, records, slots, u32

from pytest_proxy_wasm import Host

OK, NOT_FOUND, BAD_ARGUMENT, IMA = 0, 1, 2, 6
REQ_BODY, RESP_BODY, DOWNSTREAM, UPSTREAM, CALL_BODY, GRPC, VM_CONFIG, PLUGIN_CONFIG, CALL_DATA = range(9)


def get(buffer_type: int, start: int, max_size: int, ret: int = 16) -> str:
    return (
        f"(call $proxy_get_buffer_bytes (i32.const {buffer_type}) (i32.const {start}) (i32.const {max_size})"
        f" (i32.const {ret}) (i32.const {ret + 4}))"
    )


def status(buffer_type: int, ret: int = 16) -> str:
    return (
        f"(call $proxy_get_buffer_status (i32.const {buffer_type}) (i32.const {ret}) (i32.const {ret + 4}))"
    )


def configure_probe(calls: list[str]) -> Probe:
    probe = Probe()
    probe.on("proxy_on_configure", records(calls))
    return probe


# -- get_buffer_bytes on the plugin configuration


@pytest.mark.parametrize(
    ("start", "max_size", "expected"),
    [
        (0, 100, b"0123456789"),
        (0, 10, b"0123456789"),
        (0, -1, b"0123456789"),  # u32 max: clamped to the end
        (2, 3, b"234"),
        (7, 100, b"789"),
        (9, 1, b"9"),
        (10, 5, b""),  # start == len
        (11, 5, b""),  # start > len: length 0, OK
        (-1, -1, b""),
        (3, 0, b""),
    ],
)
def test_get_plugin_configuration_ranges(
    proxy_wasm_host: Host, start: int, max_size: int, expected: bytes
) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(configure_probe([get(PLUGIN_CONFIG, start, max_size)])), plugin_config="0123456789", name="b"
    )
    assert slots(plugin, 1) == [OK]
    assert guest_bytes(plugin, 16, 20) == expected
    if not expected:
        assert (u32(plugin, 16), u32(plugin, 20)) == (0, 0)


@pytest.mark.parametrize("buffer_type", [9, 10, 0x7FFFFFFF, -1])
def test_bad_buffer_type(proxy_wasm_host: Host, buffer_type: int) -> None:
    probe = configure_probe(
        [
            get(buffer_type, 0, 10),
            status(buffer_type),
            f"(call $proxy_set_buffer_bytes (i32.const {buffer_type}) (i32.const 0) "
            "(i32.const 0) (i32.const 0)"
            " (i32.const 0))",
            get(buffer_type, 0, 10, ret=BAD_PTR),
        ]
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), plugin_config="cfg", name="b")
    assert slots(plugin, 4) == [BAD_ARGUMENT] * 4


def test_bad_return_pointers(proxy_wasm_host: Host) -> None:
    probe = configure_probe(
        [
            get(PLUGIN_CONFIG, 0, 10, ret=BAD_PTR),
            status(PLUGIN_CONFIG, ret=BAD_PTR),
            get(PLUGIN_CONFIG, 0, 10, ret=2 * 65536 - 4),
        ]
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), plugin_config="cfg", name="b")
    assert slots(plugin, 3) == [IMA, IMA, IMA]


def test_buffer_status(proxy_wasm_host: Host) -> None:
    probe = configure_probe([status(PLUGIN_CONFIG, 16), status(VM_CONFIG, 24)])
    plugin = proxy_wasm_host.load_plugin(build(probe), plugin_config="12345", vm_config="abc", name="b")
    assert slots(plugin, 2) == [OK, OK]
    assert [u32(plugin, a) for a in (16, 20, 24, 28)] == [5, 0, 3, 0]


def test_large_plugin_configuration(proxy_wasm_host: Host) -> None:
    config = bytes(range(256)) * 4096  # 1 MiB: the allocator grows memory
    probe = configure_probe([get(PLUGIN_CONFIG, 0, -1), status(PLUGIN_CONFIG, 24)])
    plugin = proxy_wasm_host.load_plugin(build(probe), plugin_config=config, name="big")
    assert slots(plugin, 2) == [OK, OK]
    assert guest_bytes(plugin, 16, 20) == config
    assert u32(plugin, 24) == len(config)


def test_plugin_configuration_only_while_configuring(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on("proxy_on_vm_start", records([get(PLUGIN_CONFIG, 0, 10), status(PLUGIN_CONFIG)]))
    probe.on("proxy_on_request_headers", records([get(PLUGIN_CONFIG, 0, 10), status(PLUGIN_CONFIG)], 2))
    plugin = proxy_wasm_host.load_plugin(build(probe), plugin_config="cfg", name="b")
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 4) == [NOT_FOUND] * 4


def test_vm_configuration_always_readable(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on("proxy_on_vm_start", records([get(VM_CONFIG, 0, 100, ret=16)]))
    probe.on("proxy_on_request_headers", records([get(VM_CONFIG, 1, 100, ret=24)], 1))
    plugin = proxy_wasm_host.load_plugin(build(probe), vm_config="vmcfg", name="b")
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 2) == [OK, OK]
    assert guest_bytes(plugin, 16, 20) == b"vmcfg"
    assert guest_bytes(plugin, 24, 28) == b"mcfg"


def test_read_only_buffers_reject_set(proxy_wasm_host: Host) -> None:
    probe = Probe()
    data = probe.s("new")
    probe.on(
        "proxy_on_configure",
        records(
            [
                f"(call $proxy_set_buffer_bytes (i32.const {PLUGIN_CONFIG}) (i32.const 0) "
                f"(i32.const 10) {data})",
                f"(call $proxy_set_buffer_bytes (i32.const {VM_CONFIG}) (i32.const 0) (i32.const 10) {data})",
                f"(call $proxy_set_buffer_bytes (i32.const {PLUGIN_CONFIG}) (i32.const 0) (i32.const 10)"
                f" (i32.const {BAD_PTR}) (i32.const 3))",
                get(PLUGIN_CONFIG, 0, 100),
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), plugin_config="cfg", vm_config="vm", name="b")
    assert slots(plugin, 4) == [BAD_ARGUMENT, BAD_ARGUMENT, IMA, OK]
    assert guest_bytes(plugin, 16, 20) == b"cfg"


@pytest.mark.parametrize("buffer_type", [CALL_BODY, PLUGIN_CONFIG])
def test_unavailable_buffers_are_not_found_in_a_stream(proxy_wasm_host: Host, buffer_type: int) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_request_headers",
        records(
            [
                get(buffer_type, 0, 10),
                status(buffer_type),
                f"(call $proxy_set_buffer_bytes (i32.const {buffer_type})"
                f" (i32.const 0) (i32.const 0) {probe.s('x')})",
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="b")
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 3) == [NOT_FOUND] * 3


@pytest.mark.parametrize("buffer_type", [REQ_BODY, RESP_BODY, DOWNSTREAM, UPSTREAM])
@pytest.mark.parametrize("callback", ["proxy_on_vm_start", "proxy_on_request_headers"])
def test_data_buffers_outside_their_callback_are_empty(
    proxy_wasm_host: Host, buffer_type: int, callback: str
) -> None:
    """Envoy getBuffer: ``buffer_.set(nullptr)`` is an empty buffer (OK, 0 bytes) that rejects writes."""
    probe = Probe()
    probe.on(
        callback,
        records(
            [
                get(buffer_type, 0, 10),
                status(buffer_type, 24),
                f"(call $proxy_set_buffer_bytes (i32.const {buffer_type}) (i32.const 0)"
                f" (i32.const 0) {probe.s('x')})",
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="b")
    proxy_wasm_host.request(plugin, body="request body", upstream_body="response body")
    assert slots(plugin, 3) == [OK, OK, BAD_ARGUMENT]
    assert [u32(plugin, a) for a in (16, 20, 24, 28)] == [0, 0, 0, 0]


# -- HTTP bodies


def body_probe(side: str, start: int, length: int, data: bytes) -> Probe:
    probe = Probe()
    buffer_type = REQ_BODY if side == "request" else RESP_BODY
    probe.on(
        f"proxy_on_{side}_body",
        records(
            [
                get(buffer_type, 0, -1, ret=16),
                f"(call $proxy_set_buffer_bytes (i32.const {buffer_type}) (i32.const {start}) "
                f"(i32.const {length})"
                f" {probe.s(data) if data else '(i32.const 0) (i32.const 0)'})",
                status(buffer_type, 24),
            ]
        ),
    )
    return probe


@pytest.mark.parametrize(
    ("start", "length", "data", "expected", "result"),
    [
        (0, 0, b"X-", b"X-hello", OK),  # (0, 0) prepends
        (0, 5, b"bye", b"bye", OK),  # (0, >=len) replaces everything
        (0, 100, b"bye", b"bye", OK),
        (0, 2, b"J", b"Jllo", OK),  # (0, n) replaces the first n bytes
        (5, 0, b"!", b"hello!", OK),  # start >= len appends
        (99, 7, b"!", b"hello!", OK),
        (2, 1, b"X", b"hello", BAD_ARGUMENT),  # 0 < start < len
        (0, 5, b"", b"", OK),  # drain all
    ],
)
@pytest.mark.parametrize("side", ["request", "response"])
def test_set_body_bytes(
    proxy_wasm_host: Host, side: str, start: int, length: int, data: bytes, expected: bytes, result: int
) -> None:
    plugin = proxy_wasm_host.load_plugin(build(body_probe(side, start, length, data)), name="b")
    # trailers end each body in one frame (no separate end-of-stream frame to overwrite the probe)
    outcome = proxy_wasm_host.request(
        plugin, body="hello", trailers=[("x-t", "1")], upstream_body="hello", upstream_trailers=[("x-t", "1")]
    )
    assert slots(plugin, 3) == [OK, result, OK]
    assert guest_bytes(plugin, 16, 20) == b"hello"
    assert u32(plugin, 24) == len(expected)
    if side == "request":
        assert outcome.upstream_request is not None
        assert outcome.upstream_request.body == expected
    else:
        assert outcome.response_body == expected


def test_body_get_ranges_and_bad_memory(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_request_body",
        records(
            [
                get(REQ_BODY, 6, 5, ret=16),
                get(REQ_BODY, 100, 5, ret=24),
                get(REQ_BODY, 0, 5, ret=BAD_PTR),
                "(call $proxy_set_buffer_bytes (i32.const 0) (i32.const 0) (i32.const 0) "
                f"(i32.const {BAD_PTR})"
                " (i32.const 1))",
            ]
        ),
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="b")
    outcome = proxy_wasm_host.request(plugin, body="hello world", trailers=[("x-t", "1")])
    assert slots(plugin, 4) == [OK, OK, IMA, IMA]
    assert guest_bytes(plugin, 16, 20) == b"world"
    assert (u32(plugin, 24), u32(plugin, 28)) == (0, 0)
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.body == b"hello world"


def test_large_body_is_read_whole(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on("proxy_on_request_body", records([get(REQ_BODY, 0, -1, ret=16)]))
    plugin = proxy_wasm_host.load_plugin(build(probe), name="b")
    body = b"z" * 300_000
    proxy_wasm_host.request(plugin, body=body, trailers=[("x-t", "1")])
    assert slots(plugin, 1) == [OK]
    assert guest_bytes(plugin, 16, 20) == body
