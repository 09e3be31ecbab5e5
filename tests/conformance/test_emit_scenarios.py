"""``check --emit-scenarios DIR``: each finding becomes a scenario that reproduces it (passes while the
plugin behaves so, fails on a plugin without the fault), Envoy's answer as the expectation when it ran."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from pytest_proxy_wasm.backends import make_backend
from pytest_proxy_wasm.check_cli import run_check
from pytest_proxy_wasm.cli import build_parser
from pytest_proxy_wasm.conformance.cases import Target
from pytest_proxy_wasm.conformance.emit import NotExpressibleError, emit_scenarios, request_step
from pytest_proxy_wasm.conformance.evidence import Evidence, Exchange, PluginSetup
from pytest_proxy_wasm.host.abi.enums import FailurePolicy
from pytest_proxy_wasm.outcome import Outcome
from pytest_proxy_wasm.plugin import envoy_unavailable_reason
from pytest_proxy_wasm.scenarios import Scenario, ScenarioResult, load_scenario, run_scenario

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
BODY_SUM = FIXTURES / "go" / "body_sum.wasm"  # 400 when the body comes in one frame (its bug)
TRAP = FIXTURES / "hostile" / "trap_request_headers.wasm"
HEALTHY = FIXTURES / "go" / "headers.wasm"


def check(tmp_path: Path, module: Path, select: str, backend: str = "emulator") -> list[Path]:
    out = tmp_path / "emitted"
    args = build_parser().parse_args(
        ["check", str(module), "--select", select, "--backend", backend, "--emit-scenarios", str(out), "-q"]
    )
    assert run_check(args) == 1  # the finding fails the check
    return sorted(out.glob("*.proxywasm.yaml"))


def run(scenario: Scenario, backend: str = "emulator", module: Path | None = None) -> ScenarioResult:
    if module is not None:
        scenario = copy.deepcopy(scenario)
        scenario.plugins[0].module = str(module)
    host = make_backend(backend)
    try:
        return run_scenario(scenario, host)
    finally:
        host.close()


def test_a_finding_shown_by_two_answers_gives_one_file_each(tmp_path: Path) -> None:
    files = check(tmp_path, BODY_SUM, "http_robustness.body_chunking")
    assert [f.name for f in files] == [
        "http_robustness.body_chunking.body_sum.1.proxywasm.yaml",
        "http_robustness.body_chunking.body_sum.2.proxywasm.yaml",
    ]
    text = files[0].read_text()
    assert "# Expectation: the emulator's answer (no Envoy ran" in text
    one_frame, two_frames = (load_scenario(f) for f in files)
    assert one_frame.steps[-1].request is not None and one_frame.steps[-1].request.chunks is not None
    assert len(one_frame.steps[-1].request.chunks) == 1
    assert one_frame.steps[-1].expect is not None and one_frame.steps[-1].expect.status == 400
    assert run(one_frame).passed and run(two_frames).passed  # they reproduce the finding
    assert not run(one_frame, module=HEALTHY).passed  # a plugin without the fault answers 200


def test_a_trap_finding_reproduces_and_fails_without_the_trap(tmp_path: Path) -> None:
    [path] = check(tmp_path, TRAP, "failure_policy.fail_closed_battery")
    scenario = load_scenario(path)
    expect = scenario.steps[-1].expect
    assert expect is not None and expect.plugin_failed is True and expect.status == 503
    assert run(scenario).passed
    healthy = run(scenario, module=HEALTHY)
    assert not healthy.passed
    assert {c.field for c in healthy.steps[-1].failures} == {"expect.status", "expect.plugin_failed"}


@pytest.mark.skipif(envoy_unavailable_reason("envoy") is not None, reason="no Envoy")
def test_with_envoy_the_expectation_is_envoys_answer(tmp_path: Path) -> None:
    files = check(tmp_path, BODY_SUM, "http_robustness.body_chunking", backend="envoy")
    assert len(files) == 2
    assert "# Expectation: what Envoy 1.40 did (the emulator answers the same)." in files[0].read_text()
    for path in files:
        scenario = load_scenario(path)
        assert run(scenario, "envoy").passed and run(scenario).passed


def test_request_keywords_as_a_step() -> None:
    step = request_step(
        {
            "method": "POST",
            "path": "/p",
            "headers": [("x-a", b"caf\xe9"), ("x-b", "1")],
            "body": b"\xff\x00",
            "upstream_status": 503,
            "upstream_body": "down",
        },
        "n",
    )
    assert step == {
        "name": "n",
        "request": {
            "method": "POST",
            "path": "/p",
            "headers": [["x-a", "caf\xe9"], ["x-b", "1"]],
            "body_base64": "/wA=",
        },
        "upstream": {"status": 503, "body": "down"},
    }
    assert request_step({"body": [b"a", b"b"]})["request"] == {"chunks": ["a", "b"]}
    with pytest.raises(NotExpressibleError, match="frames that are not UTF-8"):
        request_step({"body": [b"\xff"]})
    with pytest.raises(NotExpressibleError, match="uses upstream_trailers"):
        request_step({"upstream_trailers": [("a", "b")]})


def _evidence(replay: dict[str, object] | None) -> Evidence:
    outcome = Outcome(status=500, response_headers=[], response_body=b"", upstream_request=None, logs=[])
    setup = PluginSetup("0" * 64, "p", "", "", b'{"a": 1}', b"", {}, FailurePolicy.FAIL_OPEN, True)
    exchange = Exchange({"method": "GET", "path": "/x"}, [setup], outcome, 0, [("http", {"path": "/before"})])
    return Evidence(raw=[exchange], replay=replay)


def test_an_emulator_only_finding_expects_envoys_answer_on_envoy_only(tmp_path: Path) -> None:
    target = Target(module=HEALTHY, backend="envoy", callouts=(("auth", 403, "no"),))
    replay = {
        "verdict": "emulator only",
        "envoy": "Envoy 1.40",
        "outcomes": [{"status": 200, "plugin_failed": None}],
    }
    [path], why = emit_scenarios(tmp_path, "area.case", "it broke", target, _evidence(replay))
    assert why == ""
    text = path.read_text()
    assert "# Expectation: what Envoy 1.40 did; the emulator answers otherwise" in text
    scenario = load_scenario(path)
    assert scenario.backends == ["envoy", "container"]
    assert [s.name for s in scenario.steps] == ["sent before (#1)", "the finding's input"]
    last = scenario.steps[-1]
    assert last.expect is not None and (last.expect.status, last.expect.plugin_failed) == (200, False)
    assert scenario.plugins[0].failure_policy == "FAIL_OPEN" and scenario.plugins[0].config == '{"a": 1}'
    assert scenario.resolve(scenario.plugins[0].module).resolve() == HEALTHY
    assert scenario.clusters["auth"].answers[0].status == 403


def test_without_envoy_the_expectation_is_the_emulators(tmp_path: Path) -> None:
    [path], _ = emit_scenarios(tmp_path, "a.b", "", Target(module=HEALTHY), _evidence(None))
    assert "the emulator's answer (no Envoy ran" in path.read_text()
    last = load_scenario(path).steps[-1]
    assert last.expect is not None and (last.expect.status, last.expect.plugin_failed) == (500, False)


def test_no_exchange_no_scenario(tmp_path: Path) -> None:
    assert emit_scenarios(tmp_path, "a.b", "", Target(module=HEALTHY), Evidence()) == (
        [],
        "no single exchange shows the finding",
    )


def test_a_wasmplugin_checks_module_is_kept_beside_the_files(tmp_path: Path) -> None:
    """``check plugins.yaml`` fetches the module into a temporary directory it removes afterwards."""
    yaml = tmp_path / "plugins.yaml"
    yaml.write_text(
        "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\n"
        "metadata: {name: sum, namespace: shop}\nspec:\n  url: file:///opt/plugins/body_sum.wasm\n"
    )
    out = tmp_path / "emitted"
    argv = ["check", str(yaml), "--map-file", f"/opt/plugins/body_sum.wasm={BODY_SUM}", "-q",
            "--select", "http_robustness.body_chunking", "--emit-scenarios", str(out)]  # fmt: skip
    assert run_check(build_parser().parse_args(argv)) == 1
    files = sorted(out.glob("*.proxywasm.yaml"))
    assert len(files) == 2
    scenario = load_scenario(files[0])
    module = scenario.resolve(scenario.plugins[0].module)
    assert module.parent == out and module.read_bytes() == BODY_SUM.read_bytes()
    assert run(scenario).passed
