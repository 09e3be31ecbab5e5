"""Every hostile module of fixtures/hostile/manifest.json produces its named cause, within bounds.

One test per module: a load error, a start error naming the callback, or a runtime failure of a named
kind; allocator failures are diagnostics; the session goes on after each (issue 8, items 3 and 4).
"""

from __future__ import annotations

import json
import struct
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from wat_builder import Probe, build, slot

from pytest_proxy_wasm import Host, PluginStartError
from pytest_proxy_wasm.errors import MissingImportsError, ModuleLoadError, UnknownAbiVersionError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MANIFEST = json.loads((FIXTURES / "hostile" / "manifest.json").read_text())["modules"]
DEADLINE = 0.5
MEMORY_LIMIT = 64 << 20
CALLOUT_CLUSTER = "outbound|5000||sealos.hub"

pytestmark = pytest.mark.proxy_wasm(deadline_seconds=DEADLINE, memory_limit=MEMORY_LIMIT)


def path_of(name: str) -> Path:
    entry = next(e for e in MANIFEST if e["name"] == name)
    return FIXTURES / entry["file"]


def load_error(kind: type[Exception], reason: str) -> Callable[[Host, Path], None]:
    def check(host: Host, path: Path) -> None:
        with pytest.raises(kind) as info:
            host.load_plugin(path)
        assert type(info.value) is kind, f"{type(info.value).__name__}: {info.value}"
        assert reason in str(info.value)
        assert path.name in str(info.value)  # the error names the module

    return check


def start_error(callback: str) -> Callable[[Host, Path], None]:
    def check(host: Host, path: Path) -> None:
        with pytest.raises(PluginStartError) as info:
            host.load_plugin(path, name="hostile")
        assert info.value.callback == callback
        assert info.value.reason.startswith("unreachable:"), info.value.reason
        assert callback in str(info.value)

    return check


def stream_failure(callback: str, kind: str, text: str = "") -> Callable[[Host, Path], None]:
    def check(host: Host, path: Path) -> None:
        plugin = host.load_plugin(path, name="hostile")
        outcome = host.request(plugin, body="x")
        failure = plugin.vm.failure
        assert failure is not None, "the plugin was expected to fail"
        assert (failure.callback, failure.kind) == (callback, kind), failure
        assert text in failure.message
        assert outcome.status == 503 and outcome.details == "wasm_fail_stream"
        assert outcome.plugin_failed == str(failure)
        assert not outcome.hung

    return check


def check_missing_imports(host: Host, path: Path) -> None:
    with pytest.raises(MissingImportsError) as info:
        host.load_plugin(path)
    assert info.value.missing == ["env.proxy_does_not_exist", "env.proxy_also_missing"]
    assert "env.proxy_does_not_exist" in str(info.value) and "env.proxy_also_missing" in str(info.value)


def allocator_failure(result: str) -> Callable[[Host, Path], None]:
    def check(host: Host, path: Path) -> None:
        plugin = host.load_plugin(path, name="hostile")
        outcome = host.request(plugin, path="/p")
        assert plugin.vm.failure is None  # a failed allocation is the hostcall's IMA, not a trap
        assert outcome.status == 200
        warnings = [d for d in host.diagnostics if f"allocator returned {result}" in d]
        assert warnings, host.diagnostics
        assert "INVALID_MEMORY_ACCESS" in warnings[0]
        assert any(r.level >= 3 and f"allocator returned {result}" in r.message for r in host.logs)

    return check


def check_loop(host: Host, path: Path) -> None:
    start = time.monotonic()
    stream_failure("proxy_on_request_headers", "deadline_exceeded", "after 0.5 s")(host, path)
    elapsed = time.monotonic() - start
    assert DEADLINE * 0.8 <= elapsed < DEADLINE + 2.0, elapsed


def check_huge_headers(host: Host, path: Path) -> None:
    plugin = host.load_plugin(path, name="hostile")
    outcome = host.request(plugin)
    assert getattr(plugin.vm, "harness_fault", None) is None
    failure = plugin.vm.failure
    if failure is None:  # no header-map cap: all 64 headers of 64 KiB reach the upstream
        assert outcome.status == 200 and outcome.upstream_request is not None
        huge = [v for k, v in outcome.upstream_request.headers if k.startswith("x-huge-")]
        assert len(huge) == 64 and {len(v) for v in huge} == {64 * 1024}
    else:  # a cap is a named limit, never a harness fault
        assert failure.kind not in ("harness_fault", "error"), failure
        assert outcome.status == 503


def check_tick(host: Host, path: Path) -> None:
    plugin = host.load_plugin(path, name="hostile")
    assert plugin.vm.failure is None
    host.advance(10)
    failure = plugin.vm.failure
    assert failure is not None and (failure.callback, failure.kind) == ("proxy_on_tick", "unreachable")
    host.advance(100)  # ticks of a failed VM are skipped, nothing raises
    outcome = host.request(plugin)
    assert outcome.status == 503 and outcome.details == "wasm_fail_stream"


