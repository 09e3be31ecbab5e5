"""Running scenarios on a backend: each field checked, failures as expected against actual."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm.backends import Backend, EmulatorBackend
from pytest_proxy_wasm.scenarios import (
    Cluster,
    HttpAnswer,
    PluginDecl,
    Request,
    Scenario,
    ScenarioError,
    ScenarioResult,
    Step,
    UpstreamAnswer,
    dump_scenario,
    expect_from_outcome,
    loads_scenario,
    run_scenario,
)

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


def test_start_failure_fails_when_the_plugin_starts() -> None:
    backend = EmulatorBackend()
    try:
        result = run_text(
            backend,
            """
plugins: [{module: rust/headers.wasm, start_failure: proxy_on_configure}]
steps: [{request: {path: /}, expect: {status: 200}}]
""",
        )
    finally:
        backend.close()
    assert not result.passed
    assert [(c.field, c.actual, c.passed) for c in result.start] == [
        ("plugins[0].start_failure", "(the plugin started)", False)
    ]
    assert result.steps[0].passed  # it is in the chain then


def test_a_wasmplugin_yaml_module(proxy_wasm_backend: Backend, tmp_path: Path) -> None:
    (tmp_path / "plugins.yaml").write_text(
        f"""apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {{name: headers, namespace: default}}
spec:
  url: file://{FIXTURES / "rust" / "headers.wasm"}
  pluginConfig: {{request_header: [x-from, istio]}}
"""
    )
    scenario = loads_scenario(
        """
plugins: [{module: plugins.yaml, workload: ns=default}]
steps:
  - request: {path: /}
    expect: {status: 200, upstream: {headers: {x-from: istio}}}
""",
        base_dir=tmp_path,
    )
    result = run_scenario(scenario, proxy_wasm_backend)
    assert result.passed, result.report()


def test_a_wasmplugin_yaml_module_takes_no_plugin_settings(tmp_path: Path) -> None:
    (tmp_path / "plugins.yaml").write_text("")
    scenario = loads_scenario(
        "plugins: [{module: plugins.yaml, config: {a: 1}}]\nsteps: [{}]\n", base_dir=tmp_path, source="s.yaml"
    )
    backend = EmulatorBackend()
    try:
        with pytest.raises(ScenarioError, match=r"plugins\[0\]: a WasmPlugin YAML carries its own settings"):
            run_scenario(scenario, backend)
    finally:
        backend.close()


def test_settings_the_schema_cannot_check_are_named_with_their_line(tmp_path: Path) -> None:
    text = "plugins:\n  - module: rust/headers.wasm\n  - module: missing.wasm\nsteps: [{}]\n"
    backend = EmulatorBackend()
    try:
        with pytest.raises(ScenarioError) as info:
            run_scenario(loads_scenario(text, base_dir=FIXTURES, source="s.yaml"), backend)
        assert str(info.value) == f"s.yaml:3: plugins[1].module: no such file: {FIXTURES / 'missing.wasm'}"
        text = "steps:\n  - request: {}\n  - clusters:\n      x:\n        grpc: [{answers: [{}]}]\n"
        with pytest.raises(ScenarioError, match=r"^s\.yaml:5: steps\[1\]\.clusters\.x\.grpc: gRPC answers"):
            run_scenario(loads_scenario(text, source="s.yaml"), backend)
        assert backend.plugins == []  # refused before anything started
    finally:
        backend.close()


def test_expectations_captured_from_one_run_pass_on_every_backend(proxy_wasm_backend: Backend) -> None:
    """What a tool does to turn a run into a regression test (``expect_from_outcome``)."""
    emulator = EmulatorBackend()
    try:
        emulator.expect_http_call(CLUSTER).respond_with(200, body=b"\x00")
        chain = [emulator.load_plugin(FIXTURES / "rust" / "headers.wasm")]
        chain.append(emulator.load_plugin(FIXTURES / "rust" / "callout_auth.wasm"))
        outcome = emulator.request(chain, method="POST", path="/p", body=b"\xff", upstream_body="up")
    finally:
        emulator.close()
    expect = expect_from_outcome(outcome)
    assert expect.status == 200 and expect.body == "up"
    assert expect.headers == {"x-wasm-response": "world"}
    assert expect.upstream == {
        "method": "POST",
        "path": "/p",
        "headers": {"x-wasm-request": "hello"},
        "body": {"base64": "/w=="},
    }
    assert expect.callouts == [{"cluster": CLUSTER, "method": "GET", "path": "/bytes/1", "status": 200}]
    scenario = Scenario(
        plugins=[PluginDecl(module="rust/headers.wasm"), PluginDecl(module="rust/callout_auth.wasm")],
        clusters={CLUSTER: Cluster(answers=[HttpAnswer(body_base64="AA==")])},
        steps=[
            Step(
                request=Request(method="POST", path="/p", body_base64="/w=="),
                upstream=UpstreamAnswer(body="up"),
                expect=expect,
            )
        ],
        base_dir=FIXTURES,
    )
    result = run_scenario(loads_scenario(dump_scenario(scenario), base_dir=FIXTURES), proxy_wasm_backend)
    assert result.passed, result.report()
