"""``pytest --proxy-wasm-coverage`` in isolated sessions: files written, counts summed across tests and
across xdist workers (each worker writes its part; the controller merges)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
SOURCE = "plugins_under_test/c/c_coverage/c_coverage.c"

TESTS = f"""
import pytest
MODULE = {str(ROOT / "fixtures" / "c" / "c_coverage.wasm")!r}

@pytest.mark.parametrize("n", range(4))
def test_allow(proxy_wasm_host, n):
    plugin = proxy_wasm_host.load_plugin(MODULE)
    assert proxy_wasm_host.request(plugin, path="/p").status == 200

def test_deny(proxy_wasm_host):
    plugin = proxy_wasm_host.load_plugin(MODULE)
    assert proxy_wasm_host.request(plugin, path="/admin").status == 403
"""


def marker_line(name: str) -> int:
    lines = (ROOT / SOURCE).read_text().splitlines()
    return next(i for i, text in enumerate(lines, start=1) if f"LINE:{name} " in text)


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile(test_cov=TESTS)
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--proxy-wasm-cache-dir=", "--proxy-wasm-coverage",
        f"--proxy-wasm-coverage-source-root={ROOT}", "--proxy-wasm-coverage-dir=cov", *args,
    )  # fmt: skip


def hits(pytester: pytest.Pytester) -> dict[int, int]:
    lcov = (pytester.path / "cov" / "lcov.info").read_text()
    record = lcov.split(f"SF:{SOURCE}\n", 1)[1].split("end_of_record", 1)[0]
    pairs = [line[3:].split(",") for line in record.splitlines() if line.startswith("DA:")]
    return {int(line): int(count) for line, count in pairs}


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_counts_summed_over_the_session(pytester: pytest.Pytester, workers: list[str]) -> None:
    result = run(pytester, *workers)
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["plugin coverage: c_coverage.wasm: own code *lines*"])
    lines = hits(pytester)
    assert lines[marker_line("allow")] == 4
    assert lines[marker_line("deny")] == 1
    assert lines[marker_line("unused")] == 0
    assert (pytester.path / "cov" / "coverage.xml").exists()
    assert not (pytester.path / "cov" / ".proxy-wasm-coverage-partial").exists()


def test_off_by_default(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_cov=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--proxy-wasm-cache-dir=")
    result.assert_outcomes(passed=5)
    assert "plugin coverage" not in result.stdout.str()
    assert not (pytester.path / "proxy-wasm-coverage").exists()
