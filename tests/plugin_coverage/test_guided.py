"""Coverage-guided generation (issue 23 item 4): the split between fixed and generated requests, the
run.json section, and that without coverage (or with guidance off) the draws are those of a plain run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from pytest_proxy_wasm.conformance.cases import CaseRun, Target
from pytest_proxy_wasm.conformance.http_robustness import generated_exchanges
from pytest_proxy_wasm.host.runtime import Runtime
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector
from pytest_proxy_wasm.plugin_coverage.dictionary import module_strings
from pytest_proxy_wasm.plugin_coverage.guided import GuidedCoverage, attach, reached
from pytest_proxy_wasm.plugin_coverage.guided_report import counts_of, render_markdown
from pytest_proxy_wasm.reports.writers import schema

ROOT = Path(__file__).resolve().parents[2]
C_MODULE = ROOT / "fixtures" / "c" / "c_coverage.wasm"
RUST_DEBUG = ROOT / "fixtures" / "rust" / "headers_debug.wasm"
SOURCE = "plugins_under_test/c/c_coverage/c_coverage.c"


def test_reached_marks_each_nonzero_lane() -> None:
    counts = {0: 1, 3: 1 << 63, 5: 7, 9: 1 << 32}
    lanes = sum(count << (64 * index) for index, count in counts.items())
    bits = reached(lanes, 12)
    assert [i for i in range(12) if bits >> (64 * i) & 1] == [0, 3, 5, 9]
    assert bits.bit_count() == 4
    assert counts_of(lanes, 12) == counts


def test_worker_shares_add_up() -> None:
    guided = GuidedCoverage()
    guided.add_counts("m", {1: 2, 4: 5}, 3)
    guided.add_counts("m", {1: 1}, 2)
    assert counts_of(guided.shares["m"].lanes, 6) == {1: 3, 4: 5}
    assert guided.shares["m"].examples == 5


def test_module_strings_are_the_data_section_strings() -> None:
    strings = module_strings(C_MODULE.read_bytes())
    assert "/admin" in strings and "x-verdict" in strings


def _explore(runtime: Runtime, seed: int, examples: int) -> dict[str, Any]:
    run = CaseRun(Target(module=C_MODULE, seed=seed, max_examples=examples), runtime)
    generated_exchanges(run)
    run.close()
    return run.details


def _covered(guided: GuidedCoverage) -> Runtime:
    runtime = Runtime(None)
    runtime.coverage = CoverageCollector(None)
    attach(runtime.coverage, guided)
    return runtime


def test_without_guidance_the_draws_are_those_without_coverage() -> None:
    plain = _explore(Runtime(None), seed=11, examples=25)
    measured = _explore(_covered(GuidedCoverage(guide=False)), seed=11, examples=25)
    assert measured.pop("coverage_guidance")["guided"] is False
    assert measured == plain
    assert "coverage_guidance" not in plain


def test_targeting_alone_changes_no_draw_before_hypothesis_optimises() -> None:
    # hypothesis starts its targeting phase after 10 valid examples at this budget: the first 5 are the same
    plain = _explore(Runtime(None), seed=5, examples=5)
    only_target = GuidedCoverage(dictionary=False, corpus=False, target=True)
    targeted = _explore(_covered(only_target), seed=5, examples=5)
    assert targeted.pop("coverage_guidance")["guided"] is True
    assert targeted == plain


def _check(directory: Path, module: Path, *extra: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "pytest_proxy_wasm", "check", str(module), "-q", "--examples", "25",
               "--seed", "7", "--coverage", "--report-dir", str(directory), *extra]  # fmt: skip
    result = subprocess.run(command, check=False, capture_output=True, text=True, timeout=600)
    assert (directory / "run.json").exists(), result.stdout + result.stderr
    run: dict[str, Any] = json.loads((directory / "run.json").read_text())
    jsonschema.validate(run, schema())
    return run


def _consistent(entry: dict[str, Any]) -> None:
    for share in (entry["counters"], entry["own"]):
        assert share["fixed"] + share["generated_beyond_fixed"] <= share["total"]
        whole = share["total"] or 1
        percent = round(100 * share["generated_beyond_fixed"] / whole, 1)
        assert share["generated_beyond_fixed_percent"] == percent
    counters = entry["counters"]
    assert counters["generated_beyond_fixed"] <= counters["generated"]
    assert entry["functions_only_generated_count"] == len(entry["functions_only_generated"])


def da(lcov: str, line: int) -> int:
    record = lcov.split(f"SF:{SOURCE}\n", 1)[1].split("end_of_record", 1)[0]
    return int(record.split(f"DA:{line},", 1)[1].split("\n", 1)[0])


def marker_line(name: str) -> int:
    lines = (ROOT / SOURCE).read_text().splitlines()
    return next(i for i, text in enumerate(lines, start=1) if f"LINE:{name} " in text)


def _own_lines_hit(lcov: str) -> int:
    """LH summed over the module's records of files under the source root (the plugin's own)."""
    records = [r for r in lcov.split("end_of_record") if "TN:c_coverage_wasm\nSF:plugins_under_test/" in r]
    return sum(int(r.split("\nLH:", 1)[1].split("\n", 1)[0]) for r in records)


def test_guided_check_reaches_the_branch_the_fixed_requests_miss(tmp_path: Path) -> None:
    run = _check(tmp_path / "guided", C_MODULE, "--coverage-source-root", str(ROOT))
    section = run["generated_coverage"]
    assert section["guided"] is True and section["guidance"] == "on"
    [entry] = section["modules"]
    _consistent(entry)
    assert entry["module"] == "c_coverage.wasm" and entry["generated_examples"] >= 25
    # only a path starting with /admin takes deny(): 3 counters (its entry, its block, the call site)
    assert entry["counters"]["unit"] == "blocks"
    assert entry["counters"]["generated_beyond_fixed"] >= 3
    assert entry["own"]["unit"] == "lines" and entry["own"]["generated_beyond_fixed"] >= 2
    lcov = (tmp_path / "guided" / "lcov.info").read_text()  # lines hit = fixed + added by generated
    assert _own_lines_hit(lcov) == entry["own"]["fixed"] + entry["own"]["generated_beyond_fixed"]
    assert da(lcov, marker_line("deny")) > 0  # deny() is inlined: its lines, not a function of its own
    summary = (tmp_path / "guided" / "summary.md").read_text()
    assert "### Generated requests beyond the fixed ones (guided: module strings)" in summary
    assert "| c_coverage.wasm | 50 | " in summary
    details = {c["id"]: c["details"] for c in run["cases"]}
    guidance = details["http_robustness.generated_exchanges"]["coverage_guidance"]
    assert guidance["first_reached_by_generated"] >= 3

    unguided = _check(tmp_path / "unguided", C_MODULE, "--coverage-source-root", str(ROOT),
                      "--coverage-guidance", "off")  # fmt: skip
    [plain] = unguided["generated_coverage"]["modules"]
    _consistent(plain)
    assert unguided["generated_coverage"]["guided"] is False
    assert plain["counters"]["generated_beyond_fixed"] == 0  # random paths never start with /admin
    assert plain["counters"]["fixed"] == entry["counters"]["fixed"]  # the same fixed requests
    assert da((tmp_path / "unguided" / "lcov.info").read_text(), marker_line("deny")) == 0

    targeted = _check(tmp_path / "target", C_MODULE, "--coverage-guidance", "target")
    assert targeted["generated_coverage"]["guidance"] == "target"
    [aimed] = targeted["generated_coverage"]["modules"]
    _consistent(aimed)
    assert aimed["counters"]["generated_beyond_fixed"] >= 3
    # target: the generated cases ran after every fixed one, so their baseline is all the fixed requests
    ids = [c["id"] for c in targeted["cases"] if c["outcome"] != "skipped"]
    aimed_details = {c["id"]: c["details"] for c in targeted["cases"]}
    assert (
        aimed_details["http_robustness.generated_exchanges"]["coverage_guidance"]["reached_before"]
        == (aimed["counters"]["fixed"])
    ), ids


def test_rust_generated_requests_reach_sdk_code_the_fixed_ones_do_not(tmp_path: Path) -> None:
    run = _check(tmp_path, RUST_DEBUG, "--select", "http_robustness,lifecycle")
    [entry] = run["generated_coverage"]["modules"]
    _consistent(entry)
    assert entry["counters"]["generated_beyond_fixed"] > 0
    assert entry["counters"]["fixed"] > 0 and entry["own"]["unit"] == "lines" and entry["own"]["total"] > 0
    assert entry["functions_only_generated_count"] > 0


def test_markdown_of_a_failed_section_names_the_error() -> None:
    assert render_markdown(None) == []
    assert render_markdown({"guided": True, "modules": []}) == []
    lines = render_markdown({"guided": True, "modules": [], "error": "ValueError: broken"})
    assert "not computed (ValueError: broken)" in lines[-1]


@pytest.mark.parametrize("guidance", ["on", "target", "off"])
def test_check_passes_guidance_to_pytest(guidance: str) -> None:
    from pytest_proxy_wasm.plugin_coverage.guided_plugin import check_pytest_args

    class Args:
        coverage = True
        coverage_guidance = guidance

    expected = [] if guidance == "on" else ["--proxy-wasm-coverage-guidance", guidance]
    assert check_pytest_args(Args()) == expected  # type: ignore[arg-type]


def test_nested_branches_module_strings_get_past_the_first_compare(tmp_path: Path) -> None:
    """c_guided branches on ``x-mode: debug``: random header names never make the plugin compare a value;
    the module's strings do (and sometimes open the branch, seed permitting)."""
    module = ROOT / "fixtures" / "c" / "c_guided.wasm"
    source = "plugins_under_test/c/c_guided/c_guided.c"

    def hit_lines(directory: Path) -> set[int]:
        lcov = (directory / "lcov.info").read_text()
        record = lcov.split(f"SF:{source}\n", 1)[1].split("end_of_record", 1)[0]
        found = (line[3:].split(",") for line in record.splitlines() if line.startswith("DA:"))
        return {int(line) for line, count in found if int(count)}

    # 100 examples: with 25, whether a draw pairs x-mode with debug depends on the seed and on the
    # string constants hypothesis collects from the loaded modules (CI once drew none); every seed
    # tried reaches the branch with 100 (docs/coverage.md, the guidance table)
    root = ("--coverage-source-root", str(ROOT), "--select", "http_robustness", "--examples", "100")
    guided = _check(tmp_path / "on", module, *root)
    unguided = _check(tmp_path / "off", module, *root, "--coverage-guidance", "off")
    [on] = guided["generated_coverage"]["modules"]
    [off] = unguided["generated_coverage"]["modules"]
    _consistent(on)
    _consistent(off)
    assert on["own"]["generated_beyond_fixed"] > 0 and off["own"]["generated_beyond_fixed"] == 0
    assert on["counters"]["generated_beyond_fixed"] > 0 and off["counters"]["generated_beyond_fixed"] == 0
    assert on["counters"]["fixed"] == off["counters"]["fixed"]
    assert hit_lines(tmp_path / "off") < hit_lines(tmp_path / "on")


