"""Load and start-up of the real Envoy backend (``pytest benchmarks/test_envoy_load.py -s``).

Plain reports, printed as JSON and written to ``reports/envoy-load*.json``: Envoy's own CPU time per
request with and without the plugin chain and their difference (the plugin's CPU cost per request,
from /proc/PID/stat, whatever drives the load), requests/s and p50/p90/p99 latency from the generator
the report names (wrk when on PATH, else the Python client), and Envoy start to first answer.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from pytest_proxy_wasm.plugin import envoy_unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "fixtures" / "rust" / "headers.wasm"
REQUESTS = int(os.environ.get("PYTEST_PROXY_WASM_LOAD_REQUESTS", "2000"))
SECONDS = float(os.environ.get("PYTEST_PROXY_WASM_LOAD_SECONDS", "6"))  # per side, over the rounds
ROUNDS = 3

pytestmark = pytest.mark.skipif(
    envoy_unavailable_reason("envoy") is not None, reason=str(envoy_unavailable_reason("envoy"))
)


def _write(name: str, data: dict[str, object]) -> None:
    print(json.dumps(data, indent=2))
    out = ROOT / "reports" / f"envoy-{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")


def _check(report: dict[str, dict[str, float]], generator: str) -> None:
    for side in ("envoy_without_plugins", "envoy_with_plugins"):
        figures = report[side]
        assert figures["errors"] == 0
        assert figures["generator"].startswith(generator)
        assert 0 < figures["p50_ms"] <= figures["p90_ms"] <= figures["p99_ms"]
        # Envoy counted what the generator sent (wrk may stop with requests in flight: within 1%+connections)
        assert abs(figures["envoy_requests"] - figures["requests"]) <= figures["requests"] // 100 + 16
        assert figures["envoy_cpu_us_per_request"] > 0
        assert len(figures["envoy_cpu_us_per_request_by_round"]) == figures["rounds"] == ROUNDS
    assert report["plugin_cpu_us_per_request"] == pytest.approx(
        report["envoy_with_plugins"]["envoy_cpu_us_per_request"]
        - report["envoy_without_plugins"]["envoy_cpu_us_per_request"],
        abs=0.011,
    )
    assert set(report["added_latency_ms"]) == {"p50_ms", "p90_ms", "p99_ms", "mean_ms"}


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not on PATH (Debian: apt-get install wrk)")
def test_load_with_and_without_the_chain_driven_by_wrk() -> None:
    from pytest_proxy_wasm.backends.envoy.load import measure

    report = measure([MODULE], seconds=SECONDS, connections=16, generator="wrk", rounds=ROUNDS)
    _check(report, "wrk")
    _write("load", report)


def test_load_with_and_without_the_chain_driven_by_the_python_client() -> None:
    """The fallback generator: its latency is mostly its own, but Envoy's CPU per request is Envoy's."""
    from pytest_proxy_wasm.backends.envoy.load import measure

    report = measure(
        [MODULE], requests=REQUESTS, seconds=4 * SECONDS, connections=8, generator="python", rounds=ROUNDS
    )
    _check(report, "python")
    for side in ("envoy_without_plugins", "envoy_with_plugins"):
        assert report[side]["requests"] == REQUESTS // ROUNDS * ROUNDS
    _write("load-python-client", report)


def test_start_to_first_answer() -> None:
    from pytest_proxy_wasm.backends.envoy.load import startup

    report = startup(MODULE, runs=int(os.environ.get("PYTEST_PROXY_WASM_STARTUP_RUNS", "10")))
    assert report["median_s"] < 5.0  # the target is 2 s; this bound only catches a broken start
    _write("startup", report)
