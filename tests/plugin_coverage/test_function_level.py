"""Modules without DWARF: function coverage through the name section, demangled and grouped, so the
plugin's own crate/package is apart from SDK, std and runtime code."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm.host.host import Host
from pytest_proxy_wasm.host.runtime import Runtime
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector
from pytest_proxy_wasm.plugin_coverage.names import group_of, is_own, language_of
from pytest_proxy_wasm.plugin_coverage.report import ModuleReport, build_report

ROOT = Path(__file__).resolve().parents[2]


def report_for(module: Path, paths: list[str]) -> ModuleReport:
    runtime = Runtime(None)
    collector = CoverageCollector(None)
    runtime.coverage = collector
    with Host(runtime) as host:
        plugin = host.load_plugin(module)
        for path in paths:
            host.request(plugin, path=path)
    (coverage,) = collector.modules.values()
    return build_report(coverage, None)


def functions(report: ModuleReport) -> dict[str, int]:
    return {f.name: f.hits for file in report.files for f in file.functions}


def test_rust_functions_demangled_and_the_plugin_crate_is_own() -> None:
    report = report_for(ROOT / "fixtures" / "rust" / "headers.wasm", ["/a", "/b"])
    assert not report.dwarf
    own = {f.path for f in report.own_files()}
    assert own == {"headers.wasm/headers"}
    hits = functions(report)
    on_headers = "<headers::HeadersFilter as proxy_wasm::traits::HttpContext>::on_http_request_headers"
    assert hits[on_headers] == 2
    assert any(name.startswith("core::") for name in hits)  # demangled (v0), grouped apart
    assert "headers.wasm/core" in {f.path for f in report.files if not f.own}


def test_go_main_package_is_own() -> None:
    # Go modules are line level through pclntab (test_go_lines.py); names are Go's own spelling.
    report = report_for(ROOT / "fixtures" / "go" / "headers.wasm", ["/x"])
    own = {f.path for f in report.own_files()}
    assert own == {"github.com/pytest-proxy-wasm/plugins-go/headers/main.go"}
    hits = functions(report)
    assert hits["main.(*headersStream).OnRequestHeaders"] == 1
    assert hits["runtime.mallocgc"] > 0


@pytest.mark.parametrize(
    ("name", "group", "own"),
    [
        ("<headers::Settings as core::default::Default>::default", "headers", True),
        ("<&str as core::fmt::Display>::fmt", "core", False),
        ("proxy_wasm::hostcalls::log", "proxy_wasm", False),
        ("std::panicking::begin_panic", "std", False),
    ],
)
def test_rust_grouping(name: str, group: str, own: bool) -> None:
    assert group_of(name) == group
    assert is_own(name, "rust") is own


@pytest.mark.parametrize(
    ("name", "group", "own"),
    [
        ("main.process", "main", True),
        ("runtime.dopanic_m.func1", "runtime", False),
        ("github.com_acme_filter.Filter.OnRequestHeaders", "github.com_acme_filter", True),
        ("github.com_tetratelabs_proxy_wasm_go_sdk_proxywasm.GetHttpRequestHeader", "", False),
    ],
)
def test_go_grouping(name: str, group: str, own: bool) -> None:
    if group:
        assert group_of(name) == group
    assert is_own(name, "go") is own


def test_language_detection() -> None:
    assert language_of({0: "runtime.main", 1: "main.main"}) == "go"
    assert language_of({0: "core::panicking::panic"}) == "rust"
    assert language_of({0: "proxy_on_request_headers"}) == ""


def test_modules_of_the_same_file_name_are_told_apart(tmp_path: Path) -> None:
    from pytest_proxy_wasm.plugin_coverage.session import write_outputs

    runtime = Runtime(None)
    collector = CoverageCollector(None)
    runtime.coverage = collector
    with Host(runtime) as host:
        for module in (
            ROOT / "fixtures" / "rust" / "headers.wasm",
            ROOT / "fixtures" / "c" / "c_headers.wasm",
        ):
            host.request(host.load_plugin(module.read_bytes()), path="/")
    reports, line = write_outputs(collector, tmp_path)
    names = sorted(r.module for r in reports)
    assert len(names) == 2 and all(n.startswith("<bytes>@") for n in names)
    assert all(n in line for n in names)


def test_demangling_rust_legacy_and_v0_and_cpp() -> None:
    import wasmtime

    from pytest_proxy_wasm.plugin_coverage.names import demangled_names

    wat = """(module
      (func $_ZN7headers5apply17h0123456789abcdefE)
      (func $_RNvCs1234_7headers5apply)
      (func $_Z3addii)
      (func $main.process))"""
    names = demangled_names(bytes(wasmtime.wat2wasm(wat)))
    assert names == {0: "headers::apply", 1: "headers::apply", 2: "add(int, int)", 3: "main.process"}
