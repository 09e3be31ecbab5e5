"""Hostcall area HTTP fields: header and trailer maps, with Envoy's availability rules."""

from __future__ import annotations

import pytest
from wat_builder import BAD_PTR, Probe, build, decode_pairs, guest_bytes, pairs, records, slots, u32

from pytest_proxy_wasm import Host

OK, NOT_FOUND, BAD_ARGUMENT, IMA = 0, 1, 2, 6
REQ_HEADERS, REQ_TRAILERS, RESP_HEADERS, RESP_TRAILERS = 0, 1, 2, 3


class Calls:
    """WAT snippets for the seven map hostcalls, with constants interned in ``probe``."""

    def __init__(self, probe: Probe) -> None:
        self.p = probe

    def _s(self, value: bytes | str | int | None) -> str:
        if value is None:
            return "(i32.const 0) (i32.const 0)"
        if isinstance(value, int):
            return f"(i32.const {value}) (i32.const 4)"
        return self.p.s(value)

    def get(self, map_type: int, key: bytes | str | int, ret: int = 16) -> str:
        return (
            f"(call $proxy_get_header_map_value (i32.const {map_type}) {self._s(key)}"
            f" (i32.const {ret}) (i32.const {ret + 4}))"
        )

    def pairs(self, map_type: int, ret: int = 16) -> str:
        return (
            f"(call $proxy_get_header_map_pairs (i32.const {map_type})"
            f" (i32.const {ret}) (i32.const {ret + 4}))"
        )

    def set_pairs(self, map_type: int, data: bytes | int | None) -> str:
        return f"(call $proxy_set_header_map_pairs (i32.const {map_type}) {self._s(data)})"

    def add(self, map_type: int, key: bytes | str | int, value: bytes | str | int | None) -> str:
        return f"(call $proxy_add_header_map_value (i32.const {map_type}) {self._s(key)} {self._s(value)})"

    def replace(self, map_type: int, key: bytes | str | int, value: bytes | str | int | None) -> str:
        return (
            f"(call $proxy_replace_header_map_value (i32.const {map_type}) {self._s(key)} {self._s(value)})"
        )

    def remove(self, map_type: int, key: bytes | str | int) -> str:
        return f"(call $proxy_remove_header_map_value (i32.const {map_type}) {self._s(key)})"

    def size(self, map_type: int, ret: int = 16) -> str:
        return f"(call $proxy_get_header_map_size (i32.const {map_type}) (i32.const {ret}))"


def probe_in(callback: str, build_calls, abi: str = "0.2.1") -> Probe:  # type: ignore[no-untyped-def]
    probe = Probe(abi)
    probe.on(callback, records(build_calls(Calls(probe))))
    return probe


# -- reading


def test_get_pairs_in_request_headers(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(probe_in("proxy_on_request_headers", lambda c: [c.pairs(0)])), name="h"
    )
    proxy_wasm_host.request(
        plugin, path="/p?q=1", headers=[("X-One", "1"), ("x-dup", "a"), ("x-dup", "b"), ("x-request-id", "r")]
    )
    assert slots(plugin, 1) == [OK]
    # Envoy 1.40's HTTP/1.1 order: codec pseudo-headers, the request's headers, then the HCM's additions
    assert decode_pairs(guest_bytes(plugin, 16, 20)) == [
        (b":authority", b"example.com"),
        (b":path", b"/p?q=1"),
        (b":method", b"GET"),
        (b":scheme", b"http"),
        (b"x-one", b"1"),
        (b"x-dup", b"a"),
        (b"x-dup", b"b"),
        (b"x-request-id", b"r"),
        (b"x-forwarded-proto", b"http"),
    ]


def test_get_value_first_of_duplicates_and_case_insensitive(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            probe_in(
                "proxy_on_request_headers",
                lambda c: [
                    c.get(0, "x-dup", 16),
                    c.get(0, "X-DUP", 24),
                    c.get(0, ":path", 32),
                    c.get(0, "x-empty", 40),
                ],
            )
        ),
        name="h",
    )
    proxy_wasm_host.request(
        plugin, path="/a", headers=[("x-dup", "first"), ("x-dup", "second"), ("x-empty", "")]
    )
    assert slots(plugin, 4) == [OK, OK, OK, OK]
    assert guest_bytes(plugin, 16, 20) == b"first"
    assert guest_bytes(plugin, 24, 28) == b"first"
    assert guest_bytes(plugin, 32, 36) == b"/a"
    assert (u32(plugin, 40), u32(plugin, 44)) == (0, 0)  # empty value: no allocation


