"""``pytest-proxy-wasm run`` with a scenario file, the options ``run MODULE`` shares with scenarios, and
the two CLI defects of issue 20 (``--callout`` split, ``| head``)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm import cli
from pytest_proxy_wasm.backends import Backend, DiffBackend, EmulatorBackend
from pytest_proxy_wasm.cli import _callout, main
from pytest_proxy_wasm.outcome import Outcome

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"
SCENARIOS = FIXTURES / "scenarios"
CLUSTER = "outbound|5000||sealos.hub"


def test_run_a_scenario_prints_each_step(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(SCENARIOS / "rust-callout-auth.proxywasm.yaml")]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "rust callout-auth on emulator: PASS",
        "  step 1 (an even byte lets it through): -> 200 (upstream saw it, 1 callouts) PASS",
        "  step 2 (an odd byte is forbidden): -> 403 (upstream did not see it, 1 callouts) PASS",
    ]


def test_run_a_scenario_as_json_and_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(SCENARIOS / "rust-basic-auth.proxywasm.yaml"), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["backend"], data["passed"], len(data["steps"])) == ("emulator", True, 2)
    first = data["steps"][0]
    assert {"field": "expect.status", "expected": 401, "actual": 401, "passed": True} in first["checks"]
    assert first["outcome"]["status"] == 401
    assert main(["run", str(SCENARIOS / "rust-basic-auth.proxywasm.yaml"), "-v"]) == 0
    assert "expect.body:\n        expected: 'Unauthorized'" in capsys.readouterr().out


def test_a_failed_expectation_exits_1(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    text = (SCENARIOS / "rust-basic-auth.proxywasm.yaml").read_text().replace("status: 401", "status: 402")
    scenario = tmp_path / "wrong.proxywasm.yaml"
    scenario.write_text(text.replace("../rust/", f"{FIXTURES}/rust/"))
    assert main(["run", str(scenario)]) == 1
    out = capsys.readouterr().out
    assert "expect.status:\n        expected: 402\n        actual:   401" in out


def test_any_yaml_with_steps_is_a_scenario(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    scenario = tmp_path / "plain.yaml"
    scenario.write_text(f"plugins: [{{module: {FIXTURES}/rust/headers.wasm}}]\nsteps: [{{request: {{}}}}]\n")
    assert main(["run", str(scenario), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["passed"] is True


def test_an_invalid_scenario_exits_2_with_one_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.proxywasm.yaml"
    scenario.write_text("steps:\n  - request: {methd: GET}\n")
    result = subprocess.run(
        [sys.executable, "-m", "pytest_proxy_wasm", "run", str(scenario)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"pytest-proxy-wasm: {scenario}:2: steps[0].request: unknown field 'methd'")


def test_backends_leaving_this_one_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = tmp_path / "emulator-only.proxywasm.yaml"
    scenario.write_text("backends: [emulator]\nsteps:\n  - request: {path: /}\n")
    assert main(["run", str(scenario), "--backend", "diff"]) == 0
    assert "leave out diff" in capsys.readouterr().err


# -- issue 20, item 7 -------------------------------------------------------------------------------


def test_callout_splits_on_the_first_equals_sign() -> None:
    assert _callout(f"{CLUSTER}=200:a=b") == (CLUSTER, 200, "a=b")
    assert _callout("c=503:") == ("c", 503, "")
    with pytest.raises(argparse.ArgumentTypeError):
        _callout("=200")


def test_a_callout_body_with_equals_signs_is_answered(capsys: pytest.CaptureFixture[str]) -> None:
    module = str(FIXTURES / "rust" / "callout_auth.wasm")
    assert main(["run", module, "--callout", f"{CLUSTER}=200:\x02key=value", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == 200  # the even first byte of "\x02key=value" allowed it
    assert data["callouts"][0]["cluster"] == CLUSTER


def test_a_reader_that_goes_away_ends_quietly() -> None:
    """``run ... | head``: the reader closes the pipe before anything is written."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest_proxy_wasm", "run", str(FIXTURES / "rust" / "headers.wasm"), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    process.stdout.close()  # as `head` does once it has its lines
    stderr = process.stderr.read().decode()
    process.stderr.close()
    assert process.wait(timeout=60) == 1
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr
    assert stderr == ""


def test_head_in_a_shell_pipeline() -> None:
    module = FIXTURES / "rust" / "headers.wasm"
    command = f"{sys.executable} -m pytest_proxy_wasm run {module} --trace | head -2"
    result = subprocess.run(["bash", "-c", command], capture_output=True, text=True, check=False)
    assert result.stdout.splitlines() == ["status: 200", "  :status: 200"]
    assert "Traceback" not in result.stderr


# -- run MODULE: the options scenario files have ------------------------------------------------------


def test_a_chain_with_per_module_options(capsys: pytest.CaptureFixture[str]) -> None:
    auth = '{"username":"admin","password":"x"}'
    args = ["run", str(FIXTURES / "rust" / "headers.wasm"), str(FIXTURES / "go" / "basic_auth.wasm")]
    args += ["--plugin-config", "", "--plugin-config", auth, "--vm-id", "a", "--vm-id", "b"]
    args += ["--failure-policy", "FAIL_OPEN", "--json"]
    assert main(args) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == 401  # the second module answers; the first one's response path runs
    assert ["x-wasm-response", "world"] in data["response_headers"]
    assert data["upstream_request"] is None


