"""Area ``performance``: per-callback cost and memory per context, with optional budgets.

Figures are reported for every module; a budget given with ``--budget NAME=VALUE`` fails the case
when exceeded. Fuel (wasmtime's instruction-like count, stable across noisy machines) comes from a
second, fuel-metering runtime.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

from ..host.host import Host
from ..host.http import HttpStream
from ..host.options import HostOptions
from ..host.runtime import Runtime
from .cases import CaseFailure, CaseRun, case, check
from .support import STANDARD_REQUESTS

ROUNDS = 60
LOAD_REQUESTS = 600  # the Python client's budget
LOAD_SECONDS = 2.0  # wrk's run per side
OPEN_STREAMS = 50
BUDGETS = {
    "request_us": "mean wall time of all callbacks of one request, µs",
    "callback_us": "p95 wall time of a single callback, µs",
    "context_bytes": "linear memory per open stream context, bytes",
    "request_fuel": "wasmtime fuel used by all callbacks of one request (instruction-like, stable)",
    "envoy_added_p50_ms": "p50 latency the plugin adds in a real Envoy, ms (--backend envoy)",
    "plugin_cpu_us_per_request": "Envoy CPU time the plugin adds per request, µs (--backend envoy)",
}


@case(
    "performance",
    "callback_cost",
    title="Per-callback and per-request cost (wall time), within optional budgets",
    rule="Envoy runs callbacks on the worker thread: their cost is added latency for every request",
    why="Regressions in a plugin's hot path show here before they show in production latency.",
)
def callback_cost(run: CaseRun) -> None:
    host, plugin = run.started()
    vm = plugin.vm
    timings: dict[str, list[float]] = defaultdict(list)
    call = vm.call

    def timed(context: Any, name: str, *args: int) -> int | None:
        start = time.perf_counter_ns()
        try:
            return call(context, name, *args)
        finally:
            timings[name].append((time.perf_counter_ns() - start) / 1000)

    vm.call = timed  # type: ignore[method-assign]
    per_request: list[float] = []
    for i in range(ROUNDS):
        before = sum(sum(v) for v in timings.values())
        host.request(plugin, **STANDARD_REQUESTS[i % len(STANDARD_REQUESTS)])
        per_request.append(sum(sum(v) for v in timings.values()) - before)
    vm.call = call  # type: ignore[method-assign]
    callbacks = {
        name: {
            "calls": len(v),
            "mean_us": round(statistics.fmean(v), 1),
            "p95_us": round(sorted(v)[int(0.95 * (len(v) - 1))], 1),
        }
        for name, v in sorted(timings.items())
    }
    all_calls = sorted(x for v in timings.values() for x in v)
    figures = {
        "request_us": round(statistics.fmean(per_request[5:]), 1),
        "callback_us": round(all_calls[int(0.95 * (len(all_calls) - 1))], 1) if all_calls else 0.0,
    }
    fuel = _fuel_per_request(run)
    if fuel:
        figures["request_fuel"] = sum(fuel.values())
    run.details.update(callbacks=callbacks, figures=figures, fuel=fuel, rounds=ROUNDS)
    _budgets(run, figures)


def _fuel_runtime(cache_dir: Path | None) -> Runtime:
    """The fuel-metering runtime. Unoptimized: fuel counts wasm operators, the same at any optimization
    level, and a big Go module compiles in three quarters of the time (docs/performance.md)."""
    return Runtime(cache_dir=cache_dir, consume_fuel=True, optimize=False)  # cached per engine settings


def _compile_thread(module: Path) -> str:
    return f"proxy-wasm-fuel-compile:{module}"


def start_fuel_compile(module: Path, cache_dir: Path | None) -> None:
    """Compile ``module`` for the fuel-metering runtime into the on-disk cache in a background thread,
    while the other areas run (wasmtime compiles outside the GIL); ``callback_cost`` waits for it."""
    if cache_dir is None or any(t.name == _compile_thread(module) for t in threading.enumerate()):
        return

    def compile_now() -> None:
        runtime = _fuel_runtime(cache_dir)
        try:
            runtime.load(module)
        except Exception:
            pass  # callback_cost compiles again and reports what goes wrong
        finally:
            runtime.close()

    threading.Thread(target=compile_now, name=_compile_thread(module), daemon=True).start()


def _fuel_per_request(run: CaseRun) -> dict[str, int]:
    """Fuel per callback for one request of each standard kind, on a fuel-metering runtime."""
    for thread in threading.enumerate():
        if thread.name == _compile_thread(run.target.module):
            thread.join()  # compiled in the background since collection (start_fuel_compile)
    runtime = _fuel_runtime(run.runtime.cache_dir)
    try:
        options = HostOptions(
            deadline_seconds=run.target.deadline_seconds,
            random_seed=0,
            start_time_ns=run.target.start_time_ns,
            platform=run.target.platform,
            profile=run.target.profile,
        )
        host = Host(runtime, options)
        host.expect_http_call("*").respond_with(200, body=b"ok")
        plugin = run.plugin(host, module=run.target.module)  # compiled for the fuel-metering engine
        plugin.vm.fuel_used.clear()
        for request in STANDARD_REQUESTS:
            host.request(plugin, **request)
        used = {name: value // len(STANDARD_REQUESTS) for name, value in sorted(plugin.vm.fuel_used.items())}
        host.close()
        return used
    except Exception:
        return {}
    finally:
        runtime.close()


@case(
    "performance",
    "context_memory",
    title="Linear memory per open stream context",
    rule="Envoy keeps one context per in-flight stream: memory per context x concurrency = VM size",
    why="A plugin that needs 64 KiB per stream exhausts the 1 GiB VM cap at 16k concurrent streams.",
)
def context_memory(run: CaseRun) -> None:
    host, plugin = run.started()
    host.request(plugin)
    before = plugin.vm.memory.size
    streams: list[HttpStream] = []
    for i in range(OPEN_STREAMS):
        stream = plugin.http_stream()
        stream.on_request_headers(
            [(":authority", "example.com"), (":path", f"/{i}"), (":method", "GET"), (":scheme", "http")],
            end_of_stream=True,
        )
        streams.append(stream)
    grown = plugin.vm.memory.size - before
    for stream in streams:
        stream.complete()
    figures = {"context_bytes": round(grown / OPEN_STREAMS, 1)}
    run.details.update(figures=figures, open_streams=OPEN_STREAMS, memory_bytes=plugin.vm.memory.size)
    _budgets(run, figures)


@case(
    "performance",
    "envoy_latency",
    title="Envoy CPU per request and latency the plugin adds in the chain",
    rule="measured on a real Envoy (envoy backend): Envoy's CPU per request from /proc, latency from wrk",
    why="What operators pay for the filter: Envoy CPU per request and latency, with and without it.",
    backends=("envoy",),
    needs_backend="envoy",
)
def envoy_latency(run: CaseRun) -> None:
    from ..backends.envoy.load import measure

    target = run.target

    def chain(backend: Any) -> list[Any]:
        return [
            backend.load_plugin(
                target.module, plugin_config=target.plugin_config, vm_config=target.vm_config, env=target.env
            )
        ]

    from ..backends.envoy.faults import EnvoyFault

    try:
        report = measure([], requests=LOAD_REQUESTS, seconds=LOAD_SECONDS, connections=16, specs=chain)
    except EnvoyFault as fault:  # a finding on Envoy itself (lifecycle.envoy_survives explains a crash)
        run.details["envoy_fault"] = str(fault)
        raise CaseFailure(fault.summary) from None
    baseline, loaded = report["envoy_without_plugins"], report["envoy_with_plugins"]
    figures = {
        "plugin_cpu_us_per_request": report["plugin_cpu_us_per_request"],
        "envoy_cpu_us_per_request": loaded["envoy_cpu_us_per_request"],
        "envoy_baseline_cpu_us_per_request": baseline["envoy_cpu_us_per_request"],
        "envoy_added_p50_ms": report["added_latency_ms"]["p50_ms"],
        "envoy_added_p99_ms": report["added_latency_ms"]["p99_ms"],
        "envoy_rps": loaded["requests_per_second"],
    }
    run.details.update(
        figures=figures,
        generator=report["generator"],  # which tool produced the latency and requests/s figures
        cpu_source=report["cpu_source"],  # the CPU figures are Envoy's own, whatever the generator
        without_plugin=baseline,
        with_plugin=loaded,
    )
    # Non-2xx answers (an auth plugin refusing the load request) are the plugin's behaviour, not a
    # finding: the figures then measure that path, and the count says so.
    run.details["failed_or_non_2xx_with_plugin"] = loaded["errors"]
    _budgets(run, figures)


def _budgets(run: CaseRun, figures: dict[str, float]) -> None:
    over = [
        f"{name} = {figures[name]} > budget {limit}"
        for name, limit in run.target.budgets.items()
        if name in figures and figures[name] > limit
    ]
    run.details["budgets"] = {k: v for k, v in run.target.budgets.items() if k in figures}
    check(not over, "over budget: " + "; ".join(over))
