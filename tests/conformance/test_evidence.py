"""Evidence on findings: the input (bytes shown as bytes), the failed callback, the trap and the plugin's
panic line, in the JSON, Markdown, HTML, terminal and JUnit outputs of ``check``."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import wasmtime

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.conformance.evidence import (
    Exchange,
    encode_request,
    pick,
    request_text,
    show,
    show_bytes,
)
from pytest_proxy_wasm.host.failures import VmFailure
from pytest_proxy_wasm.outcome import Outcome
from pytest_proxy_wasm.reports import render_html, render_markdown, schema

WAT = Path(__file__).resolve().parent / "wat"
PANIC = "panicked at src/lib.rs:31:62"


def compile_wat(name: str, directory: Path) -> Path:
    out = directory / f"{name}.wasm"
    out.write_bytes(wasmtime.wat2wasm((WAT / f"{name}.wat").read_text()))
    return out


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("plain text", "plain text"),
        ("caf\xe9", 'b"caf\\xe9"'),
        (b"\x80", 'b"\\x80"'),
        ("\x80", 'b"\\x80"'),
        (b'a"b\\', 'b"a\\"b\\\\"'),
        ("", ""),
    ],
)
def test_values_that_are_not_printable_ascii_show_as_bytes(value: str | bytes, shown: str) -> None:
    assert show(value) == shown


def test_a_utf8_body_shows_its_utf8_bytes() -> None:
    assert show("é", "utf-8") == show_bytes("é".encode())


def test_request_text_names_headers_frames_and_empty_values() -> None:
    encoded = encode_request(
        {"method": "POST", "path": "/x", "headers": [("a", ""), ("b", "caf\xe9")], "body": [b"ab", b"c"]}
    )
    assert (
        request_text(encoded) == 'POST /x · headers: a: "", b: b"caf\\xe9" · body in 2 frame(s): b"ab", b"c"'
    )


def _exchange(status: int | None, failed: bool = False, hung: bool = False, body: Any = b"x") -> Exchange:
    outcome = Outcome(status, [], b"", None, [], plugin_failed="x" if failed else None, hung=hung)
    failure = VmFailure("proxy_on_request_headers", "boom", "unreachable") if failed else None
    return Exchange({"path": "/", "body": body}, [], outcome, 0, [], failure)


def test_pick_prefers_the_exchange_that_failed() -> None:
    hung = _exchange(None, hung=True)
    assert pick([_exchange(200), hung, _exchange(200)]) == [hung]
    first, last = _exchange(503, failed=True), _exchange(502, failed=True)
    assert pick([_exchange(200), first, last]) == [last]  # hypothesis runs the shrunk example last


def test_pick_pairs_the_same_request_split_differently() -> None:
    whole, split = _exchange(400, body=[b"ab"]), _exchange(200, body=[b"a", b"b"])
    assert pick([whole, _exchange(400, body=[b"ab"]), split]) == [whole, split]


def test_pick_names_no_input_when_no_exchange_shows_the_failure() -> None:
    assert pick([_exchange(200), _exchange(200)]) == []
    assert pick([_exchange(200, body=b"a"), _exchange(404, body=b"other")]) == []  # different requests
    assert pick([]) == []


@pytest.fixture(scope="module")
def panic_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The panicking probe checked on its own requests: the scenario sends ``x-name: caf\\xe9``."""
    directory = tmp_path_factory.mktemp("panic")
    module = compile_wat("utf8_panic", directory)
    scenario = directory / "scenario.yaml"
    scenario.write_text('requests:\n  - {method: GET, path: /menu, headers: {x-name: "caf\\xe9"}}\n')
    code = main(
        [
            "check",
            str(module),
            "-q",
            "--seed",
            "1",
            "--select",
            "failure_policy.fail_closed_battery",
            "--requests",
            str(scenario),
            "--report-dir",
            str(directory / "reports"),
        ]
    )
    assert code == 1
    return directory / "reports"


def _evidence(run_dir: Path, case_id: str) -> dict[str, Any]:
    model = json.loads((run_dir / "run.json").read_text())
    jsonschema.validate(model, schema())
    case = next(c for c in model["cases"] if c["id"] == case_id)
    assert case["outcome"] == "failed"
    evidence: dict[str, Any] = case["evidence"]
    return evidence


