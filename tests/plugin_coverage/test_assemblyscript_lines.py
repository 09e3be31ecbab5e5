"""Line hits on the AssemblyScript basic_auth sample built with a source map
(fixtures/assemblyscript/basic_auth_debug.wasm + .wasm.map, plugins_under_test/assemblyscript/
build_coverage.sh): the right credentials take the allow branch, none the deny branch; the
configuration errors stay unhit. Lines are found by their text in basic_auth/index.ts."""

from __future__ import annotations

import base64
import json
import shutil
from pathlib import Path

import pytest

from pytest_proxy_wasm.host.host import Host
from pytest_proxy_wasm.plugin_coverage.decode import Reader
from pytest_proxy_wasm.plugin_coverage.instrument import _leb
from pytest_proxy_wasm.plugin_coverage.report import ModuleReport, build_report
from pytest_proxy_wasm.plugin_coverage.sourcemap import decode_vlq, mappings
from pytest_proxy_wasm.plugin_coverage.writers import summary_line

from .helpers import counting_runtime, source_line

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "fixtures" / "assemblyscript" / "basic_auth_debug.wasm"
SOURCE_ROOT = ROOT / "plugins_under_test" / "assemblyscript"
SOURCE = "basic_auth/index.ts"
CONFIG = {"username": "admin", "password": "s3cret"}
GOOD = "Basic " + base64.b64encode(b"admin:s3cret").decode()

ALLOW = "return FilterHeadersStatusValues.Continue;"
DENY = 'log(LogLevelValues.info, "basic-auth: denied");'
COMPARE = 'if (root.expected != "" && authorization == root.expected) {'
BAD_CONFIG = '"basic-auth: invalid configuration: not a JSON object"'


def line_of(text: str) -> int:
    return source_line(SOURCE_ROOT / SOURCE, text)


def report_for(module: Path, authorizations: list[str | None]) -> ModuleReport:
    runtime, collector = counting_runtime()
    with Host(runtime) as host:
        plugin = host.load_plugin(module, plugin_config=json.dumps(CONFIG))
        for value in authorizations:
            headers = {"authorization": value} if value else {}
            expected = 200 if value == GOOD else 401
            assert host.request(plugin, path="/", headers=headers).status == expected
    (coverage,) = collector.modules.values()
    return build_report(coverage, str(SOURCE_ROOT))


def source_lines(report: ModuleReport) -> dict[int, int]:
    (source,) = [f for f in report.files if f.path == SOURCE]
    assert source.own
    return source.lines


def test_allowed_twice_denied_once() -> None:
    report = report_for(MODULE, [GOOD, None, GOOD])
    assert report.dwarf and report.lines_from == "source-map"
    lines = source_lines(report)
    assert lines[line_of(COMPARE)] == 3
    assert lines[line_of(ALLOW)] == 2
    assert lines[line_of(DENY)] == 1
    assert lines[line_of(BAD_CONFIG)] == 0
    own = [f.path for f in report.own_files()]
    assert SOURCE in own and "common/json.ts" in own
    assert not any(path.startswith("~lib/") for path in own)  # the SDK and the AS standard library


def test_only_the_deny_branch() -> None:
    lines = source_lines(report_for(MODULE, [None, "Basic bm9wZTpub3Bl"]))
    assert lines[line_of(DENY)] == 2
    assert lines[line_of(ALLOW)] == 0


def test_functions_are_named_at_their_first_line() -> None:
    report = report_for(MODULE, [GOOD])
    (source,) = [f for f in report.files if f.path == SOURCE]
    hits = {f.name: f.hits for f in source.functions}
    assert hits["basic_auth/index/BasicAuth#onRequestHeaders"] == 1
    # a mapping runs to the next one but not into the next function's body
    assert all(name.startswith("basic_auth/index/") for name in hits)
    lines = {f.name: f.line for f in source.functions}
    assert lines["basic_auth/index/BasicAuthRoot#onConfigure"] == line_of("let text = readPluginConfig")


