"""``run --coverage --report-dir DIR`` and ``check --coverage --report-dir DIR`` write the files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pytest_proxy_wasm.cli import main

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "fixtures" / "c" / "c_coverage.wasm"
SOURCE = "plugins_under_test/c/c_coverage/c_coverage.c"


def da(lcov: str, line: int) -> int:
    record = lcov.split(f"SF:{SOURCE}\n", 1)[1].split("end_of_record", 1)[0]
    return int(record.split(f"DA:{line},", 1)[1].split("\n", 1)[0])


def marker_line(name: str) -> int:
    lines = (ROOT / SOURCE).read_text().splitlines()
    return next(i for i, text in enumerate(lines, start=1) if f"LINE:{name} " in text)


def test_run_coverage_writes_lcov_and_cobertura(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", str(MODULE), "--path", "/admin", "--coverage", "--report-dir", str(tmp_path)]
    assert main([*args, "--coverage-source-root", str(ROOT), "--json"]) == 0
    captured = capsys.readouterr()
    assert captured.out.lstrip().startswith("{")  # --json output stays JSON; the summary is on stderr
    assert "plugin coverage: c_coverage.wasm: own code" in captured.err
    lcov = (tmp_path / "lcov.info").read_text()
    assert da(lcov, marker_line("deny")) == 1
    assert da(lcov, marker_line("allow")) == 0
    assert (tmp_path / "coverage.xml").read_text().startswith("<?xml")


def test_run_coverage_refuses_envoy(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit, match="--coverage counts inside the emulator"):
        main(["run", str(MODULE), "--coverage", "--backend", "envoy"])


def test_check_coverage(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "pytest_proxy_wasm", "check", str(MODULE), "-q", "--examples", "3",
               "--coverage", "--report-dir", str(tmp_path), "--coverage-source-root", str(ROOT)]  # fmt: skip
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=300)
    assert "plugin coverage: c_coverage.wasm" in result.stdout, result.stdout + result.stderr
    lcov = (tmp_path / "lcov.info").read_text()
    assert da(lcov, marker_line("allow")) > 0  # the conformance requests take the allow path
    assert da(lcov, marker_line("unused")) == 0
    assert (tmp_path / "coverage.xml").exists() and (tmp_path / "run.json").exists()
