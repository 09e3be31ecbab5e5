"""Reports of a failing run: JSON against its schema, JUnit properties, Markdown, HTML in Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.reports import render_html, render_markdown, schema

pytest_plugins = ["pytester"]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
FAILING = {"failure_policy.fail_closed_battery", "failure_policy.fail_open_battery",
           "failure_policy.neighbour_fail_closed", "failure_policy.neighbour_fail_open"}  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("run")
    module = FIXTURES / "hostile" / "trap_response_headers.wasm"
    code = main(
        ["check", str(module), "-q", "--select", "module,failure_policy", "--report-dir", str(directory)]
    )
    assert code == 1
    return directory


@pytest.fixture(scope="module")
def model(run_dir: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((run_dir / "run.json").read_text())
    return data


def test_json_validates_against_the_shipped_schema(model: dict[str, Any]) -> None:
    jsonschema.validate(model, schema())
    assert model["verdict"] == "fail"
    # one trap, one finding: the other cases failing on it are blocked by it
    assert [c["id"] for c in model["cases"] if c["outcome"] == "failed"] == [
        "failure_policy.fail_closed_battery"
    ]
    blocked = {c["id"] for c in model["cases"] if c["outcome"] == "blocked"}
    assert blocked == FAILING - {"failure_policy.fail_closed_battery"}
    assert model["counts"]["blocked"] == 3 and model["counts"]["failed"] == 1


def test_schema_rejects_a_broken_run(model: dict[str, Any]) -> None:
    broken = {**model, "verdict": "maybe"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema())


def test_json_has_module_facts_coverage_and_timings(model: dict[str, Any]) -> None:
    module = model["modules"][0]
    assert module["abi"] == "0.2.1" and len(module["sha256"]) == 64
    assert module["coverage"]["callbacks"]["proxy_on_response_headers"] > 0
    assert {a["name"] for a in model["areas"]} == {"module", "failure_policy"}
    trapped = next(c for c in model["cases"] if c["id"] == "failure_policy.fail_closed_battery")
    assert trapped["details"]["stream_after_trap"]["status"] == 503


def test_junit_carries_module_properties(run_dir: Path) -> None:
    root = ET.parse(run_dir / "junit.xml").getroot()
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["backend"] == "emulator"
    assert props["module:trap_response_headers.wasm:abi"] == "0.2.1"
    assert len(props["module:trap_response_headers.wasm:sha256"] or "") == 64
    assert props["case"]  # per-case properties (record_property style)


def test_markdown_names_the_failing_cases(model: dict[str, Any]) -> None:
    text = render_markdown(model)
    assert "FAIL" in text.splitlines()[0]
    for case_id in FAILING:
        assert f"`{case_id}`" in text


def test_report_command_rerenders_html(run_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "again.html"
    assert main(["report", str(run_dir / "run.json"), "--html", str(out)]) == 0
    html = out.read_text()
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<svg" in html and 'id="verdict"' in html


def test_report_refuses_an_unknown_schema_version(tmp_path: Path) -> None:
    bad = tmp_path / "run.json"
    bad.write_text(json.dumps({"schema_version": 99}))
    assert main(["report", str(bad), "--html", str(tmp_path / "x.html")]) == 2


def _chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(_chromium() is None, reason="Debian chromium is not installed (.ci/run installs it)")
def test_html_renders_in_headless_chromium(run_dir: Path, tmp_path: Path, model: dict[str, Any]) -> None:
    page = tmp_path / "page.html"
    page.write_text(render_html(model))
    command = [
        str(_chromium()), "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri(),
    ]  # fmt: skip
    done = subprocess.run(
        command,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HOME": str(tmp_path)},
    )
    dom = done.stdout
    assert '<span id="verdict" class="verdict fail">FAIL</span>' in dom, done.stderr[-2000:]
    failing_list = dom.split('id="failing"', 1)[1].split("</ul>", 1)[0]
    for case_id in FAILING:
        assert f"<code>{case_id}</code>" in failing_list


def test_update_report_hook(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        "def pytest_proxy_wasm_update_report(config, report):\n    report['custom'] = {'team': 'edge'}\n"
    )
    pytester.runpytest_subprocess(
        "--proxy-wasm-module", str(FIXTURES / "rust" / "headers.wasm"), "--proxy-wasm-conformance",
        "--proxy-wasm-select", "module.valid_wasm", "--proxy-wasm-report-dir", "out",
    )  # fmt: skip
    data = json.loads((pytester.path / "out" / "run.json").read_text())
    assert data["custom"] == {"team": "edge"}
