"""``run --envoy-version`` / ``--istio-version``: the emulator follows the version and says which."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_proxy_wasm.cli import main

MODULE = str(Path(__file__).resolve().parents[2] / "fixtures" / "go" / "config_file.wasm")


def test_run_follows_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", MODULE, "--envoy-version", "1.36"]) == 2
    assert "missing import: wasi_snapshot_preview1.path_filestat_get" in capsys.readouterr().err
    assert main(["run", MODULE, "--istio-version", "1.28"]) == 2  # Istio 1.28 runs Envoy 1.36
    capsys.readouterr()
    assert main(["run", MODULE, "--envoy-version", "1.40", "--json"]) == 0
    out = capsys.readouterr()
    assert json.loads(out.out)["envoy_version"] == "1.40.0"
    assert "Envoy version: 1.40.0" in out.err


def test_run_takes_one_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", MODULE, "--envoy-version", "1.36,1.40"]) == 2
    assert "run takes one Envoy version" in capsys.readouterr().err
