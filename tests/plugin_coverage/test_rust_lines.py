"""Line hits on the Rust headers sample built with DWARF line tables (fixtures/rust/headers_debug.wasm,
plugins_under_test/rust/build_coverage.sh): an empty configuration takes parse_settings' early return,
a JSON one the parsing path; each request runs on_http_request_headers once."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm.host.host import Host
from pytest_proxy_wasm.host.runtime import Runtime
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector
from pytest_proxy_wasm.plugin_coverage.report import ModuleReport, build_report

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "fixtures" / "rust" / "headers_debug.wasm"
SOURCE_ROOT = ROOT / "plugins_under_test" / "rust"
SOURCE = "headers/src/lib.rs"


def line_of(text: str) -> int:
    lines = (SOURCE_ROOT / SOURCE).read_text().splitlines()
    (number,) = [i for i, line in enumerate(lines, start=1) if text in line]
    return number


EARLY_RETURN = "return Ok(defaults);"
PARSE = "let value: Value = serde_json::from_slice(raw)"
PAIR_ERROR = 'Err("header pair must be two strings")'
ON_REQUEST = "fn on_http_request_headers("


def report_for(config: str, requests: int) -> ModuleReport:
    runtime = Runtime(None)
    collector = CoverageCollector(None)
    runtime.coverage = collector
    with Host(runtime) as host:
        plugin = host.load_plugin(MODULE, plugin_config=config)
        for _ in range(requests):
            assert host.request(plugin, path="/").status == 200
    (module,) = collector.modules.values()
    return build_report(module, str(SOURCE_ROOT))


def lib_lines(report: ModuleReport) -> dict[int, int]:
    (lib,) = [f for f in report.files if f.path == SOURCE]
    return lib.lines


def test_empty_configuration_takes_the_early_return() -> None:
    lines = lib_lines(report_for("", 2))
    assert lines[line_of(EARLY_RETURN)] > 0
    assert lines[line_of(PARSE)] == 0
    assert lines[line_of(PAIR_ERROR)] == 0
    assert lines[line_of(ON_REQUEST)] == 2


def test_json_configuration_takes_the_parsing_path() -> None:
    lines = lib_lines(report_for("{}", 3))
    assert lines[line_of(EARLY_RETURN)] == 0
    assert lines[line_of(PARSE)] > 0
    assert lines[line_of(PAIR_ERROR)] == 0
    assert lines[line_of(ON_REQUEST)] == 3


@pytest.mark.parametrize("config", [""])
def test_only_the_plugin_source_is_own(config: str) -> None:
    report = report_for(config, 1)
    assert [f.path for f in report.own_files()] == [SOURCE]
    others = {f.path for f in report.files if not f.own}
    assert any(p.startswith("/rust-src/") for p in others)
    assert any(p.startswith("/cargo-registry/") for p in others)
    assert any(p.startswith("libc-") for p in others)  # wasi-libc, compiled with relative paths
