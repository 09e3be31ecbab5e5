"""Issue 27, item 3: a fault on our side is a harness fault (exit 3, outcome error), never a finding."""

from __future__ import annotations

import json
from fnmatch import fnmatch
from pathlib import Path

import pytest

from pytest_proxy_wasm.cli import main

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]
JWT_AUTH = ROOT / "fixtures" / "go" / "jwt_auth.wasm"
CONFIG = '{"secret": "s3cret"}'

BREAKER = """
import dataclasses, os

def pytest_configure(config):
    from pytest_proxy_wasm.conformance import cases, load_cases
    from pytest_proxy_wasm.host import hostcalls

    if os.environ["BREAK"] == "case":
        load_cases()
        case = cases.REGISTRY["failure_policy.fail_closed_battery"]

        def broken(run):
            request = dict(run.requests[0])
            del request["method"]
            return request["method"]

        cases.REGISTRY[case.id] = dataclasses.replace(case, func=broken)
    elif os.environ["BREAK"] == "evidence":
        load_cases()
        case = cases.REGISTRY["failure_policy.fail_closed_battery"]

        def finding_case(run):
            raise cases.CaseFailure("a real finding")

        def no_evidence(self):
            raise RuntimeError("evidence boom")

        cases.REGISTRY[case.id] = dataclasses.replace(case, func=finding_case)
        cases.CaseRun.finding = no_evidence
    else:
        def boom(vm, *args):
            raise RuntimeError("boom in our hostcall")

        hostcalls.IMPLEMENTATIONS["proxy_get_header_map_value"] = boom
"""


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("case", "KeyError: 'method' (at *)"),
        ("hostcall", "HarnessFault: in hostcall proxy_get_header_map_value: RuntimeError: boom*"),
        ("evidence", "RuntimeError: evidence boom (at conformance/plugin.py:* in _finding)"),
    ],
)
def test_a_fault_on_our_side_exits_3_and_is_not_a_finding(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str, message: str
) -> None:
    pytester.makepyfile(breaker=BREAKER)
    monkeypatch.setenv("BREAK", mode)
    monkeypatch.setenv("PYTHONPATH", f"{pytester.path}:{ROOT / 'src'}")
    reports = pytester.path / "reports"
    result = pytester.runpytest_subprocess(
        "-p", "breaker", "-p", "no:cacheprovider", "--proxy-wasm-conformance",
        "--proxy-wasm-module", str(JWT_AUTH), "--proxy-wasm-plugin-config", CONFIG,
        "--proxy-wasm-select", "failure_policy.fail_closed_battery", "--proxy-wasm-report-dir", str(reports),
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.INTERNAL_ERROR
    result.stdout.fnmatch_lines(
        [
            f"*harness fault in failure_policy.fail_closed_battery: {message}",
            "*a bug in pytest-proxy-wasm, not a finding about the plugin*",
            "*proxy-wasm harness faults (exit 3)*",
        ]
    )
    model = json.loads((reports / "run.json").read_text())
    (case,) = model["cases"]
    assert case["outcome"] == "error" and case["evidence"] is None
    assert case["harness_fault"].startswith("harness fault in failure_policy.fail_closed_battery")
    assert model["verdict"] == "error"


def test_a_request_without_method_is_a_get(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "only-path.yaml"
    scenario.write_text("requests:\n  - path: /api\n")
    args = ["check", str(JWT_AUTH), "-q", "--plugin-config", CONFIG, "--select", "failure_policy"]
    assert main([*args, "--requests", str(scenario)]) == 0


@pytest.mark.parametrize(
    ("option", "text", "message"),
    [
        (
            "--requests",
            "requests:\n  - path: /a\n  - {method: GET}\n",
            "bad.yaml: requests[[]1[]].path: missing",
        ),
        (
            "--requests",
            "requests:\n  - {path: /a, methd: GET}\n",
            "bad.yaml: requests[[]0[]]: unknown field 'methd'",
        ),
        ("--plugin-config", None, "--plugin-config @*: cannot read"),
    ],
)
def test_bad_inputs_are_named_before_the_suite_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str, text: str | None, message: str
) -> None:
    bad = tmp_path / "bad.yaml"
    if text is not None:
        bad.write_text(text)
    value = str(bad) if text is not None else f"@{tmp_path / 'missing.json'}"
    assert main(["check", str(JWT_AUTH), "-q", option, value]) == 4
    err = capsys.readouterr().err
    assert err.startswith("pytest-proxy-wasm check: ")
    assert fnmatch(err.strip(), f"*{message}*"), err
