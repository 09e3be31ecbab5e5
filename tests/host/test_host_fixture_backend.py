"""Issue 27, item 4: proxy_wasm_host under another --proxy-wasm-backend says once that it is the emulator."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

TESTS = """
def test_one(proxy_wasm_host):
    assert proxy_wasm_host.plugins == []

def test_two(proxy_wasm_host):
    assert proxy_wasm_host.plugins == []

def test_on_the_backend(proxy_wasm_backend):
    pass
"""


@pytest.mark.parametrize("backend", ["envoy", "diff", "container", "all"])
def test_warned_once_per_session(pytester: pytest.Pytester, backend: str) -> None:
    pytester.makepyfile(test_host=TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-k", "not on_the_backend", "--proxy-wasm-backend", backend
    )
    result.assert_outcomes(passed=2)
    text = result.stdout.str()
    assert text.count("ProxyWasmBackendWarning") == 1, text
    result.stdout.fnmatch_lines(
        [f"*--proxy-wasm-backend {backend} does not apply to test_host.py::test_one*the proxy_wasm_backend*"]
    )


def test_not_warned_on_the_emulator(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_host=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-k", "not on_the_backend")
    result.assert_outcomes(passed=2)
    assert "ProxyWasmBackendWarning" not in result.stdout.str()


def test_the_warning_can_be_an_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_host=TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-k", "test_one", "--proxy-wasm-backend", "envoy",
        "-W", "error::pytest_proxy_wasm.errors.ProxyWasmBackendWarning",
    )  # fmt: skip
    assert result.ret == pytest.ExitCode.TESTS_FAILED
