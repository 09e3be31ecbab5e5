"""``check`` inputs: root id and VM id, callout answers, the user's requests, a WasmPlugin YAML."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.check_cli import pytest_args
from pytest_proxy_wasm.cli import build_parser, main
from pytest_proxy_wasm.conformance.cases import CaseRun, Target
from pytest_proxy_wasm.conformance.inputs import InputError, load_scenario, parse_callout, parse_request_line
from pytest_proxy_wasm.host.runtime import Runtime

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
AS_BASIC_AUTH = FIXTURES / "assemblyscript" / "basic_auth.wasm"
CONFIG = '{"username": "admin", "password": "s3cret"}'
SEALOS = "outbound|5000||sealos.hub"


def run_json(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    reports = tmp_path / "reports"
    code = main(["check", *args, "-q", "--seed", "1", "--report-dir", str(reports)])
    return code, json.loads((reports / "run.json").read_text())


def test_assemblyscript_plugin_checks_with_its_root_id(tmp_path: Path) -> None:
    code, model = run_json(
        tmp_path,
        str(AS_BASIC_AUTH),
        "--root-id",
        "basic-auth",
        "--plugin-config",
        CONFIG,
        "--select",
        "module,lifecycle,failure_policy",
    )
    assert (code, model["verdict"]) == (0, "pass")
    assert model["inputs"]["root_id"] == "basic-auth"


def test_the_root_id_reaches_the_plugin(tmp_path: Path) -> None:
    """proxy-runtime looks the root id up and aborts on one it has no factory for."""
    code, model = run_json(
        tmp_path,
        str(AS_BASIC_AUTH),
        "--root-id",
        "no-such-root",
        "--plugin-config",
        CONFIG,
        "--select",
        "lifecycle.start_configure",
    )
    assert code == 1
    [case] = model["cases"]
    assert case["evidence"]["callback"] == "proxy_on_context_create"


def _wasmplugin(tmp_path: Path, config: str = CONFIG) -> Path:
    yaml = tmp_path / "plugins.yaml"
    yaml.write_text(
        f"""apiVersion: extensions.istio.io/v1alpha1
kind: WasmPlugin
metadata: {{name: basic-auth, namespace: istio-system}}
spec:
  url: file:///opt/plugins/basic_auth.wasm
  pluginName: basic-auth
  phase: AUTHN
  pluginConfig: {config}
  vmConfig:
    env:
      - {{name: MODE, value: strict}}
