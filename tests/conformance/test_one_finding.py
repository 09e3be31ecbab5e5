"""One cause, one finding: the Go bot detector that holds requests without User-Agent forever gives one
finding (replayed on Envoy: it does not answer either), every other case failing on that hang is blocked
by it, in every output. Warnings are first class (``warned``)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.conformance.causes import cause_of, normalize, regroup
from pytest_proxy_wasm.reports import schema

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
BOT = FIXTURES / "go" / "bot_detect.wasm"
FINDING = "http_robustness.generated_exchanges"
HANG = "hang|proxy_on_request_headers|paused"


def _check(directory: Path, *extra: str) -> int:
    return main(["check", str(BOT), "--seed", "1", "--report-dir", str(directory), *extra])


@pytest.fixture(scope="module")
def bot_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("bot")
    assert _check(directory) == 1  # a real finding
    return directory


def _model(directory: Path) -> dict[str, Any]:
    model: dict[str, Any] = json.loads((directory / "run.json").read_text())
    jsonschema.validate(model, schema())
    return model


def test_the_hang_is_one_finding_blocking_the_others(bot_run: Path) -> None:
    model = _model(bot_run)
    [finding] = [c for c in model["cases"] if c["outcome"] == "failed"]
    blocked = [c for c in model["cases"] if c["outcome"] == "blocked"]
    assert finding["id"] == FINDING and finding["cause"]["key"] == HANG
    assert len(blocked) >= 10 and len({c["area"] for c in blocked}) >= 4
    assert finding["blocks"] == [c["id"] for c in blocked]
    for case in blocked:
        assert case["blocked_by"] == FINDING and case["cause"]["key"] == HANG
        assert case["message"].startswith(f"blocked by {FINDING} (the stream hangs")
        assert "could not run past it" in case["message"]
    assert model["counts"]["failed"] == 1 and model["counts"]["blocked"] == len(blocked)
    assert model["verdict"] == "fail"


def test_every_output_shows_one_finding_and_the_blocked_cases(bot_run: Path) -> None:
    model = _model(bot_run)
    blocked = [c["id"] for c in model["cases"] if c["outcome"] == "blocked"]
    suite = ET.parse(bot_run / "junit.xml").getroot().find("testsuite")
    assert suite is not None and suite.get("failures") == "1"
    skipped = [
        n
        for n in suite.iter("testcase")
        if (s := n.find("skipped")) is not None and s.get("type") == "blocked"
    ]
    assert len(skipped) == len(blocked)
    summary = (bot_run / "summary.md").read_text()
    assert f"### Blocked cases ({len(blocked)})" in summary
    assert sum(line.startswith("| `") for line in summary.splitlines()) == 1  # one failing-case row
    page = (bot_run / "run.html").read_text()
    assert f"blocked {len(blocked)} other cases" in page and 'class="outcome blocked"' in page


def test_the_terminal_counts_blocked_cases(tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    assert _check(tmp_path, "--select", "http_robustness,isolation") == 1
    out = capfd.readouterr().out
    assert "1 failed" in out and "blocked" in out and "BLOCKED isolation.stream_state" in out
    assert (
        "cause: the stream hangs: the plugin returns Pause (StopIteration) in proxy_on_request_headers" in out
    )


def test_the_hang_is_confirmed_on_envoy(tmp_path: Path) -> None:
    """The finding's input replayed on Envoy 1.40: no answer either; the differential case could compare
    nothing (every generated request hangs) and is blocked by the same finding."""
    assert _check(tmp_path, "--backend", "diff", "--select", f"{FINDING},differential") == 1
    model = _model(tmp_path)
    finding = next(c for c in model["cases"] if c["id"] == FINDING)
    replay = finding["evidence"]["replay"]
    assert replay["label"] == "confirmed: Envoy 1.40 did not answer within 5 s" and replay["hung"]
    differential = next(c for c in model["cases"] if c["id"] == "differential.generated_requests")
    assert differential["outcome"] == "blocked" and differential["blocked_by"] == FINDING
    assert differential["details"]["hung_on_both"]["confirmed_on_envoy"] == 1


def test_warnings_are_counted_in_every_output(tmp_path: Path) -> None:
    module = FIXTURES / "hostile" / "misuse_proxy_log.wasm"
    code = main(["check", str(module), "--select", "module", "--report-dir", str(tmp_path), "-q"])
    assert code == 0
    model = _model(tmp_path)
    case = next(c for c in model["cases"] if c["id"] == "module.hostcall_misuse")
    assert case["outcome"] == "warned" and case["severity"] == "warn"
    assert "INVALID_MEMORY_ACCESS" in case["warning"]
    assert model["counts"]["warned"] == 1 and model["verdict"] == "pass"
    props = {
        p.get("name"): p.get("value")
        for n in ET.parse(tmp_path / "junit.xml").getroot().iter("testcase")
        if n.get("name") == "hostcall_misuse"
        for p in n.iter("property")
    }
    assert props["outcome"] == "warned" and "INVALID_MEMORY_ACCESS" in (props["warning"] or "")
    assert 'id="warnings"><strong>1 warning</strong>' in (tmp_path / "run.html").read_text()
    summary = (tmp_path / "summary.md").read_text()
    assert "1 warned" in summary and "### Warnings (1" in summary


def test_causes_fold_what_varies_and_keep_where() -> None:
    assert normalize("[stderr] panic: index out of range [5] with length 3") == (
        "panic: index out of range [#] with length #"
    )
    assert (
        normalize("panicked at src/lib.rs:12:5: boom 0xdeadbeef") == "panicked at src/lib.rs:12:5: boom 0x#"
    )
    trap = "wasm trap: unreachable (in <unknown>!<wasm function 7>)"
    assert normalize(trap) == trap  # the function a trap is in tells two traps apart
    panic = ["[stderr] panic: ", "[stderr] runtime error: index out of range [7] with length 2"]
    go = {"callback": "proxy_on_request_headers", "failure_kind": "proc_exit", "panic": panic}
    other = {
        **go,
        "panic": ["[stderr] panic: ", "[stderr] runtime error: index out of range [1] with length 0"],
    }
    first, second = cause_of("x", go), cause_of("y", other)
    assert first is not None and first == second
    assert cause_of("a difference in answers", {"inputs": []}) is None
    hang = cause_of(
        "late paused in proxy_on_request_headers (returned StopIteration, holding 3 body bytes)", None
    )
    assert hang is None  # no hang report, no hang
    hang = cause_of(
        "the stream hung: late is buffering in proxy_on_request_body (StopIterationAndBuffer)", None
    )
    assert hang is not None and hang.key == "hang|proxy_on_request_body|buffering"


def test_regroup_groups_cases_of_separate_workers() -> None:
    cause = {"key": HANG, "label": "the stream hangs"}
    cases = [
        {"id": "a.one", "module": "m", "outcome": "failed", "cause": cause, "title": "One"},
        {"id": "b.two", "module": "m", "outcome": "failed", "cause": cause, "title": "Two"},
        {"id": "b.two", "module": "n", "outcome": "failed", "cause": cause, "title": "Two"},  # other module
        {"id": "c.three", "module": "m", "outcome": "failed", "cause": None, "title": "Three"},
    ]
    regroup(cases)
    assert [c["outcome"] for c in cases] == ["failed", "blocked", "failed", "failed"]
    assert cases[0]["blocks"] == ["b.two"] and cases[1]["blocked_by"] == "a.one"
