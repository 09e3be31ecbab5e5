"""Coverage of scenario runs: ``run SCENARIO --coverage`` sums every plugin of the scenario, and scenario
files collected by pytest count toward ``--proxy-wasm-coverage`` like Python tests
(tests/plugin_coverage/data/chain.scenario.yaml: c_coverage then the Rust headers sample with DWARF)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_proxy_wasm.cli import main

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = Path(__file__).parent / "data" / "chain.scenario.yaml"
C_SOURCE = "plugins_under_test/c/c_coverage/c_coverage.c"
RUST_SOURCE = "headers/src/lib.rs"  # relative to plugins_under_test/rust, as the module's DWARF says


def marker_line(name: str) -> int:
    lines = (ROOT / C_SOURCE).read_text().splitlines()
    return next(i for i, text in enumerate(lines, start=1) if f"LINE:{name} " in text)


def rust_line(text: str) -> int:
    lines = (ROOT / "plugins_under_test" / "rust" / RUST_SOURCE).read_text().splitlines()
    (number,) = [i for i, line in enumerate(lines, start=1) if text in line]
    return number


def record(lcov: str, source: str) -> dict[int, int]:
    body = lcov.split(f"SF:{source}\n", 1)[1].split("end_of_record", 1)[0]
    pairs = [line[3:].split(",") for line in body.splitlines() if line.startswith("DA:")]
    return {int(line): int(count) for line, count in pairs}


def test_run_scenario_sums_every_plugin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["run", str(SCENARIO), "--coverage", "--report-dir", str(tmp_path), "--coverage-source-root"]
    assert main([*args, str(ROOT)]) == 0
    captured = capsys.readouterr()
    assert "coverage chain on emulator: PASS" in captured.out
    lcov = (tmp_path / "lcov.info").read_text()
    c_lines = record(lcov, C_SOURCE)
    assert c_lines[marker_line("deny")] == 1  # step 1
    assert c_lines[marker_line("allow")] == 2  # steps 2 and 3
    assert c_lines[marker_line("unused")] == 0
    rust = record(lcov, RUST_SOURCE)  # the second plugin: only steps 2 and 3 reach it
    assert rust[rust_line("fn on_http_request_headers(")] == 2
    assert rust[rust_line('Err("header pair must be two strings")')] == 0
    assert "TN:c_coverage_wasm" in lcov and "TN:headers_debug_wasm" in lcov
    assert {"coverage.xml", "coverage.html"} <= {p.name for p in tmp_path.iterdir()}
    assert re.search(
        r"plugin coverage: c_coverage\.wasm: own code \d+/\d+ lines .*headers_debug\.wasm", captured.err
    )
    assert f"-> {tmp_path.resolve()}/lcov.info, coverage.xml, coverage.html" in captured.err


def test_run_scenario_without_coverage_writes_nothing(tmp_path: Path) -> None:
    assert main(["run", str(SCENARIO), "--report-dir", str(tmp_path)]) == 0
    assert not any(tmp_path.iterdir())


def test_run_scenario_coverage_refuses_envoy() -> None:
    with pytest.raises(SystemExit, match="--coverage counts inside the emulator"):
        main(["run", str(SCENARIO), "--coverage", "--backend", "envoy"])


PYTHON_TEST = f"""
MODULE = {str(ROOT / "fixtures" / "c" / "c_coverage.wasm")!r}

def test_deny(proxy_wasm_host):
    plugin = proxy_wasm_host.load_plugin(MODULE)
    assert proxy_wasm_host.request(plugin, path="/admin").status == 403
"""


def collected_session(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    text = SCENARIO.read_text().replace("../../../fixtures/", f"{ROOT}/fixtures/")
    pytester.path.joinpath("chain.proxywasm.yaml").write_text(text)
    pytester.makepyfile(test_python=PYTHON_TEST)
    return pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--proxy-wasm-cache-dir=", "--proxy-wasm-coverage",
        f"--proxy-wasm-coverage-source-root={ROOT}", "--proxy-wasm-coverage-dir=cov", *args,
    )  # fmt: skip


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["one-process", "xdist"])
def test_collected_scenarios_count_like_python_tests(pytester: pytest.Pytester, workers: list[str]) -> None:
    result = collected_session(pytester, *workers)
    result.assert_outcomes(passed=2)  # the scenario item and the Python test
    lcov = (pytester.path / "cov" / "lcov.info").read_text()
    c_lines = record(lcov, C_SOURCE)
    assert c_lines[marker_line("deny")] == 2  # the scenario's step 1 and test_deny
    assert c_lines[marker_line("allow")] == 2  # the scenario's steps 2 and 3
    assert record(lcov, RUST_SOURCE)[rust_line("fn on_http_request_headers(")] == 2
    assert "not measured on" not in result.stdout.str()


@pytest.mark.parametrize(
    ("tests", "said"),
    [
        ("def test_a():\n    pass\n\ndef test_b():\n    pass\n", "nothing ran in the emulator"),
        (PYTHON_TEST, "only what ran in the emulator is counted"),  # proxy_wasm_host is the emulator
    ],
    ids=["nothing-counted", "emulator-host-counted"],
)
def test_envoy_backends_are_named_once(pytester: pytest.Pytester, tests: str, said: str) -> None:
    pytester.makepyfile(test_plain=tests)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--proxy-wasm-coverage", "--proxy-wasm-coverage-dir=cov",
        "--proxy-wasm-backend=envoy",
    )  # fmt: skip
    assert result.ret == 0, result.stdout.str()
    notes = [line for line in result.outlines if "plugin coverage: not measured on envoy" in line]
    assert len(notes) == 1, result.stdout.str()
    assert notes[0].endswith(said)
