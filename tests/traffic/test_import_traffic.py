"""``import-traffic``: a HAR file and an Envoy JSON access log become scenarios that pass on the emulator
and on Envoy; the recorded answers are the routes' answers, the recorded responses the expectations."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pytest_proxy_wasm.backends import make_backend
from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.plugin import envoy_unavailable_reason
from pytest_proxy_wasm.scenarios import load_scenario, run_scenario

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data" / "traffic"
BASIC_AUTH = ROOT / "fixtures" / "rust" / "basic_auth.wasm"
SHOP = '{"username": "admin", "password": "s3cret", "realm": "shop"}'  # the gateway that recorded them
BACKENDS = [
    "emulator",
    pytest.param(
        "envoy", marks=pytest.mark.skipif(envoy_unavailable_reason("envoy") is not None, reason="no Envoy")
    ),
]


def imported(tmp_path: Path, traffic: str, *extra: str, config: str = SHOP) -> Path:
    out = tmp_path / "scenarios" / f"{traffic}.proxywasm.yaml"
    args = ["import-traffic", str(DATA / traffic), "-o", str(out), "--module", str(BASIC_AUTH)]
    assert main([*args, "--plugin-config", config, *extra]) == 0
    return out


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("traffic", ["shop.har", "envoy_access.log"])
def test_imported_traffic_passes(tmp_path: Path, traffic: str, backend: str) -> None:
    scenario = load_scenario(imported(tmp_path, traffic, "--expect-recorded"))
    host = make_backend(backend)
    try:
        result = run_scenario(scenario, host)
    finally:
        host.close()
    assert result.passed, result.report(verbose=True)
    assert len(result.steps) == (5 if traffic == "shop.har" else 6)
    assert all(step.checks for step in result.steps)  # every step checked something


def test_har_scenario_content(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = imported(tmp_path, "shop.har", "--expect-recorded")
    assert "5 step(s), 1 skipped" in capsys.readouterr().out
    data = yaml.safe_load(path.read_text())
    assert Path(path.parent, data["plugins"][0]["module"]).resolve() == BASIC_AUTH
    assert data["plugins"][0]["config"] == {"username": "admin", "password": "s3cret", "realm": "shop"}
    denied, _, orders, post, logo = data["steps"]
    assert denied["upstream"] == {
        "status": 401,
        "headers": {"www-authenticate": 'Basic realm="shop"', "content-type": "text/plain"},
        "body": "Unauthorized",
    }
    assert denied["expect"]["status"] == 401 and denied["expect"]["body"] == "Unauthorized"
    assert orders["request"]["path"] == "/api/orders?page=2" and orders["request"]["scheme"] == "https"
    assert post["request"]["method"] == "POST" and post["request"]["body"] == '{"sku":"A-17","qty":2}'
    assert "body_base64" in logo["upstream"] and "base64" in logo["expect"]["body"]
    assert "upstream" not in denied["expect"]  # a HAR cannot tell whether the upstream answered
    assert "entries[5]" in data["description"]


def test_access_log_scenario_content(tmp_path: Path) -> None:
    data = yaml.safe_load(imported(tmp_path, "envoy_access.log", "--expect-recorded").read_text())
    denied, home, *_ = data["steps"]
    assert "upstream" not in denied  # a local reply: the upstream never answered; the route keeps its default
    assert denied["expect"] == {
        "status": 401,
        "headers": {"content-type": "text/plain", "www-authenticate": 'Basic realm="shop"'},
        "upstream": False,
    }
    assert home["expect"] == {
        "status": 200,
        "headers": {"content-type": "text/html; charset=utf-8"},
        "upstream": True,
    }
    assert "body" not in home["expect"]  # an access log has no bodies
    assert "22 bytes not in the access log" in data["description"]


def test_without_expect_recorded_there_are_no_expectations(tmp_path: Path) -> None:
    data = yaml.safe_load(imported(tmp_path, "shop.har").read_text())
    assert all("expect" not in step for step in data["steps"])
    assert [step["upstream"].get("status", 200) for step in data["steps"]] == [401, 200, 200, 201, 200]


def test_the_recorded_expectations_catch_another_behaviour(tmp_path: Path) -> None:
    other = '{"username": "admin", "password": "changed"}'
    scenario = load_scenario(imported(tmp_path, "envoy_access.log", "--expect-recorded", config=other))
    host = make_backend("emulator")
    try:
        result = run_scenario(scenario, host)
    finally:
        host.close()
    # the realm differs in every 401, the others are 401 now
    assert [step.passed for step in result.steps] == [False] * 6


def test_an_unreadable_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "x.har"
    bad.write_text('{"log": {"entries": [{"request": {"method": "GET"}}]}}')
    assert main(["import-traffic", str(bad), "-o", str(tmp_path / "o.yaml")]) == 2
    assert "x.har: entries[0].request: needs method and url" in capsys.readouterr().err
    assert not (tmp_path / "o.yaml").exists()


def test_no_module_gives_a_scenario_without_plugins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "o.proxywasm.yaml"
    assert main(["import-traffic", str(DATA / "envoy_access.log"), "-o", str(out)]) == 0
    assert "no --module" in capsys.readouterr().out
    assert "plugins" not in yaml.safe_load(out.read_text())
    load_scenario(out)  # valid as it is


@pytest.mark.skipif(envoy_unavailable_reason("envoy") is not None, reason="no Envoy")
@pytest.mark.parametrize("traffic", ["shop.har", "envoy_access.log"])
def test_scheme_http_passes_in_diff_mode(tmp_path: Path, traffic: str) -> None:
    path = imported(tmp_path, traffic, "--expect-recorded", "--scheme", "http")
    scenario = load_scenario(path)
    assert all(step.request is not None and step.request.scheme == "http" for step in scenario.steps)
    host = make_backend("diff")
    try:
        result = run_scenario(scenario, host)
    finally:
        host.close()
    assert result.passed, result.report(verbose=True)