def test_json_evidence_has_the_input_callback_trap_and_panic(panic_run: Path) -> None:
    ev = _evidence(panic_run, "failure_policy.fail_closed_battery")
    assert ev["source"] == "your request (--request/--requests)"
    [item] = ev["inputs"]
    assert item["request"]["headers"] == [["x-name", 'b"caf\\xe9"']]
    assert item["text"] == 'GET /menu · headers: x-name: b"caf\\xe9"'
    assert item["outcome"]["status"] == 503 and item["outcome"]["plugin_failed"]
    assert ev["callback"] == "proxy_on_request_headers"
    assert ev["failure_kind"] == "unreachable"
    assert any(PANIC in line and "FromUtf8Error" in line for line in ev["panic"])
    assert ev["replay"] is None  # emulator only run: nothing replayed


def test_markdown_html_and_junit_show_the_evidence(panic_run: Path) -> None:
    model = json.loads((panic_run / "run.json").read_text())
    markdown = render_markdown(model)
    assert 'x-name: b"caf\\xe9"' in markdown and PANIC in markdown
    assert "failed callback: proxy_on_request_headers" in markdown
    html = render_html(model)
    panic_block = html.split('<pre class="panic">', 1)[1].split("</pre>", 1)[0]
    assert PANIC in panic_block  # shown next to the finding, not folded into the plugin logs
    assert "b&#34;caf\\xe9&#34;" in html and "caf\xe9" not in html
    junit = ET.parse(panic_run / "junit.xml").getroot()
    failure = next(junit.iter("failure"))
    assert 'x-name: b"caf\\xe9"' in (failure.text or "") and PANIC in (failure.text or "")
    props = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert "failed callback: proxy_on_request_headers" in (props["evidence"] or "")


def test_without_the_scenario_the_standard_requests_pass(tmp_path: Path) -> None:
    module = compile_wat("utf8_panic", tmp_path)
    code = main(["check", str(module), "-q", "--select", "failure_policy.fail_closed_battery"])
    assert code == 0


def test_shrunk_generated_input_is_the_evidence(tmp_path: Path) -> None:
    module = compile_wat("utf8_panic", tmp_path)
    reports = tmp_path / "reports"
    code = main(
        [
            "check",
            str(module),
            "-q",
            "--seed",
            "1",
            "--select",
            "http_robustness.header_maps",
            "--report-dir",
            str(reports),
        ]
    )
    assert code == 1
    ev = _evidence(reports, "http_robustness.header_maps")
    assert ev["source"] == "hypothesis-shrunk (seed 1)"
    [item] = ev["inputs"]
    values = [v for _, v in item["request"]["headers"]]
    assert any(v.startswith('b"') and "\\x" in v for v in values)  # the non-UTF-8 byte, as a byte
    assert ev["callback"] == "proxy_on_request_headers"


def test_go_panic_written_to_stderr_is_the_evidence(tmp_path: Path) -> None:
    module = compile_wat("go_panic", tmp_path)
    reports = tmp_path / "reports"
    code = main(
        ["check", str(module), "-q", "--select", "failure_policy.fail_closed_battery",
         "--report-dir", str(reports)]
    )  # fmt: skip
    assert code == 1
    ev = _evidence(reports, "failure_policy.fail_closed_battery")
    assert ev["panic"][:2] == [
        "[stderr] panic:",
        "[stderr] runtime error: index out of range [3] with length 3",
    ]
    assert (ev["callback"], ev["failure_kind"]) == ("proxy_on_request_headers", "proc_exit")
    assert ev["inputs"][0]["text"] == "GET /"  # the first standard request already fails


@pytest.mark.parametrize(
    ("lines", "shown"),
    [
        (["[info] a", "[critical] panicked at x", "[info] b"], ["[critical] panicked at x", "[info] b"]),
        (["[info] a", "[error] bad config", "[info] b"], ["[error] bad config"]),
        (["[info] a"], []),
    ],
)
def test_panic_lines_start_at_the_panic(lines: list[str], shown: list[str]) -> None:
    from pytest_proxy_wasm.conformance.evidence import panic_lines

    assert panic_lines(lines) == shown