def test_merging_shards_leaves_the_split_out() -> None:
    from pytest_proxy_wasm.reports.merge import merge

    def shard(case: str) -> dict[str, Any]:
        case_record = {
            "module": "m.wasm",
            "id": case,
            "area": "module",
            "outcome": "passed",
            "duration_s": 0.1,
        }
        return {"cases": [case_record], "modules": [], "generated_coverage": {"guided": True, "modules": []}}

    assert "generated_coverage" in merge([shard("module.a")])
    assert "generated_coverage" not in merge([shard("module.a"), shard("module.b")])


def test_target_runs_the_generated_cases_after_every_fixed_one(tmp_path: Path) -> None:
    """headers_debug: cases after http_robustness reach code of their own, so the baseline a generated
    case starts from is all of the fixed requests' only when the generated cases run last (``target``)."""
    module = RUST_DEBUG

    def baseline(run: dict[str, Any]) -> tuple[int, int]:
        [entry] = run["generated_coverage"]["modules"]
        details = {c["id"]: c["details"] for c in run["cases"]}
        before = details["http_robustness.generated_exchanges"]["coverage_guidance"]["reached_before"]
        return before, entry["counters"]["fixed"]

    in_place, fixed = baseline(_check(tmp_path / "on", module))
    assert in_place < fixed
    last, fixed_too = baseline(_check(tmp_path / "target", module, "--coverage-guidance", "target"))
    assert last == fixed_too == fixed


def test_check_with_guidance_off_draws_what_check_without_coverage_draws(tmp_path: Path) -> None:
    module = ROOT / "fixtures" / "rust" / "headers.wasm"
    common = ["-q", "--examples", "25", "--seed", "3", "--now", "2026-01-31T12:00:00Z"]

    def drawn(directory: Path, *extra: str) -> dict[str, Any]:
        command = [sys.executable, "-m", "pytest_proxy_wasm", "check", str(module), *common,
                   "--report-dir", str(directory), *extra]  # fmt: skip
        subprocess.run(command, check=False, capture_output=True, timeout=600)
        run = json.loads((directory / "run.json").read_text())
        keys = ("examples", "examples_run", "seed")
        return {c["id"]: (c["outcome"], [c["details"].get(k) for k in keys]) for c in run["cases"]}

    plain = drawn(tmp_path / "plain")
    measured = drawn(tmp_path / "off", "--coverage", "--coverage-guidance", "off")
    assert plain == measured
    assert plain["http_robustness.generated_exchanges"][1][1] == 25
