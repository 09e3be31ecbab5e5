"""The pytest plugin itself (fixtures, options, marker), run in isolated pytester sessions."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime
from wat_builder import Probe

pytest_plugins = ["pytester"]

PLUGIN_TEST = """
def test_request(proxy_wasm_host, wasm_file):
    plugin = proxy_wasm_host.load_plugin(wasm_file.read_bytes(), name="p")
    outcome = proxy_wasm_host.request(plugin, upstream_body="ok")
    assert outcome.status == 200
    assert outcome.log_messages("info") == ["seen"]
"""


@pytest.fixture
def wasm_file(pytester: pytest.Pytester) -> Path:
    probe = Probe()
    probe.on("proxy_on_request_headers", probe.log("seen"))
    path = pytester.path / "probe.wasm"
    path.write_bytes(bytes(wasmtime.wat2wasm(probe.wat())))
    return path


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    # A subprocess: an inline run re-enables faulthandler on top of wasmtime's trap handlers, and the
    # next wasm trap in this process would then kill it (SIGILL) instead of raising.
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "--proxy-wasm-cache-dir=", *args)


def test_host_fixture_in_a_user_test(pytester: pytest.Pytester, wasm_file: Path) -> None:
    pytester.makeconftest(f"""
import pathlib, pytest

@pytest.fixture
def wasm_file():
    return pathlib.Path({str(wasm_file)!r})
""")
    pytester.makepyfile(test_user=PLUGIN_TEST)
    result = run(pytester)
    result.assert_outcomes(passed=1)


def test_module_option_given_twice_parametrizes(pytester: pytest.Pytester, wasm_file: Path) -> None:
    other = wasm_file.with_name("other.wasm")
    other.write_bytes(wasm_file.read_bytes())
    pytester.makepyfile(
        test_modules="""
def test_module(proxy_wasm_host, proxy_wasm_module):
    plugin = proxy_wasm_host.load_plugin(proxy_wasm_module)
    assert plugin.name == proxy_wasm_module.stem
    assert proxy_wasm_host.request(plugin).status == 200
"""
    )
    result = run(pytester, "-v", f"--proxy-wasm-module={wasm_file}", f"--proxy-wasm-module={other}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*test_module?probe.wasm? PASSED*", "*test_module?other.wasm? PASSED*"])


def test_module_fixture_skips_without_the_option(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYTEST_PROXY_WASM_MODULE", raising=False)
    pytester.makepyfile(
        test_skip="""
def test_module(proxy_wasm_module):
    raise AssertionError("must not run")
"""
    )
    result = run(pytester, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no module given: pass --proxy-wasm-module PATH*"])


def test_marker_changes_host_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_marker="""
import pytest

@pytest.mark.proxy_wasm(random_seed=5, start_time_ns=123)
def test_options(proxy_wasm_host):
    assert proxy_wasm_host.options.random_seed == 5
    assert proxy_wasm_host.clock.realtime_ns == 123
"""
    )
    run(pytester).assert_outcomes(passed=1)


BAD_MARKER_TEST = """
import pytest

@pytest.mark.proxy_wasm(bogus=1)
def test_bad(proxy_wasm_host):
    pass

def test_good(proxy_wasm_host):
    pass
"""


def test_bad_marker_argument_is_a_session_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_bad=BAD_MARKER_TEST)
    result = run(pytester)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*@pytest.mark.proxy_wasm does not take bogus*"])
