"""Line hits on Go modules from Go's pclntab (Go writes no DWARF for wasip1): the bot_detect sample
(fixtures/go/bot_detect.wasm, the ordinary -trimpath build) denies a curl User-Agent with a 403 and
lets a browser's through; each path's lines are hit and its sibling's are not, with exact counts.
Lines are found by their text in plugins_under_test/go/bot_detect/main.go."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm.host.host import Host
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector
from pytest_proxy_wasm.plugin_coverage.decode import Reader
from pytest_proxy_wasm.plugin_coverage.go_pclntab import memory_image
from pytest_proxy_wasm.plugin_coverage.names import function_names
from pytest_proxy_wasm.plugin_coverage.report import ModuleReport, build_report

from .helpers import counting_runtime, source_line

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
MODULE = ROOT / "fixtures" / "go" / "bot_detect.wasm"
SOURCE_ROOT = ROOT / "plugins_under_test" / "go"  # holds go.mod: module github.com/pytest-proxy-wasm/...
SOURCE = "bot_detect/main.go"

DENIED = 'pwabi.LogInfoMsg("bot-detect: denied " + agent)'
PASSED = 'pwabi.AddHeaderMapValue(pwabi.MapRequestHeaders, "x-bot-check", "passed")'
NO_AGENT = 'pwabi.LogInfoMsg("bot-detect: no user-agent'
ON_REQUEST = "agent, st := pwabi.GetHeaderMapValue("
BAD_PATTERN = 'pwabi.LogErrorMsg("bot-detect: bad pattern "'
MATCH = "if re.MatchString(agent) {"


def line_of(text: str) -> int:
    return source_line(SOURCE_ROOT / SOURCE, text)


def report_for(agents: list[str]) -> ModuleReport:
    runtime, collector = counting_runtime()
    with Host(runtime) as host:
        plugin = host.load_plugin(MODULE)
        for agent in agents:
            status = host.request(plugin, path="/", headers={"user-agent": agent}).status
            assert status == (403 if agent.startswith("curl") else 200)
    (module,) = collector.modules.values()
    return build_report(module, str(SOURCE_ROOT))


@pytest.fixture(scope="module")
def denied_once_passed_twice() -> ModuleReport:
    return report_for(["curl/8.5", "Mozilla/5.0", "Mozilla/5.0 (X11)"])


def source_lines(report: ModuleReport) -> dict[int, int]:
    (source,) = [f for f in report.files if f.path == SOURCE]
    assert source.own
    return source.lines


def test_each_path_hit_and_its_sibling_not(denied_once_passed_twice: ModuleReport) -> None:
    report = denied_once_passed_twice
    assert report.dwarf and report.lines_from == "go-pclntab"
    lines = source_lines(report)
    assert lines[line_of(ON_REQUEST)] == 3
    assert lines[line_of(DENIED)] == 1
    assert lines[line_of(PASSED)] == 2
    assert lines[line_of(NO_AGENT)] == 0
    assert lines[line_of(BAD_PATTERN)] == 0
    # the loop over the 4 default patterns: curl matches the first, each browser runs all 4
    assert lines[line_of(MATCH)] == 1 + 4 + 4


def test_only_the_passing_path() -> None:
    lines = source_lines(report_for(["Mozilla/5.0"]))
    assert lines[line_of(PASSED)] == 1
    assert lines[line_of(DENIED)] == 0


def test_functions_have_go_names_files_and_first_lines(denied_once_passed_twice: ModuleReport) -> None:
    (source,) = [f for f in denied_once_passed_twice.files if f.path == SOURCE]
    functions = {f.name: (f.line, f.hits) for f in source.functions}
    assert functions["main.(*botStream).OnRequestHeaders"] == (line_of("func (s *botStream) OnRequest"), 3)
    assert functions["main.(*botRoot).OnPluginStart"][0] == line_of("func (r *botRoot) OnPluginStart")


def test_sdk_std_and_runtime_are_not_own(denied_once_passed_twice: ModuleReport) -> None:
    report = denied_once_passed_twice
    assert [f.path for f in report.own_files()] == [SOURCE]
    others = {f.path: f for f in report.files if not f.own}
    assert "pwabi/hostcalls.go" in others  # the SDK, relative to the root (its go.mod's module path)
    assert others["runtime/malloc.go"].lines_hit > 0  # the runtime ran, counted apart
    assert "regexp/regexp.go" in others


def test_without_the_source_root_paths_stay_as_compiled() -> None:
    runtime, collector = counting_runtime()
    with Host(runtime) as host:
        host.request(host.load_plugin(MODULE), path="/", headers={"user-agent": "x"})
    (module,) = collector.modules.values()
    report = build_report(module, None)
    paths = [f.path for f in report.own_files()]
    assert paths == ["github.com/pytest-proxy-wasm/plugins-go/bot_detect/main.go"]


TESTS = f"""
import pytest
MODULE = {str(MODULE)!r}