"""
    )
    return yaml


def test_check_takes_a_wasmplugin_yaml(tmp_path: Path) -> None:
    yaml = _wasmplugin(tmp_path)
    code, model = run_json(
        tmp_path,
        str(yaml),
        "--map-file",
        f"/opt/plugins/basic_auth.wasm={AS_BASIC_AUTH}",
        "--select",
        "module,lifecycle",
    )
    assert (code, model["verdict"]) == (0, "pass")
    assert model["modules"][0]["name"] == "istio-system.basic-auth.wasm"
    inputs = model["inputs"]
    assert inputs["root_id"] == "basic-auth"
    assert "WasmPlugin istio-system/basic-auth" in inputs["origin"] and "phase AUTHN" in inputs["origin"]
    assert "MODE=strict" in inputs["origin"]


def test_the_wasmplugin_config_reaches_the_plugin(tmp_path: Path) -> None:
    yaml = _wasmplugin(tmp_path, config="{}")  # no credentials: basic-auth refuses to configure
    code, _ = run_json(
        tmp_path,
        str(yaml),
        "--map-file",
        f"/opt/plugins/basic_auth.wasm={AS_BASIC_AUTH}",
        "--select",
        "lifecycle.start_configure",
    )
    assert code == 1


def test_a_yaml_with_several_plugins_checks_each_into_one_report(tmp_path: Path) -> None:
    """Each WasmPlugin with its own pluginConfig (issue 22): one passes, the other refuses to configure."""
    one = _wasmplugin(tmp_path).read_text()
    yaml = tmp_path / "two.yaml"
    yaml.write_text(one + "---\n" + one.replace("name: basic-auth,", "name: other,").replace(CONFIG, "{}"))
    mapped = f"/opt/plugins/basic_auth.wasm={AS_BASIC_AUTH}"
    code, model = run_json(tmp_path, str(yaml), "--map-file", mapped, "--select", "lifecycle.start_configure")
    assert code == 1
    assert sorted(m["name"] for m in model["modules"]) == [
        "istio-system.basic-auth.wasm",
        "istio-system.other.wasm",
    ]
    outcomes = {c["module"]: c["outcome"] for c in model["cases"]}
    assert outcomes == {"istio-system.basic-auth.wasm": "passed", "istio-system.other.wasm": "failed"}


def test_callout_answers_are_declared_before_the_plugin_starts() -> None:
    """callout-auth resumes on an even first byte: the user's answer ("b") lets requests through, the
    default answer ("ok") does not."""
    module = FIXTURES / "rust" / "callout_auth.wasm"
    runtime = Runtime(cache_dir=None)
    try:
        for callouts, status in ((((SEALOS, 200, "b"),), 200), ((), 403)):
            run = CaseRun(Target(module=module, callouts=callouts), runtime)
            host, plugin = run.started()
            assert host.request(plugin).status == status
            run.close()
    finally:
        runtime.close()


def test_input_options_reach_the_child_pytest(tmp_path: Path) -> None:
    args = build_parser().parse_args(
        [
            "check",
            str(AS_BASIC_AUTH),
            "--root-id",
            "r",
            "--vm-id",
            "v",
            "--callout",
            f"{SEALOS}=200:b",
            "--request",
            "GET /v2/",
            "--requests",
            "s.yaml",
        ]
    )
    out = pytest_args(args, tmp_path / "pytest.ini")
    joined = " ".join(out)
    for flag in (
        "--proxy-wasm-root-id r",
        "--proxy-wasm-vm-id v",
        f"--proxy-wasm-callout {SEALOS}=200:b",
        "--proxy-wasm-request GET /v2/",
        "--proxy-wasm-requests /",
    ):
        assert flag in joined


def test_request_lines_and_scenarios_parse(tmp_path: Path) -> None:
    assert parse_request_line("get /v2/") == {"method": "GET", "path": "/v2/"}
    assert parse_callout(f"{SEALOS}=503:down") == (SEALOS, 503, "down")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("requests:\n  - {path: /a, headers: [[x-a, '1']], body: [ab, c]}\n")
    expected = {"path": "/a", "headers": [("x-a", "1")], "body": [b"ab", b"c"], "method": "GET"}
    assert load_scenario(scenario) == [expected]  # method defaults to GET: only path is needed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("requests:\n  - {path: /a, verb: GET}\n", "unknown field 'verb'"),
        ("requests:\n  - {path: a}\n", "must start with '/'"),
        ("requests:\n  - {path: /a}\n  - {method: GET}\n", r"s.yaml: requests\[1\].path: missing"),
        ("requests:\n  - {path: /a, upstream_status: '200'}\n", "upstream_status: wrong type str"),
        ("nothing: here\n", "expected a 'requests' list"),
    ],
)
def test_bad_scenarios_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(text)
    with pytest.raises(InputError, match=message):
        load_scenario(scenario)


@pytest.mark.parametrize("extra", [["--request", "/v2/"], ["--callout", "cluster"]])
def test_bad_inputs_are_usage_errors(extra: list[str]) -> None:
    assert main(["check", str(AS_BASIC_AUTH), "-q", "--select", "module", *extra]) == 4


def test_a_multi_line_plugin_config_file_reaches_the_plugin(tmp_path: Path) -> None:
    """``--plugin-config @FILE`` goes to the child pytest as one token: pytest expands a separate
    argument starting with ``@`` as a file of arguments (a JSON file over several lines broke)."""
    config = tmp_path / "config.json"
    config.write_text('{\n  "username": "admin",\n  "password": "s3cret"\n}\n')
    module = FIXTURES / "go" / "basic_auth.wasm"
    args = build_parser().parse_args(["check", str(module), "--plugin-config", f"@{config}"])
    out = pytest_args(args, tmp_path / "pytest.ini")
    assert f"--proxy-wasm-plugin-config=@{config}" in out and not any(a.startswith("@") for a in out)
    code = main(["check", str(module), "-q", "--plugin-config", f"@{config}", "--select", "lifecycle"])
    assert code == 0  # the configuration was read: basic auth starts


def test_a_directory_stands_for_its_modules(tmp_path: Path) -> None:
    folder = tmp_path / "plugins"
    folder.mkdir()
    for name in ("headers.wasm", "basic_auth.wasm"):
        (folder / name).write_bytes((FIXTURES / "rust" / name).read_bytes())
    code, model = run_json(tmp_path, str(folder), "--select", "module.abi_marker")
    assert code == 0
    assert sorted(c["module"] for c in model["cases"]) == ["basic_auth.wasm", "headers.wasm"]


def test_modules_sharing_a_file_name_keep_their_own_results(tmp_path: Path) -> None:
    go, rust = FIXTURES / "go" / "probe.wasm", FIXTURES / "rust" / "probe.wasm"
    code, model = run_json(tmp_path, str(go), str(rust), "--select", "module.abi_marker")
    assert code == 0
    assert sorted(c["module"] for c in model["cases"]) == ["go/probe.wasm", "rust/probe.wasm"]
    assert (tmp_path / "reports" / "modules" / "go-probe.wasm.md").exists()
