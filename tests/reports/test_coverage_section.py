"""The plugin coverage section of the HTML report (run.html, coverage.html) and the summary line:
numbers per module, file and function, functions never reached, annotated source, escaping."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from pytest_proxy_wasm.cli import main
from pytest_proxy_wasm.plugin_coverage.report import FileHits, FunctionHits, ModuleReport
from pytest_proxy_wasm.plugin_coverage.view import coverage_view
from pytest_proxy_wasm.plugin_coverage.writers import summary_line
from pytest_proxy_wasm.reports import render_html, schema
from pytest_proxy_wasm.reports.coverage_section import render_coverage_page

pytest_plugins = ["pytester"]

ROOT = Path(__file__).resolve().parents[2]
TIMES = "\u00d7"  # the multiplication sign after a line's count in the annotated source
HOSTILE_PATH = "src/<b>&amp.c"
HOSTILE_SOURCE = '// </td></tr><script>alert("x")</script>\nif (a < b && c > d) {\n  return "</pre>";\n'


def synthetic(dwarf: bool = True) -> ModuleReport:
    own = FileHits(
        HOSTILE_PATH, True, {2: 3, 3: 0}, [FunctionHits("operator<<&", 3, 2), FunctionHits("never<T>", 0, 3)]
    )
    sdk_functions = [FunctionHits("core::fmt::write<'a>", 1, 1), FunctionHits("core::panic", 0, 3)]
    other = FileHits("/rustc/abc/library/core/src/fmt.rs", False, {1: 1, 2: 0, 3: 0, 4: 0}, sdk_functions)
    return ModuleReport("m<1>.wasm", "ab" * 32, dwarf, [other, own])


@pytest.fixture
def source_root(tmp_path: Path) -> Path:
    (tmp_path / "src").mkdir()
    (tmp_path / HOSTILE_PATH).write_text(HOSTILE_SOURCE)
    return tmp_path


def rows(html: str) -> dict[int, tuple[str, str]]:
    """Annotated source rows: line -> (class, count cell)."""
    found = re.findall(r'<tr class="(\w+)"><td class="lineno">(\d+)</td><td class="count">([^<]*)</td>', html)
    return {int(n): (kind, count) for kind, n, count in found}


def test_section_numbers_and_never_reached(source_root: Path) -> None:
    html = render_html({"plugin_coverage": coverage_view([synthetic()], str(source_root))})
    section = html.split('<section id="plugin-coverage">', 1)[1].split("</section>", 1)[0]
    own_row = section.split('<tr class="total-own">', 1)[1].split("</tr>", 1)[0]
    other_row = section.split('<tr class="total-other">', 1)[1].split("</tr>", 1)[0]
    assert "1/2 (50.0%)" in own_row.split("</td>")[0]  # lines
    assert "1/2 (50.0%)" in own_row.split("</td>")[1]  # functions
    assert "1/4 (25.0%)" in other_row.split("</td>")[0] and "1/2 (50.0%)" in other_row.split("</td>")[1]
    never_own = section.split('class="never-own"', 1)[1].split("</ul>", 1)[0]
    assert "<code>never&lt;T&gt;</code>" in never_own and "operator" not in never_own
    assert section.index("src/&lt;b&gt;&amp;amp.c") < section.index("core/src/fmt.rs")  # own code first
    group = section.split('<details class="group">', 1)[1]
    assert "1 function never reached" in group and "<code>core::panic</code>" in group
    assert rows(section) == {1: ("nocode", ""), 2: ("hit", f"3{TIMES}"), 3: ("miss", "not hit")}


def test_everything_is_escaped_and_self_contained(source_root: Path) -> None:
    html = render_html({"plugin_coverage": coverage_view([synthetic()], str(source_root))})
    assert "<script" not in html
    assert "&lt;/td&gt;&lt;/tr&gt;&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "if (a &lt; b &amp;&amp; c &gt; d) {" in html
    assert "return &#34;&lt;/pre&gt;&#34;;" in html
    assert "<code>operator&lt;&lt;&amp;</code>" in html and "m&lt;1&gt;.wasm" in html
    page = render_coverage_page(coverage_view([synthetic()], str(source_root)))
    for text in (html, page):
        assert not re.search(r"""(src|href)=["']?(https?:)?//|<link|@import|url\(""", text)
    assert page.startswith("<!DOCTYPE html>") and '<section id="plugin-coverage">' in page


def test_no_annotated_source_without_the_root() -> None:
    html = render_html({"plugin_coverage": coverage_view([synthetic()], None)})
    assert 'class="annotated"' not in html and "No source root given" in html
    assert "src/&lt;b&gt;&amp;amp.c" in html


def test_function_level_module_shows_functions_only(source_root: Path) -> None:
    html = render_html({"plugin_coverage": coverage_view([synthetic(dwarf=False)], str(source_root))})
    section = html.split('<section id="plugin-coverage">', 1)[1]
    assert "function level" in section and "lines hit" not in section
    assert 'class="annotated"' not in section


def test_absent_without_coverage() -> None:
    assert "plugin-coverage" not in render_html({})
    assert "plugin-coverage" not in render_html({"plugin_coverage": "not coverage data"})


