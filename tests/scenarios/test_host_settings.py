"""A scenario's host settings: now, the client address, platform, profile and Redis answers."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_proxy_wasm.backends import EmulatorBackend, make_backend
from pytest_proxy_wasm.plugin import envoy_unavailable_reason, selected_backends
from pytest_proxy_wasm.scenarios import (
    Scenario,
    ScenarioError,
    backend_skip_reason,
    dump_scenario,
    load_scenario,
    loads_scenario,
    run_scenario,
    scenario_host_options,
)

ROOT = Path(__file__).resolve().parents[2]
FILES = ROOT / "fixtures" / "scenarios"
JWT = FILES / "go-jwt-auth-emulator-clock.proxywasm.yaml"
IP_ALLOW = FILES / "go-ip-allow.proxywasm.yaml"
HIGRESS = FILES / "go-higress-ratelimit.proxywasm.yaml"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "backend_name" in metafunc.fixturenames:
        metafunc.parametrize("backend_name", selected_backends(metafunc.config))


@pytest.mark.parametrize("path", [JWT, IP_ALLOW, HIGRESS], ids=lambda p: p.name.split(".")[0])
def test_the_sample_files_pass_where_they_run(path: Path, backend_name: str) -> None:
    scenario = load_scenario(path)
    skip = backend_skip_reason(scenario, backend_name)
    if skip or (backend_name != "emulator" and (skip := envoy_unavailable_reason(backend_name))):
        pytest.skip(skip)
    backend = make_backend(backend_name, options=scenario_host_options(scenario))
    try:
        result = run_scenario(scenario, backend)
    finally:
        backend.close()
    assert result.passed, result.report()


@pytest.mark.parametrize(
    ("now", "start_ns"),
    [
        ("2026-01-31T12:00:00Z", 1769860800 * 10**9),  # a YAML timestamp
        ("'2026-01-31T13:00:00+01:00'", 1769860800 * 10**9),  # a string with an offset
        ("2026-01-31", 1769817600 * 10**9),  # a YAML date: its midnight, UTC
        ("1769860800.5", 1769860800_500_000_000),  # seconds since the epoch
        ("real", None),
    ],
)
def test_now_takes_the_forms_of_run_now(now: str, start_ns: int | None) -> None:
    scenario = loads_scenario(f"now: {now}\nsteps: [{{}}]\n")
    assert scenario_host_options(scenario).start_time_ns == start_ns


def test_a_bad_now_or_peer_is_named_with_its_line() -> None:
    with pytest.raises(ScenarioError, match=r"^s\.yaml:2: now: expected an ISO 8601 time"):
        scenario_host_options(loads_scenario("name: x\nnow: yesterday\nsteps: [{}]\n", source="s.yaml"))
    with pytest.raises(ScenarioError, match=r"^s\.yaml:1: peer_address: "):
        scenario_host_options(loads_scenario("peer_address: nowhere\nsteps: [{}]\n", source="s.yaml"))


def test_the_emulator_clock_starts_at_now() -> None:
    scenario = loads_scenario(
        "now: 1769860800\nplugins: [{module: go/jwt_auth.wasm, config: {secret: x}}]\n"
        "steps: [{request: {path: /}, expect: {status: 401, logs: ['missing bearer token']}}]\n",
        base_dir=ROOT / "fixtures",
    )
    backend = make_backend("emulator", options=scenario_host_options(scenario))
    try:
        assert run_scenario(scenario, backend).passed
        assert backend.clock.realtime_ns == 1769860800 * 10**9  # type: ignore[attr-defined]
    finally:
        backend.close()


def test_a_backend_created_without_the_settings_is_refused_by_name() -> None:
    backend = EmulatorBackend()
    try:
        with pytest.raises(ScenarioError) as info:
            run_scenario(load_scenario(JWT), backend)
    finally:
        backend.close()
    assert info.value.field == "now" and info.value.line == 6
    assert "create it with make_backend(name, options=scenario_host_options(scenario))" in str(info.value)
    assert backend.plugins == []


@pytest.mark.parametrize("name", ["envoy", "container", "diff"])
def test_the_envoy_backends_skip_higress_and_a_set_clock_with_a_reason(name: str) -> None:
    higress = backend_skip_reason(load_scenario(HIGRESS), name)
    assert higress is not None and "upstream Envoy 1.40 refuses the Higress SDKs' ABI marker" in higress
    clock = backend_skip_reason(load_scenario(JWT), name)
    assert clock is not None and clock.startswith("now: sets the emulator's clock")
    assert backend_skip_reason(loads_scenario("now: real\nsteps: [{}]\n"), name) is None
    assert backend_skip_reason(load_scenario(IP_ALLOW), name) is None
    with pytest.raises(ScenarioError, match=r"platform: platform: higress runs on the emulator only"):
        run_scenario(load_scenario(HIGRESS), SimpleNamespace(name=name))  # type: ignore[arg-type]


def test_pytest_skips_a_higress_file_on_envoy_saying_why(pytester: pytest.Pytester) -> None:
    pytester.makefile(".proxywasm.yaml", rl=HIGRESS.read_text().replace("../go/", f"{ROOT}/fixtures/go/"))
    result = pytester.runpytest("-p", "no:xdist", "-rs", "--proxy-wasm-backend", "envoy")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*platform: higress runs on the emulator only*"])


def run_higress(text: str) -> object:
    scenario = loads_scenario(text, base_dir=ROOT / "fixtures", source="r.yaml")
    backend = make_backend("emulator", options=scenario_host_options(scenario))
    try:
        return run_scenario(scenario, backend)
    finally:
        backend.close()


REDIS = "outbound|6379||redis.default.svc.cluster.local"
HEAD = f"platform: higress\nplugins: [{{module: go/higress_ratelimit.wasm}}]\nredis:\n  '{REDIS}':\n"


def test_redis_answer_forms_and_a_failing_call_check() -> None:
    result = run_higress(
        HEAD
        + '    - {command: INCR, args: [rl::bob], answers: [{raw: ":7\\r\\n"}]}\n'
        + "    - {command: INCR, answers: [{error: ERR busy}, {nil: true}, {value: '2'}]}\n"
        + """steps:
  - request: {path: /, headers: {x-user: bob}}
    expect: {status: 429, redis_calls: [{command: INCR rl::bob}]}
  - {request: {path: /}, expect: {status: 200, logs: ["not an integer|unavailable|answer"]}}
  - {request: {path: /}, expect: {status: 200}}
  - request: {path: /}
    expect: {status: 200, redis_calls: [{cluster: other, command: GET x, status: 1}]}
