"""``pytest-proxy-wasm run``: the Outcome as JSON, exit codes, options."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm import cli
from pytest_proxy_wasm.backends import Backend, DiffBackend, EmulatorBackend
from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.outcome import Outcome

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
AUTH = {"username": "admin", "password": "s3cret"}


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    assert main(["run", *args, "--json"]) == 0
    data: dict[str, object] = json.loads(capsys.readouterr().out)
    return data


def test_header_plugin_json(capsys: pytest.CaptureFixture[str]) -> None:
    data = run_json(
        capsys,
        str(FIXTURES / "rust" / "headers.wasm"),
        "--path",
        "/x",
        "-H",
        "x-remove-me: 1",
        "--upstream-header",
        "x-up: 2",
        "--upstream-body",
        "hi",
    )
    assert data["status"] == 200
    assert data["response_body"] == "hi"
    assert ["x-wasm-response", "world"] in data["response_headers"]  # type: ignore[operator]
    upstream = data["upstream_request"]
    assert isinstance(upstream, dict)
    assert upstream["path"] == "/x"
    assert ["x-wasm-request", "hello"] in upstream["headers"]
    assert all(h[0] != "x-remove-me" for h in upstream["headers"])
    logs = data["logs"]
    assert isinstance(logs, list)
    line = {"level": "info", "message": "request header: :path: /x", "plugin": "headers", "source": "plugin"}
    assert line in logs
    assert data["plugin_failed"] is None


def test_config_from_file_and_local_reply(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "auth.json"
    config.write_text(json.dumps(AUTH))
    denied = run_json(capsys, str(FIXTURES / "go" / "basic_auth.wasm"), "--plugin-config", f"@{config}")
    assert denied["status"] == 401
    assert denied["upstream_request"] is None
    token = base64.b64encode(b"admin:s3cret").decode()
    allowed = run_json(
        capsys,
        str(FIXTURES / "go" / "basic_auth.wasm"),
        "--plugin-config",
        f"@{config}",
        "-H",
        f"authorization: Basic {token}",
    )
    assert allowed["status"] == 200


def test_body_plugin_and_callout_option(capsys: pytest.CaptureFixture[str]) -> None:
    body = run_json(
        capsys,
        str(FIXTURES / "rust" / "body.wasm"),
        "--method",
        "POST",
        "--body",
        '{"a":1}',
        "--upstream-body",
        "x",
    )
    assert body["upstream_request"]["body"] == '{"a":1,"rewritten":true}'  # type: ignore[index]
    assert body["response_body"] == "replaced by wasm"
    allowed = run_json(
        capsys,
        str(FIXTURES / "assemblyscript" / "callout_auth.wasm"),
        "--callout",
        "outbound|5000||sealos.hub=200:\x02",
    )
    assert allowed["status"] == 200
    assert allowed["callouts"][0]["cluster"] == "outbound|5000||sealos.hub"  # type: ignore[index]


def test_unloadable_module_exits_non_zero_with_one_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.wasm"
    broken.write_bytes(b"not wasm at all")
    result = subprocess.run(
        [sys.executable, "-m", "pytest_proxy_wasm", "run", str(broken)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "pytest-proxy-wasm: cannot load broken.wasm: not a WebAssembly binary (bad magic number)"
    ]


def test_refused_configuration_exits_non_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(FIXTURES / "rust" / "basic_auth.wasm"), "--plugin-config", "{}"]) == 2
    assert "proxy_on_configure failed" in capsys.readouterr().err


def test_bad_header_option_is_a_usage_error() -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "x.wasm", "-H", "no-colon"])
    assert info.value.code == 2


class _ServerHeaderEmulator(EmulatorBackend):
    """Stands in for Envoy in these tests: an emulator whose upstream adds one header."""

    def request(self, plugins: Any = None, **kwargs: Any) -> Outcome:
        kwargs["upstream_headers"] = [*kwargs.get("upstream_headers", []), ("x-only-here", "1")]
        return super().request(plugins, **kwargs)


@pytest.fixture
def diff_against_a_changed_twin(monkeypatch: pytest.MonkeyPatch) -> None:
    def make(name: str, **kwargs: Any) -> Backend:
        assert name == "diff"
        return DiffBackend(EmulatorBackend(), _ServerHeaderEmulator())

    monkeypatch.setattr(cli, "make_backend", make)


@pytest.mark.usefixtures("diff_against_a_changed_twin")
def test_diff_mismatch_prints_each_field_and_exits_3(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(FIXTURES / "rust" / "headers.wasm"), "--backend", "diff"]) == 3
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.splitlines()[:3] == [
        "the emulator and Envoy disagree on this exchange:",
        "  response_headers:",
        "    only on the emulator: []",
    ]
    assert "only on Envoy:        [('x-only-here', '1')]" in err
    assert "upstream_request" not in err  # only the fields that differ


@pytest.mark.usefixtures("diff_against_a_changed_twin")
def test_diff_mismatch_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(FIXTURES / "rust" / "headers.wasm"), "--backend", "diff", "--json"]) == 3
    data = json.loads(capsys.readouterr().out)
    fields = [d.split(":")[0].split(" (")[0] for d in data["backend_mismatch"]]
    assert fields == ["response_headers", "plugin_logs"]  # the plugin logs the extra header too


def test_header_values_go_out_as_the_command_lines_bytes(capsys: pytest.CaptureFixture[str]) -> None:
    raw = os.fsdecode(b"caf\xe9")  # a Latin-1 byte on a UTF-8 command line: kept as that byte
    data = run_json(capsys, str(FIXTURES / "rust" / "headers.wasm"), "-H", "x-a: café", "-H", f"x-b: {raw}")
    headers = data["upstream_request"]["headers"]  # type: ignore[index]
    assert ["x-a", "café".encode().decode("latin-1")] in headers  # UTF-8 bytes, shown one per character
    assert ["x-b", "caf\xe9"] in headers


def test_a_missing_module_on_envoy_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    """The Envoy backends name a module file that is not there as the emulator does (exit 2, no traceback)."""
    assert main(["run", "/nonexistent/plugin.wasm", "--backend", "envoy"]) == 2
    err = capsys.readouterr().err
    assert "cannot read /nonexistent/plugin.wasm" in err and "Traceback" not in err
