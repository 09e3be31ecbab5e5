"""The suite inside any pytest session: ``--proxy-wasm-module X --proxy-wasm-conformance``."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm.conformance import AREAS, REGISTRY, load_cases
from pytest_proxy_wasm.conformance.docs import render
from pytest_proxy_wasm.conformance.expectations import ExpectationsError, parse

pytest_plugins = ["pytester"]
ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"


def test_collected_from_any_directory_with_select(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(
        "--proxy-wasm-module",
        str(FIXTURES / "hostile" / "not_wasm.wasm"),
        "--proxy-wasm-conformance",
        "--proxy-wasm-select",
        "module,lifecycle.start_configure",
        "-p",
        "no:cacheprovider",
    )
    result.assert_outcomes(failed=1, skipped=8)  # 7 module cases + hostcall_misuse
    result.stdout.fnmatch_lines(["*verdict: FAIL*", "*FAILED*module::valid_wasm*"])


def test_combined_with_the_users_own_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_mine="def test_mine():\n    assert True\n")
    result = pytester.runpytest_subprocess(
        "test_mine.py",
        "--proxy-wasm-module",
        str(FIXTURES / "rust" / "headers.wasm"),
        "--proxy-wasm-conformance",
        "--proxy-wasm-select",
        "module",
    )
    result.assert_outcomes(passed=9)


def test_needs_a_module(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess("--proxy-wasm-conformance")
    result.stderr.fnmatch_lines(["*--proxy-wasm-conformance needs --proxy-wasm-module*"])
    assert result.ret == pytest.ExitCode.USAGE_ERROR


def test_every_case_record_is_complete() -> None:
    load_cases()
    assert {c.area for c in REGISTRY.values()} == set(AREAS)
    for case in REGISTRY.values():
        assert case.id.startswith(case.area + ".")
        assert case.title and case.rule and case.why, case.id
        assert case.backends and case.abi_versions, case.id


def test_docs_are_generated_from_the_records() -> None:
    assert (ROOT / "docs" / "conformance.md").read_text() == render(), (
        "docs/conformance.md is stale: python -m pytest_proxy_wasm.conformance.docs > docs/conformance.md"
    )


@pytest.mark.parametrize(
    "data",
    [[], {"modules": []}, {"modules": {"a.wasm": ["x"]}}, {"modules": {"a.wasm": {"module.x": ""}}}],
)
def test_malformed_expectations_are_refused(data: object) -> None:
    with pytest.raises(ExpectationsError):
        parse(data, "x.yaml")


def test_expectations_match_by_name_glob_and_sha() -> None:
    found = parse({"modules": {"abc123": {"module.*": "r1"}, "t*.wasm": {"lifecycle.timers": "r2"}}})
    assert found.reason("x.wasm", "abc123", "module.allocator") == "r1"
    assert found.reason("tcp.wasm", "zzz", "lifecycle.timers") == "r2"
    assert found.reason("tcp.wasm", "zzz", "lifecycle.stream_orders") is None