@pytest.mark.parametrize("agent", ["Mozilla/5.0", "Wget-like/1", "Opera"])
def test_passes(proxy_wasm_host, agent):
    plugin = proxy_wasm_host.load_plugin(MODULE)
    assert proxy_wasm_host.request(plugin, headers={{"user-agent": agent}}).status == 200
"""


def test_pytest_option_writes_the_go_lines(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_go=TESTS)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--proxy-wasm-cache-dir=", "--proxy-wasm-coverage",
        f"--proxy-wasm-coverage-source-root={SOURCE_ROOT}", "--proxy-wasm-coverage-dir=cov",
    )  # fmt: skip
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(["plugin coverage: bot_detect.wasm: own code *lines*"])
    lcov = (pytester.path / "cov" / "lcov.info").read_text()
    record = lcov.split(f"SF:{SOURCE}\n", 1)[1].split("end_of_record", 1)[0]
    assert f"DA:{line_of(PASSED)},3\n" in record
    assert f"DA:{line_of(DENIED)},0\n" in record
    assert "FNDA:3,main.(*botStream).OnRequestHeaders\n" in record
    xml = (pytester.path / "cov" / "coverage.xml").read_text()
    assert f'filename="{SOURCE}"' in xml


def without_name_section(data: bytes) -> bytes:
    """The module as ``go build -ldflags=-s`` links it: no ``name`` section (pclntab stays)."""
    reader = Reader(data, 8, "module")
    out = bytearray(data[:8])
    while not reader.done():
        start = reader.pos
        section_id = reader.byte()
        size = reader.u32()
        body = reader.pos
        reader.pos += size
        if section_id == 0 and Reader(data, body, "custom").name() == "name":
            continue
        out += data[start : reader.pos]
    return bytes(out)


def test_a_module_linked_with_s_keeps_line_level_through_pclntab(tmp_path: Path) -> None:
    stripped = tmp_path / "bot_detect.wasm"
    stripped.write_bytes(without_name_section(MODULE.read_bytes()))
    runtime, collector = counting_runtime()
    with Host(runtime) as host:
        plugin = host.load_plugin(stripped)
        assert host.request(plugin, path="/", headers={"user-agent": "curl/8"}).status == 403
    (module,) = collector.modules.values()
    assert not function_names(module.original)
    report = build_report(module, str(SOURCE_ROOT))
    lines = source_lines(report)
    assert lines[line_of(DENIED)] == 1
    assert lines[line_of(PASSED)] == 0
    (source,) = [f for f in report.files if f.path == SOURCE]
    assert "main.(*botStream).OnRequestHeaders" in {f.name for f in source.functions}


def test_an_unreadable_pclntab_is_function_level_with_the_reason() -> None:
    data = bytearray(MODULE.read_bytes())
    image = memory_image(bytes(data))
    header = image.find(bytes.fromhex("f1ffffff00000108"))
    # pcHeader's funcname, cu, filetab offsets and then pctab's, pointed far away (the data section
    # leaves zero runs out, so the header's bytes are found in the file by their contents)
    at = data.find(image[header + 32 : header + 56]) + 24
    data[at : at + 8] = (1 << 40).to_bytes(8, "little")
    collector = CoverageCollector(None)
    collector.instrument("broken.wasm", bytes(data))
    (module,) = collector.modules.values()
    report = build_report(module, None)
    assert not report.dwarf
    assert report.note.startswith("broken.wasm: Go pclntab cannot be read")
