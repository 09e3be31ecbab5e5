"""Selecting the Higress platform: the pytest option, ``run --platform``/``--redis``, ``check --platform``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_proxy_wasm.cli import main

pytest_plugins = ["pytester"]

SAMPLE = Path(__file__).resolve().parents[2] / "fixtures" / "go" / "higress_ratelimit.wasm"
REDIS = "outbound|6379||redis.default.svc.cluster.local"


def test_the_pytest_option_selects_the_platform(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f"""
def test_limit(proxy_wasm_host):
    proxy_wasm_host.expect_redis_call({REDIS!r}).respond_with(7)
    plugin = proxy_wasm_host.load_plugin({str(SAMPLE)!r})
    assert proxy_wasm_host.request(plugin).status == 429
""")
    args = ("-p", "no:cacheprovider", "--proxy-wasm-cache-dir=")
    pytester.runpytest_subprocess(*args, "--proxy-wasm-platform", "higress").assert_outcomes(passed=1)
    refused = pytester.runpytest_subprocess(*args)
    refused.assert_outcomes(failed=1)
    refused.stdout.fnmatch_lines(["*proxy_abi_version_0_2_100*--proxy-wasm-platform higress*"])


def test_run_platform_and_redis_answers(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", str(SAMPLE), "--platform", "higress", "--redis", f"{REDIS}=1", "--json"]
    assert main(args) == 0
    outcome = json.loads(capsys.readouterr().out)
    assert outcome["status"] == 200
    assert main(["run", str(SAMPLE), "--platform", "higress", "--redis", f"{REDIS}=9", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == 429


def test_run_without_the_platform_refuses_by_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(SAMPLE)]) != 0
    assert "--proxy-wasm-platform higress, run/check --platform higress" in capsys.readouterr().err


def test_check_platform_runs_the_conformance_suite_on_a_higress_module() -> None:
    assert main(["check", str(SAMPLE), "--platform", "higress", "-q", "--select", "lifecycle,module"]) == 0


def test_check_without_the_platform_fails_the_abi_marker_case(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SAMPLE), "-q", "--select", "module"]) != 0
    assert "FAILED module.abi_marker" in capfd.readouterr().out
