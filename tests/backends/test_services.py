"""Envoy's per-thread VMs and singleton services, on every backend (``--proxy-wasm-backend envoy``/``diff``).

Envoy 1.40 with ``--concurrency 1`` runs a filter plugin's root context on the main thread and on the
worker, so a tick period gives two ticks per period (and two tick-driven callouts); a singleton
``envoy.bootstrap.wasm`` service has one root context on the main thread. Envoy's time is real: each
test waits one and a half tick periods, so each root ticks exactly once.
In diff mode both sides are checked (the diff backend compares exchanges, not ticks).
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from pytest_proxy_wasm import PluginStartError
from pytest_proxy_wasm.backends import Backend

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
SHARED_STATE = FIXTURES / "rust" / "shared_state.wasm"  # root "counter": a 1 s tick, shared "ticks"
PERIOD_MS = 1000
WAIT_MS = 1500  # one tick per root, with half a period of slack for Envoy's real clock


def _pairs(items: list[tuple[bytes, bytes]]) -> bytes:
    out = struct.pack("<I", len(items)) + b"".join(struct.pack("<II", len(k), len(v)) for k, v in items)
    return out + b"".join(k + b"\0" + v + b"\0" for k, v in items)


def _escape(data: bytes) -> str:
    return "".join(f"\\{b:02x}" for b in data)


CALLOUT_HEADERS = _pairs([(b":method", b"GET"), (b":path", b"/tick"), (b":authority", b"ticker")])
TICKER_WAT = f"""
;; Every {PERIOD_MS} ms: log "tick" and call cluster "ticker"; log "answered" when the answer comes.
(module
  (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
  (import "env" "proxy_set_tick_period_milliseconds" (func $period (param i32) (result i32)))
  (import "env" "proxy_http_call"
    (func $call (param i32 i32 i32 i32 i32 i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (data (i32.const 1024) "ticker")
  (data (i32.const 1040) "tick")
  (data (i32.const 1056) "answered")
  (data (i32.const 1088) "{_escape(CALLOUT_HEADERS)}")
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param $n i32) (result i32)
    (local $p i32)
    (local.set $p (global.get $heap))
    (global.set $heap
      (i32.add (global.get $heap) (i32.and (i32.add (local.get $n) (i32.const 7)) (i32.const -8))))
    (local.get $p))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32)
    (drop (call $period (i32.const {PERIOD_MS})))
    (i32.const 1))
  (func (export "proxy_on_tick") (param i32)
    (drop (call $log (i32.const 2) (i32.const 1040) (i32.const 4)))
    (drop (call $call (i32.const 1024) (i32.const 6) (i32.const 1088) (i32.const {len(CALLOUT_HEADERS)})
      (i32.const 0) (i32.const 0) (i32.const 2048) (i32.const 4) (i32.const 5000) (i32.const 512))))
  (func (export "proxy_on_http_call_response") (param i32 i32 i32 i32 i32)
    (drop (call $log (i32.const 2) (i32.const 1056) (i32.const 8)))))
