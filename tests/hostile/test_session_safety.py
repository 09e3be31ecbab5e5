"""Session safety (issue 8, item 6): a hanging and a memory-hungry module inside a pytest session fail
their own tests with named causes, the other tests pass, the session completes, and under xdist no
result is lost. Runs pytest in a subprocess (an inline run would break wasmtime's trap handling here).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
NORMAL = 6

SESSION = f'''
import pytest
import wasmtime

HANG = r"{FIXTURES / "hostile" / "loop_request_headers.wasm"}"
HUNGRY = r"{FIXTURES / "hostile" / "memory_grow_unbounded.wasm"}"
HEADERS = wasmtime.wat2wasm(open(r"{FIXTURES / "wat" / "headers_021.wat"}").read())


def test_hanging_module(proxy_wasm_host):
    plugin = proxy_wasm_host.load_plugin(HANG)
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.plugin_failed is None, outcome.plugin_failed


@pytest.mark.proxy_wasm(memory_limit=64 << 20)
def test_memory_hungry_module(proxy_wasm_host):
    plugin = proxy_wasm_host.load_plugin(HUNGRY)
    outcome = proxy_wasm_host.request(plugin)
    assert outcome.plugin_failed is None, outcome.plugin_failed


@pytest.mark.parametrize("i", range({NORMAL}))
def test_normal(proxy_wasm_host, i):
    plugin = proxy_wasm_host.load_plugin(HEADERS)
    outcome = proxy_wasm_host.request(plugin, path=f"/n{{i}}")
    assert outcome.status == 200
    assert plugin.vm.failure is None
'''


def run(pytester: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, ET.Element]:
    pytester.makepyfile(test_hostile_session=SESSION)
    report = pytester.path / "report.xml"
    result = pytester.runpytest_subprocess(
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--proxy-wasm-deadline=0.5",
        "--proxy-wasm-cache-dir=",
        f"--junitxml={report}",
        "-rf",
        *args,
        timeout=180,
    )
    return result, ET.parse(report).getroot()


def check(result: pytest.RunResult, junit: ET.Element) -> None:
    result.assert_outcomes(passed=NORMAL, failed=2)
    text = result.stdout.str()
    assert "deadline exceeded in proxy_on_request_headers after 0.5 s" in text
    assert "memory limit 64 MiB reached" in text
    assert "FAILED test_hostile_session.py::test_hanging_module" in text
    assert "FAILED test_hostile_session.py::test_memory_hungry_module" in text
    assert "INTERNALERROR" not in text and "crashed" not in text.lower()
    cases = junit.iter("testcase")
    names = sorted(case.get("name", "") for case in cases)
    assert len(names) == NORMAL + 2, names  # every result reached the report
    failures = [c.get("name") for c in junit.iter("testcase") if c.find("failure") is not None]
    assert sorted(failures) == ["test_hanging_module", "test_memory_hungry_module"]


def test_hostile_tests_fail_and_the_session_goes_on(pytester: pytest.Pytester) -> None:
    result, junit = run(pytester)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    check(result, junit)


def test_no_results_lost_under_xdist(pytester: pytest.Pytester) -> None:
    result, junit = run(pytester, "-n", "2")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    check(result, junit)
    _, serial_junit = run(pytester)
    assert len(list(serial_junit.iter("testcase"))) == len(list(junit.iter("testcase")))
