"""proxy_set_property then proxy_get_property, on every backend (docs/fidelity.md, "Properties").

Envoy 1.40 stores a set property under the filter-state key ``wasm.`` + the raw path, but reads back
only ``wasm.`` + the path's first segment: a property set with a multi-segment path is never found
again. The filter state lives as long as the stream: every request starts without the properties."""

from __future__ import annotations

from wat_builder import Probe, build

from pytest_proxy_wasm.backends import Backend

STATUS = 8  # the last hostcall's status
RET_PTR, RET_SIZE = 16, 20


def status_line(probe: Probe, label: str, call: str) -> str:
    """Calls ``call`` and logs ``<label>: <status digit>``; the digit is written into the constant."""
    text = f"{label}: ?"
    digit = probe.ptr(text) + len(text) - 1
    return (
        f"(i32.store (i32.const {STATUS}) {call})\n"
        f"    (i32.store8 (i32.const {digit}) (i32.add (i32.const 48) (i32.load (i32.const {STATUS}))))\n"
        f"    {probe.log(text)}"
    )


def set_property(probe: Probe, label: str, path: bytes, value: str) -> str:
    return status_line(probe, f"set {label}", f"(call $proxy_set_property {probe.s(path)} {probe.s(value)})")


def get_property(probe: Probe, label: str, path: bytes) -> str:
    """Logs the status, then the value when the status is OK."""
    call = f"(call $proxy_get_property {probe.s(path)} (i32.const {RET_PTR}) (i32.const {RET_SIZE}))"
    value = (
        f"(if (i32.eqz (i32.load (i32.const {STATUS}))) (then (drop (call $proxy_log (i32.const 2)"
        f" (i32.load (i32.const {RET_PTR})) (i32.load (i32.const {RET_SIZE}))))))"
    )
    return status_line(probe, f"get {label}", call) + "\n    " + value


def property_probe() -> bytes:
    probe = Probe()
    probe.on(
        "proxy_on_request_headers",
        "\n    ".join(
            [
                get_property(probe, "before set", b"probe_one"),
                set_property(probe, "probe_one", b"probe_one", "v1"),
                get_property(probe, "probe_one", b"probe_one"),
                get_property(probe, "probe_one/sub", b"probe_one\0sub"),
                get_property(probe, "probe_one/", b"probe_one\0"),
                set_property(probe, "probe/key", b"probe\0key", "v2"),
                get_property(probe, "probe/key", b"probe\0key"),
                get_property(probe, "probe", b"probe"),
                set_property(probe, "probe_two/", b"probe_two\0", "v3"),
                get_property(probe, "probe_two", b"probe_two"),
                get_property(probe, "probe_two/", b"probe_two\0"),
                set_property(probe, "probe_one again", b"probe_one", "v4"),
            ]
        ),
    )
    probe.on("proxy_on_response_headers", get_property(probe, "probe_one in response", b"probe_one"))
    probe.on("proxy_on_log", get_property(probe, "probe_one in log", b"probe_one"))
    return build(probe)


OK, NOT_FOUND = 0, 1
EXPECTED = [
    f"get before set: {NOT_FOUND}",
    f"set probe_one: {OK}",
    f"get probe_one: {OK}",
    "v1",
    f"get probe_one/sub: {NOT_FOUND}",  # a set value is bytes: nothing below it
    f"get probe_one/: {OK}",  # one trailing NUL is ignored when reading
    "v1",
    f"set probe/key: {OK}",
    f"get probe/key: {NOT_FOUND}",  # stored as "wasm.probe\0key", looked up as "wasm.probe"
    f"get probe: {NOT_FOUND}",
    f"set probe_two/: {OK}",
    f"get probe_two: {NOT_FOUND}",  # stored with its trailing NUL
    f"get probe_two/: {NOT_FOUND}",
    f"set probe_one again: {OK}",
    f"get probe_one in response: {OK}",  # the stream's filter state lasts the whole stream
    "v4",
    f"get probe_one in log: {OK}",
    "v4",
]


def test_set_property_is_read_back_by_its_first_segment_only(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(property_probe())
    for _ in range(2):  # the second request starts without the first one's properties
        outcome = proxy_wasm_backend.request(plugin)
        assert outcome.status == 200
        assert [record.message for record in outcome.logs] == EXPECTED
