"""The C++ sample built with -g against libc++ (fixtures/c/cpp_coverage.wasm,
plugins_under_test/c/build_cpp_coverage.sh): Itanium names demangled, line hits of the deny and allow
branches, libc++ and wasi-libc apart from the plugin's own file. Lines are found by their ``LINE:``
markers in the source."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_proxy_wasm.host.host import Host
from pytest_proxy_wasm.host.runtime import Runtime
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector
from pytest_proxy_wasm.plugin_coverage.names import function_names
from pytest_proxy_wasm.plugin_coverage.report import ModuleReport, build_report

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "fixtures" / "c" / "cpp_coverage.wasm"
SOURCE = "plugins_under_test/c/cpp_coverage/cpp_coverage.cc"
# wasm-tools' demangler (the cpp_demangle crate) spells "> >" and "(unsigned long)2" (c++filt: ">>", "2ul").
STRING_VIEW = "std::__2::basic_string_view<char, std::__2::char_traits<char> >"


def marker_line(name: str) -> int:
    for number, text in enumerate((ROOT / SOURCE).read_text().splitlines(), start=1):
        if re.search(rf"LINE:{re.escape(name)}$", text):
            return number
    raise AssertionError(f"no LINE:{name} marker in {SOURCE}")


def report_for(paths: list[str], root: str | None = str(ROOT)) -> ModuleReport:
    runtime = Runtime(None)
    collector = CoverageCollector(None)
    runtime.coverage = collector
    with Host(runtime) as host:
        plugin = host.load_plugin(MODULE)
        for path in paths:
            expected = 403 if path.startswith(("/admin", "/internal")) else 200
            assert host.request(plugin, path=path).status == expected
    (module,) = collector.modules.values()
    return build_report(module, root)


@pytest.fixture(scope="module")
def denied_once_allowed_twice() -> ModuleReport:
    return report_for(["/internal/x", "/a", "/b"])


def source(report: ModuleReport) -> dict[int, int]:
    (record,) = [f for f in report.files if f.path == SOURCE]
    return record.lines


def test_the_name_section_is_mangled_and_the_report_is_not(denied_once_allowed_twice: ModuleReport) -> None:
    raw = set(function_names(MODULE.read_bytes()).values())
    assert any(name.startswith("_ZNK8coverage10PrefixRuleILm2EE5judge") for name in raw)
    (record,) = [f for f in denied_once_allowed_twice.files if f.path == SOURCE]
    hits = {f.name: (f.line, f.hits) for f in record.functions}
    judge = f"coverage::PrefixRule<(unsigned long)2>::judge({STRING_VIEW}) const"
    assert hits[judge] == (marker_line("deny") - 3, 3)
    assert hits[f"coverage::reply({STRING_VIEW})"][1] == 1
    assert hits["unused()"][1] == 0


def test_each_branch_hit_and_its_sibling_not(denied_once_allowed_twice: ModuleReport) -> None:
    lines = source(denied_once_allowed_twice)
    assert lines[marker_line("deny")] == 1
    assert lines[marker_line("allow")] == 2
    assert lines[marker_line("call-deny")] == 1
    assert lines[marker_line("reply")] == 1
    assert lines[marker_line("call-allow")] == 2
    assert lines[marker_line("unused")] == 0


def test_only_allowed() -> None:
    lines = source(report_for(["/x"]))
    assert lines[marker_line("allow")] == 1
    assert lines[marker_line("deny")] == 0
    assert lines[marker_line("call-deny")] == 0


@pytest.mark.parametrize("root", [str(ROOT), None])
def test_libcxx_and_wasi_libc_are_not_own(root: str | None) -> None:
    report = report_for(["/admin"], root)
    own = [f.path for f in report.own_files()]
    assert own == [SOURCE]  # compiled with -fdebug-prefix-map=<repo>=.: relative even without the root
    others = [f for f in report.files if not f.own]
    assert any("/c++/v1/string_view" in f.path and f.lines_hit for f in others)  # libc++ ran
    assert any("dlmalloc" in f.path for f in others)
