"""Load figures: wrk's output read right, Envoy's CPU read from /proc, the generator named."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_proxy_wasm.backends.envoy import load
from pytest_proxy_wasm.backends.envoy.load import cpu_seconds, parse_wrk
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

HEADERS = Path(__file__).resolve().parents[2] / "fixtures" / "rust" / "headers.wasm"

WRK_OUTPUT = """Running 1s test @ http://127.0.0.1:18777/
  1 threads and 2 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   498.00us    3.29ms    1.11s    91.65%
    Req/Sec   414.40     73.88   530.00     70.00%
  Latency Distribution
     50%    4.17ms
     75%    5.39ms
     90%    7.47ms
     99%    1.20s
  421 requests in 1.05s, 3.02MB read
  Socket errors: connect 0, read 1, write 0, timeout 2
  Non-2xx or 3xx responses: 4
Requests/sec:    399.72
Transfer/sec:      2.87MB
"""


def test_wrk_output_is_read_with_its_units() -> None:
    assert parse_wrk(WRK_OUTPUT) == {
        "requests": 421,
        "errors": 7,  # 4 non-2xx + 3 socket errors
        "seconds": 1.05,
        "requests_per_second": 399.7,
        "p50_ms": 4.17,
        "p90_ms": 7.47,
        "p99_ms": 1200.0,
        "mean_ms": 0.498,
    }


def test_unreadable_wrk_output_is_an_error_that_shows_it() -> None:
    with pytest.raises(ValueError, match="cannot read wrk output:\nunable to connect"):
        parse_wrk("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_cpu_seconds_counts_a_busy_child() -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
            "import sys; sys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
    )
    try:
        while True:  # until the busy loop is done (the child then blocks on stdin)
            used = cpu_seconds(child.pid)
            if used >= 0.3:
                break
            assert child.poll() is None
        assert 0.3 <= used < 5
        assert cpu_seconds(os.getpid()) > 0
    finally:
        child.communicate(b"")


def test_the_python_client_is_named_and_unknown_generators_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[int] = []

    def fake_client(port: int, **kwargs: object) -> dict[str, object]:
        seen.append(port)
        return {"requests": 1}

    monkeypatch.setattr(load, "drive_python", fake_client)
    monkeypatch.setattr(shutil, "which", lambda name: None)  # no wrk: auto falls back
    assert load.drive(8080)["generator"] == load.PYTHON_CLIENT
    assert load.drive(8081, generator="python")["generator"] == load.PYTHON_CLIENT
    assert seen == [8080, 8081]
    with pytest.raises(ValueError, match="unknown load generator 'ab'"):
        load.drive(8082, generator="ab")


def test_rounds_combine_to_totals_and_the_median_round() -> None:
    def one(requests: int, cpu: float, p50: float) -> dict[str, object]:
        return {
            "requests": requests,
            "errors": 0,
            "seconds": 1.0,
            "p50_ms": p50,
            "p90_ms": p50,
            "p99_ms": p50,
            "mean_ms": p50,
            "connections": 16,
            "generator": "wrk x",
            "envoy_requests": requests,
            "envoy_cpu_seconds": cpu,
            "envoy_cpu_us_per_request": round(cpu * 1e6 / requests, 2),
        }

    combined = load.combine([one(1000, 0.1, 1.0), one(3000, 0.2, 3.0), one(2000, 0.3, 2.0)])
    assert combined["requests"] == combined["envoy_requests"] == 6000
    assert combined["requests_per_second"] == 2000.0
    assert combined["envoy_cpu_us_per_request"] == 100.0  # all CPU over all requests, not a mean of rounds
    assert combined["envoy_cpu_us_per_request_by_round"] == [100.0, 66.67, 150.0]
    assert combined["p50_ms"] == 2.0  # the median round
    assert combined["envoy_busy"] == 0.2
    assert (combined["rounds"], combined["generator"]) == (3, "wrk x")


@pytest.mark.skipif(envoy_unavailable_reason("envoy") is not None, reason="no Envoy binary")
def test_measure_reports_envoys_cpu_per_request_on_both_sides() -> None:
    report = load.measure([HEADERS], requests=60, seconds=5, connections=2, generator="python", rounds=2)
    for side in ("envoy_without_plugins", "envoy_with_plugins"):
        figures = report[side]
        assert figures["generator"] == load.PYTHON_CLIENT
        assert figures["requests"] == 60 and figures["errors"] == 0
        assert figures["envoy_requests"] == 60  # Envoy's own count: the direct_response upstream answered
        assert figures["envoy_cpu_seconds"] >= 0
    assert report["plugin_cpu_us_per_request"] == round(
        report["envoy_with_plugins"]["envoy_cpu_us_per_request"]
        - report["envoy_without_plugins"]["envoy_cpu_us_per_request"],
        2,
    )
    assert report["cpu_source"].startswith("/proc/PID/stat utime+stime")
