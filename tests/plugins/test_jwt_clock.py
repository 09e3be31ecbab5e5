"""Issue 27, item 2: every host's clock starts at a realistic time, so a freshly signed JWT is accepted
(the Go jwt_auth sample checks exp/nbf against proxy_get_current_time_nanoseconds)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from pytest_proxy_wasm import Host
from pytest_proxy_wasm.backends import Backend
from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.host.clock_start import iso, parse_now

from .jwt_tokens import CONFIG, JWT_AUTH, PAST, fresh_token

MINUTE_NS = 60 * 10**9
pytest_plugins = ["pytester"]


def test_fresh_token_takes_the_allow_path_on_every_backend(proxy_wasm_backend: Backend) -> None:
    plugin = proxy_wasm_backend.load_plugin(JWT_AUTH, plugin_config=CONFIG)
    outcome = proxy_wasm_backend.request(plugin, headers={"authorization": f"Bearer {fresh_token()}"})
    assert outcome.status == 200, outcome.log_messages()
    assert outcome.upstream_request is not None
    assert outcome.upstream_request.header("x-jwt-sub") == "alice"
    assert "jwt-auth: allowed sub=alice" in proxy_wasm_backend.log_messages("info")


def test_expired_token_is_denied_with_the_reason_in_the_log(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(JWT_AUTH, plugin_config=CONFIG)
    token = fresh_token(lifetime_s=10)
    assert proxy_wasm_host.request(plugin, headers={"authorization": f"Bearer {token}"}).status == 200
    proxy_wasm_host.advance(11_000)  # the virtual clock moves only when the test moves it
    outcome = proxy_wasm_host.request(plugin, headers={"authorization": f"Bearer {token}"})
    assert outcome.status == 401
    assert any("token is expired" in m for m in outcome.log_messages("info"))


def test_a_pytest_host_starts_at_the_real_time(proxy_wasm_host: Host) -> None:
    assert abs(proxy_wasm_host.clock.realtime_ns - time.time_ns()) < MINUTE_NS


@pytest.mark.proxy_wasm(start_time_ns=parse_now(PAST))
def test_the_marker_sets_the_start(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(JWT_AUTH, plugin_config=CONFIG)
    outcome = proxy_wasm_host.request(plugin, headers={"authorization": f"Bearer {fresh_token()}"})
    assert outcome.status == 401
    assert any("token is not valid yet" in m for m in outcome.log_messages("info"))


def _scenario(tmp_path: Path) -> Path:
    scenario = tmp_path / "tokens.yaml"  # no method: only path is needed (issue 27, item 3)
    scenario.write_text(
        f"requests:\n  - path: /api\n    headers: {{authorization: 'Bearer {fresh_token()}'}}\n"
    )
    return scenario


def _check(tmp_path: Path, *extra: str) -> dict[str, object]:
    reports = tmp_path / "reports"
    args = ["check", str(JWT_AUTH), "-q", "--plugin-config", CONFIG, "--select", "failure_policy"]
    assert main([*args, "--requests", str(_scenario(tmp_path)), "--report-dir", str(reports), *extra]) == 0
    model: dict[str, object] = json.loads((reports / "run.json").read_text())
    return model


def _battery_logs(model: dict[str, object]) -> list[str]:
    cases = model["cases"]
    assert isinstance(cases, list)
    (battery,) = [c for c in cases if c["id"] == "failure_policy.fail_closed_battery"]
    return list(battery["logs"])


def test_check_exercises_the_allow_path_and_records_the_clock(tmp_path: Path) -> None:
    before = time.time_ns()
    model = _check(tmp_path)
    assert "[info] jwt-auth: allowed sub=alice" in _battery_logs(model)
    inputs = model["inputs"]
    assert isinstance(inputs, dict)
    assert before <= inputs["clock_start_ns"] <= time.time_ns()
    assert inputs["clock_start"] == iso(inputs["clock_start_ns"])
    assert inputs["plugin_config"] == CONFIG
    coverage = model["modules"][0]["coverage"]  # type: ignore[index]
    assert coverage["callbacks"]["proxy_on_memory_allocate"] > 0  # the Go allocator counts as called
    assert "proxy_on_memory_allocate" not in coverage["exported_never_called"]
    html = (tmp_path / "reports" / "run.html").read_text()
    assert inputs["clock_start"] in html and "plugin configuration" in html and "s3cret" in html


def test_check_now_sets_every_case_hosts_clock(tmp_path: Path) -> None:
    model = _check(tmp_path, "--now", PAST)
    assert any("token is not valid yet" in line for line in _battery_logs(model))
    assert model["inputs"]["clock_start"] == "2023-11-14T00:00:00.000Z"  # type: ignore[index]


def test_run_starts_at_the_real_time_and_takes_now(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", str(JWT_AUTH), "--plugin-config", CONFIG, "-H", f"authorization: Bearer {fresh_token()}"]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == 200
    assert main([*args, "--json", "--now", PAST]) == 0
    assert json.loads(capsys.readouterr().out)["status"] == 401


def test_bad_now_values_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", str(JWT_AUTH), "--now", "yesterday"])
    assert exc.value.code == 2
    assert "ISO 8601" in capsys.readouterr().err
    assert main(["check", str(JWT_AUTH), "--now", "yesterday"]) == 4
    assert "--now: expected an ISO 8601 time" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31T12:00:00Z", 1_769_860_800 * 10**9),
        ("2026-01-31T13:00:00+01:00", 1_769_860_800 * 10**9),
        ("2026-01-31T12:00:00", 1_769_860_800 * 10**9),  # no offset: UTC
        ("1769860800.000000001", 1_769_860_800 * 10**9 + 1),
        ("real", None),
    ],
)
def test_now_formats(text: str, expected: int | None) -> None:
    assert parse_now(text) == expected


def test_pytest_now_option(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_now="def test_now(proxy_wasm_host):\n"
        "    assert proxy_wasm_host.clock.realtime_ns == 1_769_860_800 * 10**9\n"
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--proxy-wasm-now", "2026-01-31T12:00:00Z"
    )
    result.assert_outcomes(passed=1)
    bad = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--proxy-wasm-now", "soon")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--proxy-wasm-now: expected an ISO 8601 time*"])
