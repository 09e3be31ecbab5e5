"""Selecting an Istio profile: the pytest option, the marker, ``run --profile`` and ``check --profile``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_proxy_wasm.cli import main

pytest_plugins = ["pytester"]

HEADERS = Path(__file__).resolve().parents[2] / "fixtures" / "rust" / "headers.wasm"


def test_the_pytest_option_and_the_marker_select_the_profile(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(f"""
import pytest

def test_option(proxy_wasm_host, request):
    expected = request.config.getoption("--proxy-wasm-profile")
    assert proxy_wasm_host.options.profile == expected
    plugin = proxy_wasm_host.load_plugin({str(HEADERS)!r})
    outcome = proxy_wasm_host.request(plugin, path="/a/../b")
    assert outcome.upstream_request.path == ("/b" if expected else "/a/../b")

@pytest.mark.proxy_wasm(profile="istio-gateway")
def test_marker(proxy_wasm_host):
    plugin = proxy_wasm_host.load_plugin({str(HEADERS)!r})
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.upstream_request.header("x-envoy-external-address") == "127.0.0.1"
""")
    args = ("-p", "no:cacheprovider", "--proxy-wasm-cache-dir=")
    pytester.runpytest_subprocess(*args).assert_outcomes(passed=2)
    profiled = pytester.runpytest_subprocess(*args, "--proxy-wasm-profile", "istio-sidecar-inbound")
    profiled.assert_outcomes(passed=2)


def test_run_profile(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(HEADERS), "--profile", "istio-gateway", "--path", "/x/./y", "--json"]) == 0
    outcome = json.loads(capsys.readouterr().out)
    upstream = outcome["upstream_request"]
    assert upstream["path"] == "/x/y"
    assert ["x-envoy-external-address", "127.0.0.1"] in [list(h) for h in upstream["headers"]]


def test_run_rejects_an_unknown_profile(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["run", str(HEADERS), "--profile", "istio-waypoint"])
    assert "invalid choice: 'istio-waypoint'" in capsys.readouterr().err


def test_check_profile() -> None:
    args = ["check", str(HEADERS), "--profile", "istio-sidecar-outbound", "-q", "--select", "lifecycle"]
    assert main(args) == 0


def test_a_workload_selects_its_profile() -> None:
    from pytest_proxy_wasm.istio.profiles import profile_for_workload
    from pytest_proxy_wasm.istio.workload import parse_workload

    assert profile_for_workload(parse_workload("kind=gateway,port=8080")) == "istio-gateway"
    assert profile_for_workload(parse_workload("mode=SERVER,port=8080")) == "istio-sidecar-inbound"
    assert profile_for_workload(parse_workload("mode=CLIENT,port=8080")) == "istio-sidecar-outbound"
    assert profile_for_workload(parse_workload("kind=waypoint")) == ""