"""


@pytest.fixture(scope="module")
def ticker() -> bytes:
    return bytes(wasmtime.wat2wasm(TICKER_WAT))


def sides(backend: Backend) -> list[Any]:
    """The backends to check: both halves of a diff backend."""
    if backend.name == "diff":
        return [backend.emulator, backend.envoy]  # type: ignore[attr-defined]
    return [backend]


def ticks(side: Any) -> list[str]:
    return sorted(m for m in side.log_messages("info") if m.startswith("shared-state: tick "))


def callouts_made(side: Any, cluster: str) -> int:
    """Callouts the cluster received: the emulator's records, or what Envoy's fake cluster saw."""
    if side.name == "emulator":
        return sum(1 for r in side.callouts.records if r.cluster == cluster)
    return len(side.clusters[cluster].requests)


def test_a_filter_plugin_ticks_on_the_main_thread_and_the_worker(proxy_wasm_backend: Backend) -> None:
    proxy_wasm_backend.load_plugin(SHARED_STATE, root_id="counter", name="counter")
    proxy_wasm_backend.clear_logs()
    proxy_wasm_backend.advance(WAIT_MS)
    for side in sides(proxy_wasm_backend):
        assert ticks(side) == ["shared-state: tick 1", "shared-state: tick 2"], side.name


def test_a_service_ticks_once_in_a_vm_of_its_own(proxy_wasm_backend: Backend) -> None:
    proxy_wasm_backend.load_plugin(SHARED_STATE, root_id="counter", name="counter")
    proxy_wasm_backend.load_service(SHARED_STATE, root_id="counter", vm_id="service", name="svc")
    proxy_wasm_backend.clear_logs()
    proxy_wasm_backend.advance(WAIT_MS)
    for side in sides(proxy_wasm_backend):
        # the filter's two roots count in vm_id "", the service's one root in vm_id "service"
        assert ticks(side) == ["shared-state: tick 1", "shared-state: tick 1", "shared-state: tick 2"]


def test_a_service_with_the_filters_vm_key_shares_the_main_threads_vm(proxy_wasm_backend: Backend) -> None:
    proxy_wasm_backend.load_plugin(SHARED_STATE, root_id="counter", name="counter")
    proxy_wasm_backend.load_service(SHARED_STATE, root_id="counter", name="svc")
    for side in sides(proxy_wasm_backend):
        roots = [m for m in side.log_messages("info") if m.startswith("shared-state: root ")]
        # filter: canary, main, worker (root 1 each); service: canary (root 1), then root 2 in the main
        # thread's VM, next to the filter's root
        assert sorted(roots)[-1] == 'shared-state: root 2 id="counter" role=counter', side.name
        assert roots.count('shared-state: root 2 id="counter" role=counter') == 1, side.name
    proxy_wasm_backend.clear_logs()
    proxy_wasm_backend.advance(WAIT_MS)
    for side in sides(proxy_wasm_backend):
        assert ticks(side) == [f"shared-state: tick {n}" for n in (1, 2, 3)], side.name


def test_tick_driven_callouts_happen_once_per_thread(proxy_wasm_backend: Backend, ticker: bytes) -> None:
    proxy_wasm_backend.expect_http_call("ticker").respond_with(200, body="ok")
    proxy_wasm_backend.load_plugin(ticker, name="ticker")
    proxy_wasm_backend.clear_logs()
    proxy_wasm_backend.advance(WAIT_MS)
    for side in sides(proxy_wasm_backend):
        assert side.log_messages("info").count("tick") == 2, side.name
        assert side.log_messages("info").count("answered") == 2, side.name
        assert callouts_made(side, "ticker") == 2, side.name


def test_a_service_calls_out_once_per_tick(proxy_wasm_backend: Backend, ticker: bytes) -> None:
    proxy_wasm_backend.expect_http_call("ticker").respond_with(200, body="ok")
    proxy_wasm_backend.load_service(ticker, name="ticker", vm_id="service")
    proxy_wasm_backend.clear_logs()
    proxy_wasm_backend.advance(WAIT_MS)
    for side in sides(proxy_wasm_backend):
        assert (side.log_messages("info").count("tick"), side.log_messages("info").count("answered")) == (
            1,
            1,
        )
        assert callouts_made(side, "ticker") == 1, side.name


def test_a_service_is_not_part_of_the_filter_chain(proxy_wasm_backend: Backend) -> None:
    proxy_wasm_backend.load_service(SHARED_STATE, root_id="counter", vm_id="service", name="svc")
    outcome = proxy_wasm_backend.request(upstream_body="plain")
    assert (outcome.status, outcome.response_body, outcome.header("x-request-count")) == (200, b"plain", None)


def test_a_service_refusing_its_configuration_is_a_start_error(proxy_wasm_backend: Backend) -> None:
    refusing = TICKER_WAT.replace(
        "(drop (call $period (i32.const 1000)))\n    (i32.const 1))", "(i32.const 0))"
    )
    assert refusing != TICKER_WAT
    with pytest.raises(PluginStartError) as raised:
        proxy_wasm_backend.load_service(bytes(wasmtime.wat2wasm(refusing)), name="svc")
    assert raised.value.callback == "proxy_on_configure"


@pytest.mark.proxy_wasm(workers=2)
def test_each_worker_has_its_own_root(proxy_wasm_backend: Backend) -> None:
    """``HostOptions.workers`` is Envoy's ``--concurrency``: two workers and the main thread tick."""
    proxy_wasm_backend.load_plugin(SHARED_STATE, root_id="counter", name="counter")
    proxy_wasm_backend.clear_logs()
    proxy_wasm_backend.advance(WAIT_MS)
    for side in sides(proxy_wasm_backend):
        assert ticks(side) == [f"shared-state: tick {n}" for n in (1, 2, 3)], side.name


