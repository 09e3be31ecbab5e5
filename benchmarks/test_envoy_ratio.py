"""The same request through Envoy and through the emulator: CPU µs per request on each, and the ratio.

Run: ``python -m pytest benchmarks/test_envoy_ratio.py -s -p no:xdist`` (or any run with
``--benchmark-only``; it starts two Envoys, so it is skipped otherwise). Envoy's figure is its own CPU
per request from ``/proc`` (backends/envoy/load.py; wrk when on PATH), HTTP parsing included; the
emulator's is process CPU time per ``Host.request`` for the request wrk sends. Printed as JSON and
written to ``reports/envoy-ratio.json``; the issue-15 target is ``emulator_us / envoy_cpu_us <= 1``.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path

import pytest

from pytest_proxy_wasm import Host, HostOptions, Runtime
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "fixtures" / "rust" / "headers.wasm"
SECONDS = float(os.environ.get("PYTEST_PROXY_WASM_LOAD_SECONDS", "6"))
EXCHANGES = 2000  # per emulator round
ROUNDS = 3

pytestmark = pytest.mark.skipif(
    envoy_unavailable_reason("envoy") is not None, reason=str(envoy_unavailable_reason("envoy"))
)


@pytest.fixture(autouse=True)
def _only_when_asked(request: pytest.FixtureRequest) -> None:
    """Starts Envoy: runs with ``--benchmark-only`` or when this file is named on the command line."""
    named = any(Path(arg.split("::")[0]).name == Path(__file__).name for arg in request.config.args)
    if not (named or request.config.getoption("benchmark_only", False)):
        pytest.skip("starts Envoy: select benchmarks/test_envoy_ratio.py or pass --benchmark-only")


def emulator_cpu_us_per_request() -> list[float]:
    """Process CPU µs per whole exchange of the request wrk sends (GET /, Host, upstream 200 ``ok``)."""
    runtime = Runtime(cache_dir=None)
    host = Host(runtime, HostOptions())
    try:
        plugin = host.load_plugin(MODULE)
        by_round = []
        for _ in range(ROUNDS):
            start = time.process_time()
            for _ in range(EXCHANGES):
                host.request(
                    plugin,
                    path="/",
                    authority="127.0.0.1",
                    upstream_headers=[("content-type", "text/plain")],
                    upstream_body="ok",
                )
                host.records.clear()
            by_round.append((time.process_time() - start) * 1e6 / EXCHANGES)
        return by_round
    finally:
        host.close()
        runtime.close()


def test_emulator_to_envoy_cpu_ratio() -> None:
    from pytest_proxy_wasm.backends.envoy.load import measure

    envoy = measure([MODULE], seconds=SECONDS, connections=16, rounds=ROUNDS)
    emulator = emulator_cpu_us_per_request()
    envoy_us = envoy["envoy_with_plugins"]["envoy_cpu_us_per_request"]
    plugin_us = envoy["plugin_cpu_us_per_request"]
    emulator_us = statistics.median(emulator)
    report = {
        "plugin": str(MODULE.relative_to(ROOT)),
        "generator": envoy["generator"],
        "envoy_cpu_us_per_request": envoy_us,
        "envoy_cpu_us_per_request_without_plugins": envoy["envoy_without_plugins"][
            "envoy_cpu_us_per_request"
        ],
        "envoy_plugin_cpu_us_per_request": plugin_us,
        "emulator_cpu_us_per_exchange": round(emulator_us, 2),
        "emulator_cpu_us_per_exchange_by_round": [round(x, 2) for x in emulator],
        "emulator_us / envoy_cpu_us": round(emulator_us / envoy_us, 3),
        "cpu_source": "Envoy: /proc/PID/stat; emulator: time.process_time() of this process",
    }
    print(json.dumps(report, indent=2))
    out = ROOT / "reports" / "envoy-ratio.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    assert envoy["envoy_with_plugins"]["errors"] == 0
    assert envoy_us > 0 and emulator_us > 0  # a report with figures, not a speed verdict