def test_a_missing_map_falls_back_to_function_level_and_says_why(tmp_path: Path) -> None:
    module = tmp_path / "basic_auth_debug.wasm"
    shutil.copy(MODULE, module)  # without its .map beside it
    report = report_for(module, [GOOD])
    assert not report.dwarf
    assert "cannot read its source map" in report.note and "basic_auth_debug.wasm.map" in report.note
    assert "cannot read its source map" in summary_line([report])
    own = {f.path for f in report.own_files()}  # grouped by source file; ~lib (std, SDK) apart
    assert own == {f"{module.name}/{group}" for group in ("basic_auth/index", "common/json", "common/util")}
    assert any(f.path.startswith(f"{module.name}/~lib/") for f in report.files)


@pytest.mark.parametrize(
    ("segment", "values"),
    [("AAAA", [0, 0, 0, 0]), ("AAgBC", [0, 0, 16, 1]), ("D", [-1]), ("2zDE2GG", [1851, 2, 107, 3])],
)
def test_vlq(segment: str, values: list[int]) -> None:
    assert decode_vlq(segment) == values


def test_mappings_are_deltas() -> None:
    source_map = {"version": 3, "sources": ["a.ts"], "mappings": "UAAA,EAAE,EACF,C"}
    assert mappings(source_map) == [(0, 10, 0, 0), (0, 12, 0, 0), (0, 14, 0, 1), (0, 15, None, 0)]


PYTEST_TESTS = f"""
import json, pytest
MODULE = {str(MODULE)!r}

@pytest.mark.parametrize("n", range(3))
def test_denied(proxy_wasm_host, n):
    plugin = proxy_wasm_host.load_plugin(MODULE, plugin_config=json.dumps({CONFIG!r}))
    assert proxy_wasm_host.request(plugin).status == 401
"""


def test_pytest_option_under_xdist_finds_the_map_beside_the_module(pytester: pytest.Pytester) -> None:
    # the workers' partial files carry where the module came from, so the controller finds its map
    pytester.makepyfile(test_as=PYTEST_TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--proxy-wasm-cache-dir=", "--proxy-wasm-coverage", "-n", "2",
        f"--proxy-wasm-coverage-source-root={SOURCE_ROOT}", "--proxy-wasm-coverage-dir=cov",
    )  # fmt: skip
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["plugin coverage: basic_auth_debug.wasm: own code *lines*"])
    lcov = (pytester.path / "cov" / "lcov.info").read_text()
    record = lcov.split(f"SF:{SOURCE}\n", 1)[1].split("end_of_record", 1)[0]
    assert f"DA:{line_of(DENY)},3\n" in record
    assert f"DA:{line_of(ALLOW)},0\n" in record


def with_source_map_url(data: bytes, url: str) -> bytes:
    """The module with its ``sourceMappingURL`` custom section replaced (a wasm name: LEB128 + UTF-8)."""
    reader = Reader(data, 8, "module")
    out = bytearray(data[:8])
    while not reader.done():
        start = reader.pos
        section_id = reader.byte()
        size = reader.u32()
        body = reader.pos
        reader.pos += size
        if section_id == 0 and Reader(data, body, "custom").name() == "sourceMappingURL":
            payload = _leb(len("sourceMappingURL")) + b"sourceMappingURL" + _leb(len(url)) + url.encode()
            out += b"\0" + _leb(len(payload)) + payload
        else:
            out += data[start : reader.pos]
    return bytes(out)


def test_an_embedded_data_url_map(tmp_path: Path) -> None:
    encoded = base64.b64encode(MODULE.with_suffix(".wasm.map").read_bytes()).decode()
    module = tmp_path / "embedded.wasm"  # no .map beside it
    module.write_bytes(with_source_map_url(MODULE.read_bytes(), "data:application/json;base64," + encoded))
    lines = source_lines(report_for(module, [GOOD]))
    assert lines[line_of(ALLOW)] == 1
    assert lines[line_of(DENY)] == 0