def test_summary_line() -> None:
    assert summary_line([synthetic()]) == (
        "plugin coverage: m<1>.wasm: own code 1/2 lines (50.0%), 1/2 functions (50.0%); "
        "SDK/std/runtime 1/4 lines (25.0%)"
    )
    assert summary_line([synthetic(dwarf=False)]) == (
        "plugin coverage: m<1>.wasm: own code 1/2 functions (50.0%); SDK/std/runtime 1/2 functions (50.0%)"
    )
    assert summary_line([]) == "plugin coverage: no module ran"


C_SOURCE = "plugins_under_test/c/c_coverage/c_coverage.c"


def marker_line(name: str) -> int:
    lines = (ROOT / C_SOURCE).read_text().splitlines()
    return next(i for i, text in enumerate(lines, start=1) if f"LINE:{name} " in text)


def test_conformance_report_carries_the_section(pytester: pytest.Pytester) -> None:
    """``pytest --proxy-wasm-conformance --proxy-wasm-coverage``: run.html's section, run.json's
    ``plugin_coverage`` and the terminal line agree with lcov.info."""
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--proxy-wasm-cache-dir=", "--proxy-wasm-conformance",
        "--proxy-wasm-module", str(ROOT / "fixtures" / "c" / "c_coverage.wasm"),
        "--proxy-wasm-select", "module.valid_wasm", "--proxy-wasm-report-dir", "out",
        "--proxy-wasm-coverage", f"--proxy-wasm-coverage-source-root={ROOT}",
    )  # fmt: skip
    out = pytester.path / "out"
    lcov = (out / "lcov.info").read_text()
    own_records = [r for r in lcov.split("end_of_record") if "SF:plugins_under_test/c/" in r]
    lf = sum(int(re.search(r"^LF:(\d+)", r, re.M).group(1)) for r in own_records)  # type: ignore[union-attr]
    lh = sum(int(re.search(r"^LH:(\d+)", r, re.M).group(1)) for r in own_records)  # type: ignore[union-attr]
    data = json.loads((out / "run.json").read_text())
    jsonschema.validate(data, schema())  # run-v3.schema.json describes plugin_coverage
    (module,) = [m for m in data["plugin_coverage"]["modules"]
                 if m["name"] == "c_coverage.wasm"]  # fmt: skip
    assert (module["own"]["lines_hit"], module["own"]["lines_total"]) == (lh, lf)
    percent = f"{100 * lh / lf:.1f}%"
    result.stdout.fnmatch_lines(
        [f"plugin coverage: c_coverage.wasm: own code {lh}/{lf} lines ({percent}), *"]
    )
    html = (out / "run.html").read_text()
    assert html.count('<section id="plugin-coverage">') == 1
    assert f"{lh}/{lf} ({percent})" in html.split('<tr class="total-own">', 1)[1].split("</tr>", 1)[0]
    annotated = rows(html.split(f"annotated source: <code>{C_SOURCE}</code>", 1)[1].split("</table>", 1)[0])
    c_record = lcov.split(f"SF:{C_SOURCE}\n", 1)[1].split("end_of_record", 1)[0]
    counts = dict(re.findall(r"^DA:(\d+),(\d+)$", c_record, re.M))
    for number, count in counts.items():  # every line with code, as lcov.info counts it
        expected = ("hit", f"{count}{TIMES}") if int(count) else ("miss", "not hit")
        assert annotated[int(number)] == expected
    assert annotated[marker_line("allow")][0] == "hit"  # the conformance requests take the allow path
    assert annotated[marker_line("unused")] == ("miss", "not hit")
    assert "<code>c_coverage_unused</code>" in html.split('class="never-own"', 1)[1].split("</ul>", 1)[0]
    assert '<section id="plugin-coverage">' in (out / "coverage.html").read_text()
    summary = (out / "summary.md").read_text()
    assert "### Plugin code coverage" in summary
    assert f"| c_coverage.wasm | line | {lh}/{lf} ({percent}) |" in summary
    assert main(["report", str(out / "run.json"), "--html", str(out / "again.html")]) == 0  # re-rendered
    assert f"{lh}/{lf} ({percent})" in (out / "again.html").read_text().split('<tr class="total-own">', 1)[1]


def test_conformance_report_without_coverage_has_no_section(pytester: pytest.Pytester) -> None:
    pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "--proxy-wasm-conformance",
        "--proxy-wasm-module", str(ROOT / "fixtures" / "c" / "c_coverage.wasm"),
        "--proxy-wasm-select", "module.valid_wasm", "--proxy-wasm-report-dir", "out",
    )  # fmt: skip
    assert "plugin-coverage" not in (pytester.path / "out" / "run.html").read_text()
    assert "Plugin code coverage" not in (pytester.path / "out" / "summary.md").read_text()
    assert "plugin_coverage" not in json.loads((pytester.path / "out" / "run.json").read_text())


def test_schema_describes_plugin_coverage(source_root: Path) -> None:
    whole = schema()
    part = {"$defs": whole["$defs"], **whole["properties"]["plugin_coverage"]}
    view = coverage_view([synthetic(), synthetic(dwarf=False)], str(source_root))
    jsonschema.validate(view, part)
    view["modules"][0]["own"]["lines_hit"] = -1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(view, part)
