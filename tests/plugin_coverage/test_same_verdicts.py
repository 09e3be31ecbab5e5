"""``check`` gives the same verdicts with and without ``--coverage`` (same seed, same clock)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]


def check(module: Path, directory: Path, *extra: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "pytest_proxy_wasm", "check", str(module), "-q", "--examples", "5",
               "--seed", "7", "--now", "2026-01-31T12:00:00Z",
               "--report-dir", str(directory), *extra]  # fmt: skip
    subprocess.run(command, check=False, capture_output=True, timeout=600)
    run = json.loads((directory / "run.json").read_text())
    return {
        "verdict": run["verdict"],
        "cases": [(c["id"], c["outcome"], c["message"]) for c in run["cases"]],
        "modules": [
            (m["name"], m["sha256"], m.get("imports"), m.get("exports"), m.get("classification"))
            for m in run["modules"]
        ],
    }


@pytest.mark.parametrize("fixture", ["c/c_headers.wasm", "rust/headers.wasm", "go/headers.wasm"])
def test_same_verdicts(fixture: str, tmp_path: Path) -> None:
    module = ROOT / "fixtures" / fixture
    plain = check(module, tmp_path / "plain")
    covered = check(module, tmp_path / "covered", "--coverage")
    assert (tmp_path / "covered" / "lcov.info").exists()
    assert covered == plain
    assert plain["cases"]
