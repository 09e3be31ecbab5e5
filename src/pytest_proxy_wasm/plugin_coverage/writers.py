"""LCOV (``lcov.info``) and Cobertura (``coverage.xml``) for the modules' reports."""

from __future__ import annotations

import time
from pathlib import Path
from xml.etree import ElementTree as ET

from .report import FileHits, ModuleReport


def write_lcov(reports: list[ModuleReport], path: Path) -> None:
    """One ``SF`` record per source file (or per crate/package pseudo-file without DWARF)."""
    out: list[str] = []
    for report in reports:
        for hits in report.files:
            out.append(f"TN:{_test_name(report.module)}")
            out.append(f"SF:{hits.path}")
            for function in hits.functions:
                out.append(f"FN:{function.line},{function.name}")
            for function in hits.functions:
                out.append(f"FNDA:{function.hits},{function.name}")
            out.append(f"FNF:{len(hits.functions)}")
            out.append(f"FNH:{sum(1 for f in hits.functions if f.hits)}")
            for line, count in sorted(hits.lines.items()):
                out.append(f"DA:{line},{count}")
            out.append(f"LF:{len(hits.lines)}")
            out.append(f"LH:{hits.lines_hit}")
            out.append("end_of_record")
    path.write_text("\n".join(out) + "\n")


def _test_name(module: str) -> str:
    return "".join(c if c.isalnum() or c == "_" else "_" for c in module)


def write_cobertura(reports: list[ModuleReport], path: Path, source_root: str | None = None) -> None:
    """Cobertura XML: a package per module, a class per file."""
    all_files = [f for r in reports for f in r.files]
    valid, covered = _totals(all_files)
    root = ET.Element(
        "coverage",
        {
            "line-rate": _rate(covered, valid),
            "branch-rate": "0",
            "lines-covered": str(covered),
            "lines-valid": str(valid),
            "branches-covered": "0",
            "branches-valid": "0",
            "complexity": "0",
            "version": "pytest-proxy-wasm",
            "timestamp": str(int(time.time() * 1000)),
        },
    )
    sources = ET.SubElement(root, "sources")
    ET.SubElement(sources, "source").text = str(Path(source_root).resolve()) if source_root else "."
    packages = ET.SubElement(root, "packages")
    for report in reports:
        valid, covered = _totals(report.files)
        package = ET.SubElement(
            packages,
            "package",
            {
                "name": report.module,
                "line-rate": _rate(covered, valid),
                "branch-rate": "0",
                "complexity": "0",
            },
        )
        classes = ET.SubElement(package, "classes")
        for hits in report.files:
            valid, covered = _totals([hits])
            element = ET.SubElement(
                classes,
                "class",
                {
                    "name": hits.path,
                    "filename": hits.path,
                    "line-rate": _rate(covered, valid),
                    "branch-rate": "0",
                    "complexity": "0",
                },
            )
            methods = ET.SubElement(element, "methods")
            for function in hits.functions:
                method = ET.SubElement(
                    methods,
                    "method",
                    {"name": function.name, "signature": "", "line-rate": "1" if function.hits else "0"},
                )
                lines = ET.SubElement(method, "lines")
                ET.SubElement(lines, "line", {"number": str(function.line), "hits": str(function.hits)})
            lines = ET.SubElement(element, "lines")
            for line, count in sorted(hits.lines.items()):
                ET.SubElement(lines, "line", {"number": str(line), "hits": str(count), "branch": "false"})
    ET.indent(root)
    path.write_bytes(ET.tostring(root, encoding="utf-8", xml_declaration=True))


def _totals(files: list[FileHits]) -> tuple[int, int]:
    return sum(len(f.lines) for f in files), sum(f.lines_hit for f in files)


def _rate(covered: int, valid: int) -> str:
    return f"{covered / valid:.4f}" if valid else "1"


def summary_line(reports: list[ModuleReport]) -> str:
    """``plugin coverage: m.wasm: own code 12/40 lines (30.0%), 3/5 functions (60.0%); SDK/std/runtime
    90/2000 lines (4.5%)``: lines where the module has DWARF, functions only without."""
    parts = []
    for report in reports:
        own = report.own_files()
        other = [f for f in report.files if not f.own]
        text = f"{report.module}: own code {_measure(own, report.dwarf)}"
        if other:
            text += f"; SDK/std/runtime {_measure(other, report.dwarf, functions=False)}"
        if report.note:
            text += f" [{report.note}]"
        parts.append(text)
    return "plugin coverage: " + ("; ".join(parts) if parts else "no module ran")


def _measure(files: list[FileHits], dwarf: bool, functions: bool = True) -> str:
    """``12/40 lines (30.0%), 3/5 functions (60.0%)`` (``functions``: the second part too)."""
    reached = [f.hits for hits in files for f in hits.functions]
    in_functions = _ratio(sum(1 for hits in reached if hits), len(reached), "functions")
    if not dwarf:
        return in_functions
    valid, covered = _totals(files)
    return _ratio(covered, valid, "lines") + (f", {in_functions}" if functions else "")


def _ratio(covered: int, valid: int, unit: str) -> str:
    percent = f"{100 * covered / valid:.1f}%" if valid else "n/a"
    return f"{covered}/{valid} {unit} ({percent})"
