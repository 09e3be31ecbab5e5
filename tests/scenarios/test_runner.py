"""Running scenarios on a backend: each field checked, failures as expected against actual."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm.backends import Backend, EmulatorBackend
from pytest_proxy_wasm.scenarios import ScenarioResult, loads_scenario, run_scenario

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
CLUSTER = "outbound|5000||sealos.hub"


def run_text(backend: Backend, text: str) -> ScenarioResult:
    return run_scenario(loads_scenario(text, base_dir=FIXTURES, source="t.yaml"), backend)


def test_steps_share_one_host_and_answers_go_in_order(proxy_wasm_backend: Backend) -> None:
    result = run_text(
        proxy_wasm_backend,
        f"""
plugins: [{{module: rust/callout_auth.wasm}}]
clusters:
  "{CLUSTER}": {{answers: [{{body: "\\x02"}}, {{fail: reset}}, {{status: 500, body: "\\x00"}}]}}
steps:
  - request: {{path: /a}}
    expect: {{status: 200, callouts: [{{cluster: "{CLUSTER}", status: 200}}]}}
  - request: {{path: /b}}
    expect: {{status: 403, upstream: false, callouts: [{{status: 503}}]}}  # Envoy's reply to a reset
  - request: {{path: /c}}
    expect: {{status: 200, callouts: [{{status: 500}}]}}
""",
    )
    assert result.passed, result.report()


def test_a_failing_field_shows_expected_and_actual() -> None:
    backend = EmulatorBackend()
    try:
        result = run_text(
            backend,
            """
plugins: [{module: rust/headers.wasm}]
steps:
  - request: {path: /x, headers: {x-remove-me: "1"}}
    upstream: {status: 201, body: '{"a": {"b": 1, "c": 2}}', headers: {x-up: two}}
    expect:
      status: 200
      headers: {x-wasm-response: world, x-up: {contains: tw}, x-none: {absent: true}}
      body: {json: {a: {b: 2}}}
      upstream: {headers: {x-remove-me: {absent: true}, x-wasm-request: hello}}
      logs: [{level: warn, regex: "request header"}]
""",
        )
    finally:
        backend.close()
    [step] = result.steps
    failed = {c.field: (c.expected, c.actual) for c in step.failures}
    assert failed.keys() == {"expect.status", "expect.body", "expect.logs[0]"}
    assert failed["expect.status"] == (200, 201)
    assert failed["expect.body"] == ({"json": {"a": {"b": 2}}}, '{"a": {"b": 1, "c": 2}}')
    assert "[info] request header: :path: /x" in failed["expect.logs[0]"][1]
    report = result.report()
    assert "expect.status:\n        expected: 200\n        actual:   201" in report


def test_time_steps_metrics_and_shared_data() -> None:
    backend = EmulatorBackend()
    try:
        result = run_text(
            backend,
            """
plugins: [{module: go/shared_state.wasm}]
steps:
  - request: {path: /}
  - advance_ms: 1000
    expect:
      shared_data: {nothing-here: {absent: true}}
      metrics: {no-such-metric: {absent: true}}
      status: 200
""",
        )
    finally:
        backend.close()
    step = result.steps[1]
    assert step.outcome is None
    assert [c.field for c in step.failures] == ["expect.status"]  # a time-only step has no status
    assert step.failures[0].actual == "(this step has no request)"


def test_an_undeclared_callout_fails_the_scenario_at_the_end() -> None:
    backend = EmulatorBackend()
    try:
        result = run_text(
            backend,
            f"""
plugins: [{{module: rust/callout_auth.wasm}}]
clusters: {{"{CLUSTER}": null}}
steps:
  - request: {{path: /}}
    expect: {{status: 403}}
""",
        )
    finally:
        backend.close()
    assert result.steps[0].passed
    assert not result.passed
    assert "unexpected HTTP call to cluster" in (result.error or "")


@pytest.mark.parametrize("answer", ["{status: 200, body: ok}", "{fail: timeout}"])
def test_step_clusters_replace_the_answers(answer: str) -> None:
    backend = EmulatorBackend()
    try:
        result = run_text(
            backend,
            f"""
plugins: [{{module: rust/callout_auth.wasm}}]
clusters: {{"{CLUSTER}": {{answers: [{{body: "\\x00"}}]}}}}
steps:
  - request: {{path: /}}
    expect: {{status: 200}}
  - clusters: {{"{CLUSTER}": {{answers: [{answer}]}}}}
    request: {{path: /}}
    expect: {{status: 403}}
""",
        )
    finally:
        backend.close()
    assert result.passed, result.report()
