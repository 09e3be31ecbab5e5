"""The coverage of a session as plain data for the HTML report (``run.json``'s ``plugin_coverage`` and
``coverage.html``): totals per module split into the plugin's own code and SDK/std/runtime code, per
file and function hits, the functions never reached, and each own source file's lines when the source
root holds it (for the annotated listing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .report import FileHits, ModuleReport

SOURCE_MAX_BYTES = 1_000_000  # larger files are listed without their text
NEVER_REACHED_SHOWN = 300  # SDK/std functions never reached listed by name (the rest are counted)


def _totals(files: list[FileHits], line_level: bool) -> dict[str, int]:
    functions = [f for hits in files for f in hits.functions]
    return {
        "lines_hit": sum(f.lines_hit for f in files) if line_level else 0,
        "lines_total": sum(len(f.lines) for f in files) if line_level else 0,
        "functions_hit": sum(1 for f in functions if f.hits),
        "functions_total": len(functions),
    }


def source_text(path: str, source_root: str | None) -> list[str] | None:
    """The file's lines when it lies under ``source_root`` (a relative path is taken from the root)."""
    if not source_root:
        return None
    root = Path(source_root).resolve()
    candidate = (root / path).resolve()
    if not candidate.is_relative_to(root) or not candidate.is_file():
        return None
    try:
        if candidate.stat().st_size > SOURCE_MAX_BYTES:
            return None
        return candidate.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None


def _file_view(hits: FileHits, line_level: bool, source_root: str | None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "path": hits.path,
        "own": hits.own,
        **_totals([hits], line_level),
        "functions": [{"name": f.name, "line": f.line, "hits": f.hits} for f in hits.functions],
        "source": None,
    }
    text = source_text(hits.path, source_root) if line_level and hits.own else None
    if text is not None:  # [number, text, hits or None when the line has no code]
        view["source"] = [[n, line, hits.lines.get(n)] for n, line in enumerate(text, start=1)]
    return view


def _never_reached(files: list[FileHits], line_level: bool) -> list[dict[str, Any]]:
    return [
        {"name": f.name, "file": hits.path, "line": f.line if line_level else None}
        for hits in files
        for f in hits.functions
        if not f.hits
    ]


def module_view(report: ModuleReport, source_root: str | None) -> dict[str, Any]:
    line_level = report.dwarf
    own = sorted(report.own_files(), key=lambda f: f.path)
    other = sorted((f for f in report.files if not f.own), key=lambda f: f.path)
    never_other = _never_reached(other, line_level)
    return {
        "name": report.module,
        "sha256": report.sha256,
        "level": "line" if line_level else "function",
        "own": _totals(own, line_level),
        "other": _totals(other, line_level),
        "files": [_file_view(f, line_level, source_root) for f in [*own, *other]],
        "never_reached_own": _never_reached(own, line_level),
        "never_reached_other": never_other[:NEVER_REACHED_SHOWN],
        "never_reached_other_count": len(never_other),
    }


def coverage_view(
    reports: list[ModuleReport], source_root: str | None, directory: Path | None = None
) -> dict[str, Any]:
    """What ``run.json`` carries as ``plugin_coverage`` (JSON-able)."""
    return {
        "source_root": str(Path(source_root).resolve()) if source_root else None,
        "directory": str(directory) if directory is not None else None,
        "modules": [module_view(r, source_root) for r in reports],
    }
