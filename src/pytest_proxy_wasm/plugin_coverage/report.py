"""From summed counters to per-file line and function coverage (DWARF, Go's pclntab or a source map
for lines, else functions only)."""

from __future__ import annotations

import bisect
import posixpath
from dataclasses import dataclass, field
from pathlib import Path

from .collector import ModuleCoverage
from .decode import WasmFormatError
from .dwarf import LineRange, has_dwarf, line_ranges
from .go_pclntab import has_pclntab
from .names import custom_sections, demangled_names, is_own, is_own_source, language_of


@dataclass
class FunctionHits:
    name: str
    hits: int
    line: int  # first line (DWARF) or the function's ordinal in its pseudo-file


@dataclass
class FileHits:
    """One source file (DWARF), or one crate/package of a module without DWARF (a pseudo-file)."""

    path: str
    own: bool
    lines: dict[int, int] = field(default_factory=dict)  # line -> hits
    functions: list[FunctionHits] = field(default_factory=list)

    @property
    def lines_hit(self) -> int:
        return sum(1 for hits in self.lines.values() if hits)


@dataclass
class ModuleReport:
    module: str
    sha256: str
    dwarf: bool  # line level (from DWARF, Go's pclntab or a source map); False: function level
    files: list[FileHits]
    lines_from: str = ""  # "dwarf", "go-pclntab", "source-map"; "" at function level
    note: str = ""  # why a module is at function level although it names line information

    def own_files(self) -> list[FileHits]:
        return [f for f in self.files if f.own]


def build_report(
    module: ModuleCoverage, source_root: str | None = None, name: str | None = None
) -> ModuleReport:
    """Line coverage from DWARF, Go's pclntab or a source map (in that order) when the module has one,
    otherwise function coverage by name section; ``name`` replaces the module's file name."""
    label = name or module.name
    custom = custom_sections(module.original)
    names = demangled_names(module.original)
    language = language_of(names)
    entries: dict[int, int] = {}  # function index -> entry count
    for counter, count in zip(module.counters, module.counts, strict=True):
        if counter.entry:
            entries[counter.function] = count
    if has_dwarf(custom):
        files = _dwarf_files(module, custom, names, entries, source_root)
        return ModuleReport(label, module.sha256, True, files, "dwarf")
    from .go_report import go_files
    from .sourcemap_report import source_map_rows

    go, go_note = None, ""
    try:
        go = go_files(module, entries, source_root) if has_pclntab(module.original) else None  # also -s
    except WasmFormatError as exc:
        go_note = str(exc)
    if go is not None:
        return ModuleReport(label, module.sha256, True, go, "go-pclntab")
    rows, note = source_map_rows(module, custom, label)
    note = note or go_note
    if rows is not None:
        files = _dwarf_files(module, custom, names, entries, source_root, rows)
        return ModuleReport(label, module.sha256, True, files, "source-map")
    functions = _function_files(label, names, language, entries)
    return ModuleReport(label, module.sha256, False, functions, note=note)


def _function_files(
    module: str, names: dict[int, str], language: str, entries: dict[int, int]
) -> list[FileHits]:
    from .names import group_of

    files: dict[str, FileHits] = {}
    for index in sorted(entries):
        name = names.get(index, f"function[{index}]")
        group = group_of(name) or "(ungrouped)"
        path = f"{module}/{group}"
        hits = files.setdefault(path, FileHits(path, is_own(name, language)))
        ordinal = len(hits.functions) + 1
        hits.functions.append(FunctionHits(name, entries[index], ordinal))
        hits.lines[ordinal] = entries[index]
    return sorted(files.values(), key=lambda f: f.path)


def _dwarf_files(
    module: ModuleCoverage,
    custom: dict[str, bytes],
    names: dict[int, str],
    entries: dict[int, int],
    source_root: str | None,
    rows: list[LineRange] | None = None,  # a source map's rows instead of DWARF's
) -> list[FileHits]:
    counters = sorted(zip(module.counters, module.counts, strict=True), key=lambda pair: pair[0].start)
    starts = [c.start for c, _ in counters]
    files: dict[str, FileHits] = {}
    first_line: dict[int, tuple[str, int]] = {}  # function -> its first (file, line)
    for row in line_ranges(custom) if rows is None else rows:
        path = _relative(row.path, source_root)
        hits = files.setdefault(path, FileHits(path, is_own_source(row.path, source_root)))
        best, function = 0, -1
        position = max(0, bisect.bisect_right(starts, row.start) - 1)
        while position < len(counters) and counters[position][0].start < row.end:
            counter, count = counters[position]
            if counter.end > row.start and counter.end > counter.start:
                best, function = max(best, count), counter.function
            position += 1
        if function < 0:
            continue  # no instrumented instruction on this row (a function's trailing end)
        hits.lines[row.line] = max(hits.lines.get(row.line, 0), best)
        first_line.setdefault(function, (path, row.line))
    for function, (path, line) in sorted(first_line.items()):
        name = names.get(function, f"function[{function}]")
        files[path].functions.append(FunctionHits(name, entries.get(function, 0), line))
    return sorted(files.values(), key=lambda f: f.path)


def _relative(path: str, source_root: str | None) -> str:
    if not source_root:
        return path
    root = Path(source_root).resolve()
    absolute = Path(path) if posixpath.isabs(path) else root / path
    try:
        return absolute.resolve().relative_to(root).as_posix()
    except ValueError:
        return path
