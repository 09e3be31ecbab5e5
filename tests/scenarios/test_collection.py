"""pytest collects scenario files as items, one per selected backend, with per-field evidence."""

from __future__ import annotations

from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

PASSING = f"""
plugins: [{{module: {FIXTURES / "rust" / "headers.wasm"}}}]
steps:
  - request: {{path: /x}}
    expect: {{status: 200, upstream: {{headers: {{x-wasm-request: hello}}}}}}
"""

FAILING = f"""
plugins: [{{module: {FIXTURES / "rust" / "headers.wasm"}}}]
steps:
  - name: wrong status
    request: {{path: /x}}
    expect: {{status: 418, headers: {{x-wasm-response: nope}}}}
"""


def test_scenario_files_become_items(pytester: pytest.Pytester) -> None:
    pytester.makefile(".proxywasm.yaml", good=PASSING)
    pytester.makefile(".yaml", ignored=PASSING)  # not a scenario name: not collected
    result = pytester.runpytest("-p", "no:xdist", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*good.proxywasm.yaml::good[[]emulator[]] PASSED*"])


def test_a_failure_shows_each_field_and_the_plugin_logs(pytester: pytest.Pytester) -> None:
    pytester.makefile(".proxywasm.yaml", bad=FAILING)
    result = pytester.runpytest("-p", "no:xdist", "--proxy-wasm-trace")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*step 1 (wrong status): -> 200 * FAIL",
            "*expect.status:",
            "*expected: 418",
            "*actual:   200",
            "*expect.headers.x-wasm-response:",
            "*expected: 'nope'",
            "*actual:   'world'",
            "*proxy-wasm plugin logs*",
            "step 1: [[]info[]] request header: :path: /x",
            "*proxy-wasm trace*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_a_bad_file_is_a_collection_error_naming_line_and_field(pytester: pytest.Pytester) -> None:
    pytester.makefile(".proxywasm.yaml", broken="steps:\n  - request: {path: 7}\n")
    result = pytester.runpytest("-p", "no:xdist")
    result.stdout.fnmatch_lines(
        ["*broken.proxywasm.yaml:2: steps[[]0[]].request.path: 7 is not of type 'string'"]
    )
    assert result.ret == pytest.ExitCode.INTERRUPTED


def test_the_glob_option_and_ini(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", mine=PASSING)
    pytester.makefile(".yml", other=PASSING)
    pytester.runpytest("-p", "no:xdist", "--proxy-wasm-scenarios", "mine.*").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\nproxy_wasm_scenarios = other.yml mine.yaml\n")
    pytester.runpytest("-p", "no:xdist").assert_outcomes(passed=2)


def test_backends_field_skips_elsewhere(pytester: pytest.Pytester) -> None:
    pytester.makefile(".proxywasm.yaml", only_envoy="backends: [envoy]\n" + PASSING)
    result = pytester.runpytest("-p", "no:xdist", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*the scenario's backends (envoy) leave out emulator*"])


def test_every_backend_and_xdist(pytester: pytest.Pytester) -> None:
    pytester.makefile(".proxywasm.yaml", a=PASSING, b=PASSING)
    result = pytester.runpytest_subprocess("-n", "2", "--proxy-wasm-backend", "all", "-rs")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed", 0) + outcomes.get("skipped", 0) == 6
    assert outcomes.get("passed", 0) >= 2