# -- the service sample (plugins_under_test/rust/service): ticks, shared data, queue and callouts ------

SERVICE = FIXTURES / "rust" / "service.wasm"
STATS = "outbound|8080||stats.svc"


@pytest.mark.parametrize(("how", "roots"), [("load_plugin", 2), ("load_service", 1)])
def test_the_service_sample_ticks_and_reports_once_per_root(
    proxy_wasm_backend: Backend, how: str, roots: int
) -> None:
    proxy_wasm_backend.expect_http_call(STATS).respond_with(204)
    getattr(proxy_wasm_backend, how)(SERVICE, plugin_config={"tick_ms": PERIOD_MS, "cluster": STATS})
    proxy_wasm_backend.clear_logs()
    proxy_wasm_backend.advance(WAIT_MS)
    for side in sides(proxy_wasm_backend):
        info = side.log_messages("info")
        assert sorted(m for m in info if m.startswith("service: tick ")) == [
            f"service: tick {n}" for n in range(1, roots + 1)
        ], side.name
        assert info.count("service: report answered 204") == roots, side.name
        events = [m for m in side.log_messages("debug") if m.startswith("service: event ")]
        assert sorted(events) == [f'service: event "tick {n}"' for n in range(1, roots + 1)], side.name
        assert callouts_made(side, STATS) == roots, side.name


def test_envoy_bootstrap_renders_singleton_services(tmp_path: Path) -> None:
    from pytest_proxy_wasm.backends.envoy import bootstrap
    from pytest_proxy_wasm.backends.spec import PluginSpec

    service = PluginSpec.build(SERVICE, name="svc", root_id="r", vm_id="v", plugin_config={"tick_ms": 5})
    config = bootstrap.render([], [], 1, [], tmp_path / "a.log", services=[(service, tmp_path / "s.wasm")])
    [extension] = config["bootstrap_extensions"]
    assert extension["name"] == "envoy.bootstrap.wasm"
    typed = extension["typed_config"]
    assert (typed["@type"], typed["singleton"]) == (bootstrap.WASM_SERVICE, True)
    assert (typed["config"]["name"], typed["config"]["root_id"], typed["config"]["vm_config"]["vm_id"]) == (
        "svc",
        "r",
        "v",
    )
    assert typed["config"]["configuration"]["value"] == '{"tick_ms":5}'
    assert "bootstrap_extensions" not in bootstrap.render([], [], 1, [], tmp_path / "a.log")


def test_envoy_runs_with_the_hosts_worker_count(tmp_path: Path) -> None:
    from pytest_proxy_wasm import HostOptions
    from pytest_proxy_wasm.backends import make_backend
    from pytest_proxy_wasm.backends.envoy.process import EnvoyProcess

    backend = make_backend("envoy", options=HostOptions(workers=3), workdir=tmp_path)
    try:
        assert backend.workers == 3  # type: ignore[attr-defined]
        process = backend.make_runner(tmp_path / "envoy.json")  # type: ignore[attr-defined]
        assert isinstance(process, EnvoyProcess)
        at = process.command.index("--concurrency")
        assert process.command[at + 1] == "3"
    finally:
        backend.close()