@pytest.mark.parametrize(("abi", "status"), [("0.1.0", OK), ("0.2.0", NOT_FOUND), ("0.2.1", NOT_FOUND)])
def test_get_missing_header(proxy_wasm_host: Host, abi: str, status: int) -> None:
    probe = probe_in("proxy_on_request_headers", lambda c: [c.get(0, "x-missing")], abi=abi)
    probe.data[16] = b"\xaa" * 8
    plugin = proxy_wasm_host.load_plugin(build(probe), name="h")
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 1) == [status]
    if status == OK:
        assert (u32(plugin, 16), u32(plugin, 20)) == (0, 0)


def test_get_header_map_size_is_byte_size(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(probe_in("proxy_on_request_headers", lambda c: [c.size(0)])), name="h"
    )
    proxy_wasm_host.request(
        plugin, method="GET", path="/", authority="h", headers={"ab": "cd", "x-request-id": "r"}
    )
    assert slots(plugin, 1) == [OK]
    # :method GET (10) + :path / (6) + :scheme http (11) + :authority h (11) + ab cd (4)
    assert u32(plugin, 16) == 42 + len("x-request-idr") + len("x-forwarded-protohttp")


def test_header_map_size_is_bad_argument_for_callout_maps(proxy_wasm_host: Host) -> None:
    """Envoy getHeaderMapSize uses getMap (writable maps only): types 4-7 are always BAD_ARGUMENT."""
    from pytest_proxy_wasm.host.headers import HeaderMap

    plugin = proxy_wasm_host.load_plugin(
        build(
            probe_in(
                "proxy_on_request_headers",
                lambda c: [c.size(4), c.size(5), c.size(6), c.size(7), c.pairs(6, 24)],
            )
        ),
        name="h",
    )
    plugin.vm.callout_maps = {6: HeaderMap([(b"a", b"b")])}
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 5) == [BAD_ARGUMENT] * 4 + [OK]
    assert decode_pairs(guest_bytes(plugin, 24, 28)) == [(b"a", b"b")]


# -- writing


def test_add_replace_remove_request_headers(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            probe_in(
                "proxy_on_request_headers",
                lambda c: [
                    c.add(0, "X-Added", "1"),
                    c.add(0, "x-added", "2"),
                    c.replace(0, "x-rep", "new"),
                    c.replace(0, "x-new", "fresh"),
                    c.remove(0, "x-gone"),
                    c.remove(0, "x-never-there"),
                    c.add(0, "x-empty", None),
                ],
            )
        ),
        name="h",
    )
    outcome = proxy_wasm_host.request(plugin, headers=[("x-rep", "a"), ("x-rep", "b"), ("x-gone", "1")])
    assert slots(plugin, 7) == [OK] * 7
    upstream = outcome.upstream_request
    assert upstream is not None
    names = [k for k, _ in upstream.headers]
    assert [v for k, v in upstream.headers if k == "x-added"] == ["1", "2"]
    assert [v for k, v in upstream.headers if k == "x-rep"] == ["new"]
    assert upstream.header("x-new") == "fresh"
    assert upstream.header("x-empty") == ""
    assert "x-gone" not in names


def test_add_pseudo_header_goes_first(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(probe_in("proxy_on_request_headers", lambda c: [c.add(0, ":x-pseudo", "1")])), name="h"
    )
    outcome = proxy_wasm_host.request(plugin, headers={"a": "b"})
    assert outcome.upstream_request is not None
    assert [k for k, _ in outcome.upstream_request.headers] == [
        ":authority",
        ":path",
        ":method",
        ":scheme",
        ":x-pseudo",
        "a",
        "x-forwarded-proto",
        "x-request-id",
        "x-envoy-expected-rq-timeout-ms",  # added by the router (the route's timeout)
    ]


