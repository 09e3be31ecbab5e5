"""A whole emulator conformance run of one module, as ``pytest-proxy-wasm check`` runs it (issue 15:
"conformance run of one Go module <= 10 s").

Run: ``python -m pytest benchmarks/test_conformance_speed.py --benchmark-only -p no:xdist``.
Each round is the ``check`` command itself (a child pytest over the shipped suite, seed 1, reports
written), so start-up, classification, every case and the reports count. The figure is CPU time of
this process and its children (the child pytest does the work): it holds on a loaded machine. The
wall time of each round is in ``extra_info``. Per-fixture figures before and after a change:
``python benchmarks/conformance_verdicts.py record FILE`` (it also records the verdicts).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from pytest_proxy_wasm.cli import main

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MODULES = {
    "go-probe": FIXTURES / "go" / "probe.wasm",  # the Go module that exercises most hostcalls
    "go-headers": FIXTURES / "go" / "headers.wasm",
    "rust-headers": FIXTURES / "rust" / "headers.wasm",
}


def cpu_with_children() -> float:
    """CPU seconds (user + system) of this process and of its finished children."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


@pytest.mark.parametrize("name", list(MODULES))
def test_conformance_check(benchmark: pytest.FixtureRequest, tmp_path: Path, name: str) -> None:
    walls: list[float] = []

    def check() -> int:
        start = time.perf_counter()
        code = main(["check", str(MODULES[name]), "-q", "--seed", "1", "--report-dir", str(tmp_path)])
        walls.append(round(time.perf_counter() - start, 2))
        return code

    benchmark._timer = cpu_with_children  # type: ignore[attr-defined]  # the work is in the child
    code = benchmark.pedantic(check, rounds=2, iterations=1)  # type: ignore[attr-defined]
    benchmark.extra_info["wall_seconds"] = walls  # type: ignore[attr-defined]
    assert code == 0  # the sample conforms: a speed figure of a failing run would mean nothing
