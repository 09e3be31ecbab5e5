"""Load and start-up of the real Envoy backend (``pytest benchmarks/test_envoy_load.py -s``).

Plain reports, printed as JSON and written to ``reports/envoy-load.json``: requests/s and p50/p90/p99
latency with and without the plugin chain, the chain's added latency, and Envoy start to first answer.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pytest_proxy_wasm.plugin import envoy_unavailable_reason

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "fixtures" / "rust" / "headers.wasm"
REQUESTS = int(os.environ.get("PYTEST_PROXY_WASM_LOAD_REQUESTS", "2000"))

pytestmark = pytest.mark.skipif(
    envoy_unavailable_reason("envoy") is not None, reason=str(envoy_unavailable_reason("envoy"))
)


def _write(name: str, data: dict[str, object]) -> None:
    print(json.dumps(data, indent=2))
    out = ROOT / "reports" / f"envoy-{name}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(data, indent=2) + "\n")


def test_load_with_and_without_the_chain() -> None:
    from pytest_proxy_wasm.backends.envoy.load import measure

    report = measure([MODULE], requests=REQUESTS, seconds=20.0, connections=8)
    for side in ("envoy_without_plugins", "envoy_with_plugins"):
        assert report[side]["errors"] == 0
        assert report[side]["requests"] == REQUESTS
        assert 0 < report[side]["p50_ms"] <= report[side]["p90_ms"] <= report[side]["p99_ms"]
    assert set(report["added_latency_ms"]) == {"p50_ms", "p90_ms", "p99_ms", "mean_ms"}
    _write("load", report)


def test_start_to_first_answer() -> None:
    from pytest_proxy_wasm.backends.envoy.load import startup

    report = startup(MODULE, runs=int(os.environ.get("PYTEST_PROXY_WASM_STARTUP_RUNS", "10")))
    assert report["median_s"] < 5.0  # the target is 2 s; this bound only catches a broken start
    _write("startup", report)