def test_set_pairs_replaces_the_map(proxy_wasm_host: Host) -> None:
    new = pairs(
        [(b":method", b"POST"), (b":path", b"/new"), (b"X-Upper", b"v"), (b"dup", b"1"), (b"dup", b"2")]
    )
    plugin = proxy_wasm_host.load_plugin(
        build(probe_in("proxy_on_request_headers", lambda c: [c.set_pairs(0, new)])), name="h"
    )
    outcome = proxy_wasm_host.request(plugin, headers={"old": "x"})
    assert slots(plugin, 1) == [OK]
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.headers == [
        (":method", "POST"),
        (":path", "/new"),
        ("x-upper", "v"),
        ("dup", "1"),
        ("dup", "2"),
        ("x-envoy-expected-rq-timeout-ms", "30000"),  # added by the router
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"\x05\x00\x00\x00",  # count past the end
        pairs([(b"a", b"b")])[:-1],  # truncated
        pairs([(b"a", b"b")]) + b"x",  # trailing bytes
        pairs([(b"a", b"b")]).replace(b"a\x00", b"ax"),  # bad terminator
        None,  # size 0
        b"\x00\x00\x00\x00",
    ],
)
def test_set_pairs_malformed_or_empty_gives_an_empty_map(proxy_wasm_host: Host, data: bytes | None) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(probe_in("proxy_on_response_headers", lambda c: [c.set_pairs(2, data)])), name="h"
    )
    outcome = proxy_wasm_host.request(plugin, upstream_headers=[("x", "y")])
    assert slots(plugin, 1) == [OK]
    assert outcome.response_headers == []


def test_large_header_value(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.on(
        "proxy_on_configure",
        "(drop (call $proxy_get_buffer_bytes (i32.const 7) (i32.const 0) (i32.const -1)"
        " (i32.const 0) (i32.const 4)))",
    )
    key = probe.s("x-big")
    probe.on(
        "proxy_on_request_headers",
        records(
            [
                f"(call $proxy_add_header_map_value (i32.const 0) {key} (i32.load "
                "(i32.const 0)) (i32.load (i32.const 4)))",
                f"(call $proxy_get_header_map_value (i32.const 0) {key} (i32.const 16) (i32.const 20))",
            ]
        ),
    )
    value = "v" * 200_000
    plugin = proxy_wasm_host.load_plugin(build(probe), plugin_config=value, name="h")
    outcome = proxy_wasm_host.request(plugin)
    assert slots(plugin, 2) == [OK, OK]
    assert guest_bytes(plugin, 16, 20) == value.encode()
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.header("x-big") == value


def test_response_header_changes_reach_the_client(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            probe_in(
                "proxy_on_response_headers",
                lambda c: [c.replace(2, ":status", "201"), c.add(2, "x-resp", "1"), c.remove(2, "server")],
            )
        ),
        name="h",
    )
    outcome = proxy_wasm_host.request(plugin, upstream_headers=[("server", "up")])
    assert slots(plugin, 3) == [OK] * 3
    assert outcome.status == 201
    assert outcome.header("x-resp") == "1"
    assert outcome.header("server") is None


# -- bad arguments and memory


@pytest.mark.parametrize("map_type", [8, 9, 0x7FFFFFFF, -1])
def test_bad_map_type(proxy_wasm_host: Host, map_type: int) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            probe_in(
                "proxy_on_request_headers",
                lambda c: [
                    c.get(map_type, "a"),
                    c.pairs(map_type),
                    c.set_pairs(map_type, None),
                    c.add(map_type, "a", "b"),
                    c.replace(map_type, "a", "b"),
                    c.remove(map_type, "a"),
                    c.size(map_type),
                    c.get(map_type, BAD_PTR),
                ],
            )
        ),
        name="h",
    )
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 8) == [BAD_ARGUMENT] * 8


def test_bad_memory(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            probe_in(
                "proxy_on_request_headers",
                lambda c: [
                    c.get(0, BAD_PTR),
                    c.get(0, ":path", ret=BAD_PTR),
                    c.pairs(0, ret=BAD_PTR),
                    c.set_pairs(0, BAD_PTR),
                    c.add(0, BAD_PTR, "v"),
                    c.add(0, "k", BAD_PTR),
                    c.replace(0, "k", BAD_PTR),
                    c.remove(0, BAD_PTR),
                    c.size(0, ret=BAD_PTR),
                ],
            )
        ),
        name="h",
    )
    outcome = proxy_wasm_host.request(plugin)
    assert slots(plugin, 9) == [IMA] * 9
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.header("k") is None


