"""Reports never crash: every writer renders any run model hypothesis builds (every outcome, every
evidence shape, older versions); a writer that fails keeps the other outputs and is named in one line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.reports import html as html_module
from pytest_proxy_wasm.reports.html import render_html
from pytest_proxy_wasm.reports.junit import render_junit
from pytest_proxy_wasm.reports.markdown import render_markdown
from pytest_proxy_wasm.reports.normalize import normalize
from pytest_proxy_wasm.reports.terminal import terminal_lines
from pytest_proxy_wasm.reports.writers import render_json, write_reports

from .run_models import run_models

pytest_plugins = ["pytester"]
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
GENERATED = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@GENERATED
@given(run_models())
def test_json_writer(model: dict[str, Any]) -> None:
    again = json.loads(render_json(model))
    assert again["cases"] == json.loads(json.dumps(model["cases"], default=str))


@GENERATED
@given(run_models())
def test_html_writer(model: dict[str, Any]) -> None:
    page = render_html(model)
    assert page.startswith("<!DOCTYPE html>") and 'id="verdict"' in page
    for case in model["cases"]:
        assert case["outcome"] in page or case["outcome"] == "passed"


@GENERATED
@given(run_models())
def test_markdown_writer(model: dict[str, Any]) -> None:
    text = render_markdown(model)
    assert text.startswith("## ") and normalize(model)["verdict"].upper() in text.splitlines()[0]


@GENERATED
@given(run_models())
def test_junit_writer(model: dict[str, Any]) -> None:
    root = ET.fromstring(render_junit(model).encode("utf-8"))
    cases = list(root.iter("testcase"))
    assert len(cases) == len(model["cases"])
    outcomes = [normalize(model)["cases"][i]["outcome"] for i in range(len(cases))]
    for node, outcome in zip(cases, outcomes, strict=True):
        props = {p.get("name"): p.get("value") for p in node.iter("property")}
        assert props["outcome"] == outcome
        assert (node.find("failure") is not None) == (outcome in ("failed", "xpassed"))
        skipped = node.find("skipped")
        assert (skipped is not None and skipped.get("type") == "blocked") == (outcome == "blocked")


@GENERATED
@given(run_models())
def test_terminal_writer(model: dict[str, Any]) -> None:
    lines = terminal_lines(model, "reports")
    assert lines[0].startswith("verdict: ") and lines[-1].startswith("reports: ")


@GENERATED
@given(run_models())
def test_write_reports_writes_all_four(model: dict[str, Any]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        written, failures = write_reports(model, Path(tmp))
        assert failures == [] and set(written) == {"json", "html", "markdown", "junit"}
        assert all(p.stat().st_size > 0 for p in written.values())


def test_a_replay_without_panic_lines_renders() -> None:
    """The crash of issue 21: jinja2 UndefinedError: 'dict object' has no attribute 'panic'."""
    replay = {"verdict": "not replayed", "label": "not replayed on Envoy", "detail": "why", "outcomes": []}
    evidence = {"inputs": [], "source": "", "callback": None, "trap": None, "panic": [], "log_tail": [],
                "replay": replay}  # fmt: skip
    case = {"id": "a.b", "area": "a", "title": "t", "rule": "r", "module": "m", "outcome": "failed",
            "duration_s": 0, "message": "m", "details": {}, "logs": [], "expected_failure": None,
            "evidence": evidence}  # fmt: skip
    page = render_html({"schema_version": 2, "cases": [case], "counts": {"failed": 1}})
    assert "not replayed on Envoy" in page


def test_a_failing_writer_keeps_the_others(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(model: dict[str, Any]) -> str:
        raise KeyError("panic")

    monkeypatch.setattr(html_module, "render_html", broken)
    written, failures = write_reports({"cases": []}, tmp_path)
    assert set(written) == {"json", "markdown", "junit"}
    assert [f.writer for f in failures] == ["HTML"] and not (tmp_path / "run.html").exists()
    assert failures[0].line() == "the HTML writer failed (KeyError: 'panic'); run.html was not written"


def test_check_names_the_failing_writer_in_one_line(pytester: pytest.Pytester) -> None:
    """In a session: the other outputs are written, one line names the writer, exit status 3."""
    pytester.makeconftest(
        "import pytest_proxy_wasm.reports.html as h\n"
        "def pytest_proxy_wasm_update_report(config, report):\n"
        "    def broken(model):\n"
        "        raise RuntimeError('template bug')\n"
        "    h.render_html = broken\n"
    )
    result = pytester.runpytest_subprocess(
        "--proxy-wasm-module", str(FIXTURES / "rust" / "headers.wasm"), "--proxy-wasm-conformance",
        "--proxy-wasm-select", "module.valid_wasm", "--proxy-wasm-report-dir", "out",
    )  # fmt: skip
    assert result.ret == 3
    errors = [line for line in result.errlines if "writer failed" in line]
    assert errors == [
        "pytest-proxy-wasm: the HTML writer failed (RuntimeError: template bug); run.html was not written "
        "(the other reports were written)"
    ]
    out = pytester.path / "out"
    written = {p.name for p in out.iterdir()}
    assert written == {"run.json", "summary.md", "junit.xml", "matrix.md", "modules"}  # all but run.html
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_report_command_names_the_failing_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"schema_version": 3, "cases": []}))

    def broken(model: dict[str, Any]) -> str:
        raise ValueError("bad")

    monkeypatch.setattr(html_module, "render_html", broken)
    code = main(["report", str(run), "--html", str(tmp_path / "a.html"), "--junit", str(tmp_path / "j.xml")])
    assert code == 3 and (tmp_path / "j.xml").exists() and not (tmp_path / "a.html").exists()
    assert (
        capsys.readouterr().err.strip()
        == "pytest-proxy-wasm report: the HTML writer failed (ValueError: bad)"
    )


def test_a_version_2_warning_is_re_rendered_as_warned(tmp_path: Path) -> None:
    case = {"id": "module.hostcall_misuse", "area": "module", "title": "t", "rule": "r", "module": "m",
            "outcome": "passed", "duration_s": 0, "message": "", "details": {"warning": "BAD_ARGUMENT"},
            "logs": [], "expected_failure": None, "evidence": None}  # fmt: skip
    run = tmp_path / "run.json"
    run.write_text(json.dumps({"schema_version": 2, "verdict": "pass", "cases": [case],
                               "counts": {"passed": 1}}))  # fmt: skip
    out = tmp_path / "summary.md"
    assert main(["report", str(run), "--markdown", str(out)]) == 0
    text = out.read_text()
    assert "1 warned" in text and "BAD_ARGUMENT" in text