"""
    )
    steps = result.steps  # type: ignore[attr-defined]
    assert [s.passed for s in steps] == [True, True, True, False]
    failed = {c.field: (c.expected, c.actual) for c in steps[3].failures}
    assert failed == {
        "expect.redis_calls[0].cluster": ("other", REDIS),
        "expect.redis_calls[0].command": ("GET x", "INCR rl::anonymous"),
        "expect.redis_calls[0].status": (1, 0),
    }


def test_redis_without_platform_higress_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"redis: Redis answers are for Higress plugins: add platform"):
        run_higress(HEAD.replace("platform: higress", "name: x") + "    answers: [{value: 1}]\nsteps: [{}]\n")


def test_a_redis_answer_takes_one_form() -> None:
    with pytest.raises(ScenarioError, match=r"redis\.x\.answers\[0\]"):
        loads_scenario("redis: {x: {answers: [{value: 1, nil: true}]}}\nsteps: [{}]\n")


def test_the_settings_round_trip_through_yaml() -> None:
    scenario = load_scenario(HIGRESS)
    again = loads_scenario(dump_scenario(scenario), base_dir=scenario.base_dir)
    assert again == scenario and again.redis[REDIS][0].answers[2].fail is True
    client = load_scenario(IP_ALLOW)
    assert loads_scenario(dump_scenario(client)) == Scenario.from_dict(client.to_dict())
    assert client.steps[2].request is not None and client.steps[2].request.use_remote_address is False


def test_a_profile_sets_the_connection_manager_on_every_backend(backend_name: str) -> None:
    """istio-gateway uses the remote address: the peer decides, a forged x-forwarded-for does not."""
    scenario = loads_scenario(
        """
profile: istio-gateway
peer_address: 127.0.0.5
plugins: [{module: go/ip_allow.wasm, config: {allow: [127.0.0.5]}}]
steps:
  - request: {path: /, headers: {x-forwarded-for: 10.9.9.9}}
    expect:
      status: 200
      upstream: {headers: {x-forwarded-for: "10.9.9.9,127.0.0.5"}}
      logs: ["source.address=127.0.0.5:\\\\d+ \\\\(OK\\\\)"]
  - request: {path: /, headers: {x-forwarded-for: 10.9.9.9}, use_remote_address: false}
    expect: {status: 403}
""",
        base_dir=ROOT / "fixtures",
    )
    assert scenario_host_options(scenario).profile == "istio-gateway"
    if backend_name != "emulator" and (skip := envoy_unavailable_reason(backend_name)):
        pytest.skip(skip)
    backend = make_backend(backend_name, options=scenario_host_options(scenario))
    try:
        result = run_scenario(scenario, backend)
    finally:
        backend.close()
    assert result.passed, result.report()


def test_run_takes_the_file_settings_over_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    from pytest_proxy_wasm.cli import main

    assert main(["run", str(JWT), "--now", "2001-01-01T00:00:00Z"]) == 0  # the file's now wins
    assert (
        "go jwt_auth, the emulator's fixed clock (emulator only) on emulator: PASS" in capsys.readouterr().out
    )
    assert main(["run", str(HIGRESS), "--backend", "envoy"]) == 0
    assert "skipped: platform: higress runs on the emulator only" in capsys.readouterr().err