# -- availability (envoy-host-rules section 1)


def test_request_headers_unavailable_in_response_headers(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            probe_in(
                "proxy_on_response_headers",
                lambda c: [
                    c.get(0, ":path"),
                    c.pairs(0, 24),
                    c.add(0, "a", "b"),
                    c.replace(0, "a", "b"),
                    c.remove(0, "a"),
                    c.set_pairs(0, None),
                    c.size(0),
                ],
            )
        ),
        name="h",
    )
    outcome = proxy_wasm_host.request(plugin)
    assert slots(plugin, 7) == [
        BAD_ARGUMENT,
        OK,
        BAD_ARGUMENT,
        BAD_ARGUMENT,
        BAD_ARGUMENT,
        BAD_ARGUMENT,
        BAD_ARGUMENT,
    ]
    assert (u32(plugin, 24), u32(plugin, 28)) == (0, 0)
    assert outcome.status == 200


def test_trailers_unavailable_in_headers(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            probe_in(
                "proxy_on_request_headers",
                lambda c: [
                    c.get(1, "t"),
                    c.pairs(1, 24),
                    c.add(1, "a", "b"),
                    c.get(3, "t"),
                    c.add(3, "a", "b"),
                ],
            )
        ),
        name="h",
    )
    proxy_wasm_host.request(plugin, body="x", trailers=[("t", "1")])
    assert slots(plugin, 5) == [BAD_ARGUMENT, OK, BAD_ARGUMENT, BAD_ARGUMENT, BAD_ARGUMENT]


def test_request_trailers_in_their_callback(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            probe_in(
                "proxy_on_request_trailers",
                lambda c: [c.get(1, "T"), c.add(1, "x-t", "2"), c.get(0, ":path", 24)],
            )
        ),
        name="h",
    )
    outcome = proxy_wasm_host.request(plugin, body="x", trailers=[("t", "1")])
    assert slots(plugin, 3) == [OK, OK, BAD_ARGUMENT]
    assert guest_bytes(plugin, 16, 20) == b"1"
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.trailers == [("t", "1"), ("x-t", "2")]


@pytest.mark.parametrize("map_type", [4, 5, 6, 7])
def test_callout_maps_unavailable_and_never_writable(proxy_wasm_host: Host, map_type: int) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            probe_in(
                "proxy_on_request_headers",
                lambda c: [
                    c.get(map_type, "a"),
                    c.pairs(map_type, 24),
                    c.add(map_type, "a", "b"),
                    c.replace(map_type, "a", "b"),
                    c.remove(map_type, "a"),
                    c.set_pairs(map_type, None),
                ],
            )
        ),
        name="h",
    )
    proxy_wasm_host.request(plugin)
    assert slots(plugin, 6) == [BAD_ARGUMENT, OK] + [BAD_ARGUMENT] * 4
    assert (u32(plugin, 24), u32(plugin, 28)) == (0, 0)


@pytest.mark.parametrize(("abi", "missing"), [("0.1.0", OK), ("0.2.1", NOT_FOUND)])
def test_maps_in_on_log_are_read_only(proxy_wasm_host: Host, abi: str, missing: int) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            probe_in(
                "proxy_on_log",
                lambda c: [
                    c.get(0, ":path", 16),
                    c.get(2, ":status", 24),
                    c.add(0, "a", "b"),
                    c.remove(2, ":status"),
                    c.get(1, "t", 32),
                    c.get(0, "x-missing", 40),
                ],
                abi=abi,
            )
        ),
        name="h",
    )
    proxy_wasm_host.request(plugin, path="/logged", body="x", trailers=[("t", "1")], upstream_status=204)
    assert slots(plugin, 6) == [OK, OK, BAD_ARGUMENT, BAD_ARGUMENT, missing, missing]
    assert guest_bytes(plugin, 16, 20) == b"/logged"
    assert guest_bytes(plugin, 24, 28) == b"204"


def test_root_context_has_no_maps(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(
            probe_in(
                "proxy_on_vm_start",
                lambda c: [c.get(0, ":path"), c.pairs(0, 24), c.add(0, "a", "b"), c.size(2)],
            )
        ),
        name="h",
    )
    assert slots(plugin, 4) == [BAD_ARGUMENT, OK, BAD_ARGUMENT, BAD_ARGUMENT]
