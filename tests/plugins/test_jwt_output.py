"""Issue 27, item 6: what a failing test, ``run --backend diff`` and the differential case show."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.outcome import LogRecord, Outcome, UpstreamRequest
from pytest_proxy_wasm.plugin import envoy_unavailable_reason

from .jwt_tokens import CONFIG, fresh_token

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]
JWT_AUTH = ROOT / "fixtures" / "go" / "jwt_auth.wasm"
HEADERS = ROOT / "fixtures" / "rust" / "headers.wasm"
needs_envoy = pytest.mark.skipif(bool(envoy_unavailable_reason("envoy")), reason="no Envoy binary")

FAILING = f"""
def test_expired(proxy_wasm_backend):
    plugin = proxy_wasm_backend.load_plugin({str(JWT_AUTH)!r}, plugin_config='{{"secret": "s"}}')
    outcome = proxy_wasm_backend.request(plugin, headers={{"authorization": "Bearer a.b.c"}})
    assert outcome.status == 200, outcome
"""


@pytest.mark.parametrize("backend", ["emulator", pytest.param("envoy", marks=needs_envoy)])
def test_a_failing_test_shows_a_short_outcome_and_the_plugin_log(
    pytester: pytest.Pytester, backend: str
) -> None:
    pytester.makepyfile(test_jwt=FAILING)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--proxy-wasm-backend", backend)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*AssertionError: Outcome(status=401, local_reply=True, details='jwt_authn_denied', "
            "response_body=b'Jwt verification fails', upstream_request=None, logs=* lines, "
            f"backend='{backend}')",
            "*- proxy-wasm plugin log -*",
            "?info? *jwt-auth: denied: malformed token",
        ]
    )


def test_outcome_repr_is_short_and_names_what_matters() -> None:
    up = UpstreamRequest("POST", "/api", [("x-a", "1")], b"")
    outcome = Outcome(200, [("a", "b")] * 50, b"x" * 500, up, [LogRecord(2, "m")] * 30, hung=True)
    text = repr(outcome)
    assert len(text) < 240, text  # pytest shows it whole
    assert text.startswith("Outcome(status=200, response_body=b'xxx")
    assert "...(500 bytes)" in text and "upstream_request=POST /api" in text and "hung=True" in text


@needs_envoy
def test_run_diff_prints_the_trace_only_with_trace(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(HEADERS), "--backend", "diff"]) == 0
    assert "trace (" not in capsys.readouterr().out
    assert main(["run", str(HEADERS), "--backend", "diff", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["trace"] == []
    assert main(["run", str(HEADERS), "--backend", "diff", "--trace"]) == 0
    assert "trace (emulator, " in capsys.readouterr().out


@needs_envoy
def test_the_differential_case_shows_each_backends_answer(tmp_path: Path) -> None:
    scenario = tmp_path / "mine.yaml"
    token = fresh_token()  # signed now: the allow path on both backends (issue 27, item 2)
    scenario.write_text(
        "requests:\n  - {path: /mine, headers: {authorization: 'Bearer a.b.c'}}\n"
        f"  - {{path: /fresh, headers: {{authorization: 'Bearer {token}'}}}}\n"
    )
    reports = tmp_path / "reports"
    args = ["check", str(JWT_AUTH), "-q", "--backend", "envoy", "--select", "differential"]
    args += ["--plugin-config", CONFIG, "--requests", str(scenario), "--examples", "3"]
    assert main([*args, "--seed", "1", "--report-dir", str(reports)]) == 0
    (case,) = json.loads((reports / "run.json").read_text())["cases"]
    answers = case["details"]["answers"]
    mine = [a for a in answers if a["request"]["path"] == "/mine"]
    assert mine and mine[0]["emulator"]["status"] == mine[0]["envoy"]["status"] == 401
    assert mine[0]["envoy"]["local_reply"] and mine[0]["envoy"]["body"] == "Jwt verification fails"
    (fresh,) = [a for a in answers if a["request"]["path"] == "/fresh"]
    assert fresh["emulator"] == fresh["envoy"] == {"status": 200, "upstream": "GET /fresh"}
    assert 2 < len(answers) <= 8
    assert "answers" in (reports / "run.html").read_text()
