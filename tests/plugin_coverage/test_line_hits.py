"""Line hits on the C sample built with DWARF (fixtures/c/c_coverage.wasm): the deny branch is hit
only by /admin requests, the allow branch only by the others, an exported function never called
stays unhit. Lines are found by their ``LINE:`` markers in the source."""

from __future__ import annotations

import re
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from pytest_proxy_wasm.host.host import Host
from pytest_proxy_wasm.host.runtime import Runtime
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector
from pytest_proxy_wasm.plugin_coverage.report import ModuleReport, build_report
from pytest_proxy_wasm.plugin_coverage.session import write_outputs

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "fixtures" / "c" / "c_coverage.wasm"
SOURCE = "plugins_under_test/c/c_coverage/c_coverage.c"


def marker_line(name: str) -> int:
    for number, text in enumerate((ROOT / SOURCE).read_text().splitlines(), start=1):
        if re.search(rf"LINE:{re.escape(name)}\b", text):
            return number
    raise AssertionError(f"no LINE:{name} marker in {SOURCE}")


def covered(paths: list[str]) -> tuple[CoverageCollector, ModuleReport]:
    runtime = Runtime(None)
    collector = CoverageCollector(None)
    runtime.coverage = collector
    with Host(runtime) as host:
        plugin = host.load_plugin(MODULE)
        for path in paths:
            host.request(plugin, path=path)
    (module,) = collector.modules.values()
    return collector, build_report(module, str(ROOT))


def source_lines(report: ModuleReport) -> dict[int, int]:
    (source,) = [f for f in report.files if f.path == SOURCE]
    assert source.own
    return source.lines


def test_only_the_path_taken_is_hit() -> None:
    _, report = covered(["/public", "/other"])
    lines = source_lines(report)
    assert report.dwarf
    assert lines[marker_line("allow")] == 2
    assert lines[marker_line("deny")] == 0
    assert lines[marker_line("unused")] == 0


def test_the_other_path() -> None:
    _, report = covered(["/admin/x"])
    lines = source_lines(report)
    assert lines[marker_line("deny")] == 1
    assert lines[marker_line("allow")] == 0


def test_functions_count_their_entries() -> None:
    _, report = covered(["/a", "/b", "/admin"])
    (source,) = [f for f in report.files if f.path == SOURCE]
    hits = {f.name: f.hits for f in source.functions}
    assert hits["proxy_on_request_headers"] == 3
    assert hits["c_coverage_unused"] == 0


def test_lcov_and_cobertura_name_the_source_relative_to_the_root(tmp_path: Path) -> None:
    collector, _ = covered(["/admin"])
    _, line = write_outputs(collector, tmp_path, str(ROOT))
    lcov = (tmp_path / "lcov.info").read_text()
    record = lcov.split(f"SF:{SOURCE}\n", 1)[1].split("end_of_record", 1)[0]
    assert f"DA:{marker_line('deny')},1\n" in record
    assert f"DA:{marker_line('allow')},0\n" in record
    assert "FNDA:0,c_coverage_unused\n" in record
    xml = ET.parse(tmp_path / "coverage.xml").getroot()
    (klass,) = [c for c in xml.iter("class") if c.get("filename") == SOURCE]
    hits = {int(e.get("number", 0)): int(e.get("hits", 0)) for e in klass.find("lines") or []}
    assert hits[marker_line("deny")] == 1
    assert hits[marker_line("allow")] == 0
    assert line.startswith("plugin coverage: c_coverage.wasm: own code ")


@pytest.mark.parametrize("root", [None, "/nonexistent-root"])
def test_without_the_root_paths_stay_as_compiled(root: str | None) -> None:
    collector, _ = covered(["/"])
    (module,) = collector.modules.values()
    report = build_report(module, root)
    assert any(f.path.endswith("c_coverage/c_coverage.c") for f in report.files)