def check_http_call_response(host: Host, path: Path) -> None:
    host.expect_http_call(CALLOUT_CLUSTER).respond_with(200, body="ok")
    plugin = host.load_plugin(path, name="hostile")
    outcome = host.request(plugin)
    failure = plugin.vm.failure
    assert failure is not None, outcome
    assert (failure.callback, failure.kind) == ("proxy_on_http_call_response", "unreachable")
    assert [c.cluster for c in host.http_calls] == [CALLOUT_CLUSTER]
    assert outcome.hung or outcome.status == 503  # paused stream, never resumed
    assert host.request(plugin).details == "wasm_fail_stream"


def check_on_log(host: Host, path: Path) -> None:
    plugin = host.load_plugin(path, name="hostile")
    outcome = host.request(plugin)
    assert outcome.status == 200  # on_log runs after the response
    failure = plugin.vm.failure
    assert failure is not None and (failure.callback, failure.kind) == ("proxy_on_log", "unreachable")


def check_proxy_log_misuse(host: Host, path: Path) -> None:
    plugin = host.load_plugin(path, name="hostile")
    outcome = host.request(plugin)
    assert outcome.status == 200 and plugin.vm.failure is None  # the plugin only gets the status
    assert [(m.hostcall, m.status, m.callback) for m in outcome.misuse] == [
        ("proxy_log", "INVALID_MEMORY_ACCESS", "proxy_on_request_headers")
    ]
    assert any("proxy_log" in d and "INVALID_MEMORY_ACCESS" in d for d in outcome.diagnostics)


EXPECTED: dict[str, Callable[[Host, Path], None]] = {
    "hostile-huge-header-map": check_huge_headers,
    "hostile-loop-request-headers": check_loop,
    "hostile-malloc-out-of-bounds": allocator_failure("0xffffff00"),
    "hostile-malloc-returns-zero": allocator_failure("0x0"),
    "hostile-misuse-proxy-log": check_proxy_log_misuse,
    "hostile-memory-grow-unbounded": stream_failure(
        "proxy_on_request_headers", "memory_limit", "memory limit 64 MiB reached"
    ),
    "hostile-no-abi-marker": load_error(UnknownAbiVersionError, "missing Proxy-Wasm ABI version"),
    "hostile-not-wasm": load_error(ModuleLoadError, "not a WebAssembly binary"),
    "hostile-recursion-unbounded": stream_failure("proxy_on_request_headers", "stack_overflow"),
    "hostile-trap-configure": start_error("proxy_on_configure"),
    "hostile-trap-http-call-response": check_http_call_response,
    "hostile-trap-on-log": check_on_log,
    "hostile-trap-request-body": stream_failure("proxy_on_request_body", "unreachable"),
    "hostile-trap-request-headers": stream_failure("proxy_on_request_headers", "unreachable"),
    "hostile-trap-response-headers": stream_failure("proxy_on_response_headers", "unreachable"),
    "hostile-trap-tick": check_tick,
    "hostile-trap-vm-start": start_error("proxy_on_vm_start"),
    "hostile-truncated": load_error(ModuleLoadError, "invalid WebAssembly"),
    "hostile-unknown-import": check_missing_imports,
    "hostile-wrong-signature-export": load_error(
        ModuleLoadError, "Bad function signature for: proxy_on_request_headers"
    ),
}
NAMES = [e["name"] for e in MANIFEST]


def test_every_hostile_module_has_an_expected_cause() -> None:
    assert sorted(EXPECTED) == sorted(NAMES)
    assert all(path_of(n).is_file() for n in NAMES)


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_hostile_module_named_cause(proxy_wasm_host: Host, name: str) -> None:
    healthy = Probe()
    healthy.on("proxy_on_request_headers", healthy.log("healthy"))
    other = proxy_wasm_host.load_plugin(build(healthy), name="healthy")
    start = time.monotonic()
    EXPECTED[name](proxy_wasm_host, path_of(name))
    assert time.monotonic() - start < DEADLINE + 5.0
    # The host keeps serving the other plugin whatever the hostile one did.
    outcome = proxy_wasm_host.request(other)
    assert outcome.status == 200 and other.vm.failure is None
    assert "healthy" in outcome.log_messages()


def test_allocator_returning_zero_gives_the_hostcall_ima(proxy_wasm_host: Host) -> None:
    """The status the hostile fixtures drop, recorded: the hostcall returns INVALID_MEMORY_ACCESS (6)."""
    probe = Probe(allocator=None)
    probe.extra.append('  (func (export "malloc") (param i32) (result i32) (i32.const 0))')
    call = f"(call $proxy_get_header_map_value (i32.const 0) {probe.s(':path')} (i32.const 0) (i32.const 4))"
    probe.on("proxy_on_request_headers", f"(i32.store (i32.const {slot(0)}) {call})")
    plugin = proxy_wasm_host.load_plugin(build(probe), name="zero-malloc")
    proxy_wasm_host.request(plugin, path="/p")
    assert struct.unpack("<I", plugin.vm.memory.read(slot(0), 4))[0] == 6
    assert plugin.vm.failure is None