def test_per_module_options_must_match_the_modules() -> None:
    module = str(FIXTURES / "rust" / "headers.wasm")
    with pytest.raises(SystemExit, match="--vm-id given 3 times for 2 modules"):
        main(["run", module, module, "--vm-id", "a", "--vm-id", "b", "--vm-id", "c"])


def test_direct_response_and_scheme(capsys: pytest.CaptureFixture[str]) -> None:
    module = str(FIXTURES / "rust" / "headers.wasm")
    options = ["--direct-response", "203:from=the route", "--scheme", "https", "--json"]
    assert main(["run", module, *options]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["status"], data["response_body"], data["upstream_request"]) == (203, "from=the route", None)
    assert any(log["message"] == "request header: :scheme: https" for log in data["logs"])
    with pytest.raises(SystemExit):
        main(["run", module, "--direct-response", "abc"])


def test_grpc_answers(capsys: pytest.CaptureFixture[str]) -> None:
    module = str(FIXTURES / "rust" / "grpc_auth.wasm")
    assert main(["run", module, "--grpc-callout", "grpc_auth=0:\x08\x01", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == 200
    assert main(["run", module, "--grpc-callout", "grpc_auth=7:denied", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["status"] == 403
    assert any("status=7" in log["message"] for log in data["logs"])


def test_a_service(capsys: pytest.CaptureFixture[str]) -> None:
    service = str(FIXTURES / "go" / "service_ticker.wasm")
    args = ["run", str(FIXTURES / "rust" / "headers.wasm"), "--service", service]
    assert main([*args, "--advance-ms", "1000", "--callout", "outbound|8080||stats.svc=204", "--json"]) == 0
    logs = [log["message"] for log in json.loads(capsys.readouterr().out)["logs"]]
    assert "service: vm started" in logs
    assert "service: tick 1" in logs


class _ExtraHeaderEmulator(EmulatorBackend):
    """Stands in for Envoy: an emulator whose upstream adds one header, so diff mode disagrees."""

    def request(self, plugins: Any = None, **kwargs: Any) -> Outcome:
        kwargs["upstream_headers"] = [*(kwargs.get("upstream_headers") or []), ("x-only-here", "1")]
        return super().request(plugins, **kwargs)


def test_a_diff_mismatch_in_a_scenario_exits_3(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def make(name: str, **kwargs: Any) -> Backend:
        assert name == "diff"
        return DiffBackend(EmulatorBackend(), _ExtraHeaderEmulator())

    monkeypatch.setattr(cli, "make_backend", make)
    assert main(["run", str(SCENARIOS / "rust-headers.proxywasm.yaml"), "--backend", "diff"]) == 3
    out = capsys.readouterr().out
    assert "step 1 (the defaults): - FAIL\n    the emulator and Envoy disagree" in out
    assert "only on Envoy:        [('x-only-here', '1')]" in out


def test_save_scenario_writes_the_same_exchange(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """One model, two spellings: ``run MODULE ... --save-scenario FILE`` and ``run FILE``."""
    saved = tmp_path / "saved" / "callout.proxywasm.yaml"
    saved.parent.mkdir()
    args = ["run", str(FIXTURES / "rust" / "headers.wasm"), str(FIXTURES / "rust" / "callout_auth.wasm")]
    args += ["--callout", f"{CLUSTER}=200:\x02=x", "--method", "POST", "--path", "/p", "-H", "x-a: caf\xe9"]
    args += ["--body", '{"a": 1}', "--upstream-header", "x-up: 1", "--upstream-body", "up"]
    args += ["--plugin-config", "", "--vm-id", "v", "--advance-ms", "10", "--save-scenario", str(saved)]
    assert main(args) == 0
    capsys.readouterr()
    text = saved.read_text()
    assert "module: ../../../" in text or "module: /" in text
    assert main(["run", str(saved), "-v"]) == 0
    out = capsys.readouterr().out
    assert "expect.status:\n        expected: 200\n        actual:   200" in out
    # a non-ASCII command-line value goes out as its UTF-8 bytes; the file keeps them, byte for byte
    assert "expect.upstream.headers.x-a:\n        expected: 'caf\xc3\xa9'" in out
    assert "expect.callouts[0].path" in out


def test_save_scenario_refuses_wasmplugin_yaml(tmp_path: Path) -> None:
    plugins = tmp_path / "plugins.yaml"
    plugins.write_text(
        "apiVersion: extensions.istio.io/v1alpha1\nkind: WasmPlugin\n"
        "metadata: {name: h, namespace: default}\n"
        f"spec: {{url: 'file://{FIXTURES / 'rust' / 'headers.wasm'}'}}\n"
    )
    command = [sys.executable, "-m", "pytest_proxy_wasm", "run", str(plugins), "--workload", "ns=default"]
    result = subprocess.run(
        [*command, "--save-scenario", str(tmp_path / "s.proxywasm.yaml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "--save-scenario: a WasmPlugin YAML run is not saved" in result.stderr


def test_a_plugin_that_traps_is_named_on_its_step(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 20 (blind scenarios): a trap was only visible as an unexpected status."""
    scenario = tmp_path / "trap.proxywasm.yaml"
    module = FIXTURES / "hostile" / "trap_request_headers.wasm"
    steps = "steps: [{request: {path: /}, expect: {status: 200}}]\n"
    scenario.write_text(f"plugins: [{{module: {module}}}]\n{steps}")
    assert main(["run", str(scenario)]) == 1
    step = capsys.readouterr().out.splitlines()[1]
    assert step.startswith("  step 1: -> 503 (upstream did not see it, 0 callouts) [a plugin failed: ")
    assert "proxy_on_request_headers" in step and step.endswith("] FAIL")
