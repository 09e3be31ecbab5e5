"""Per-file records of a Go module from pclntab (see go_lines.py): files, lines and Go's own names."""

from __future__ import annotations

import re
import struct
from typing import TYPE_CHECKING

from .decode import WasmFormatError
from .go_lines import go_lines, module_path, relative_go_path
from .names import is_own

_NOT_IDENTIFIER = re.compile(r"[^A-Za-z0-9_.]")

if TYPE_CHECKING:
    from .collector import ModuleCoverage
    from .report import FileHits


def go_files(
    module: ModuleCoverage, entries: dict[int, int], source_root: str | None
) -> list[FileHits] | None:
    """Line-level records of a Go module, None when it has no pclntab.

    A file is the plugin's own when a function defined in it is (package ``main`` or a package with a
    domain other than the SDKs, as ``names.is_own`` says); the standard library and runtime are not.
    Functions keep Go's own spelling (``main.(*headersRoot).OnPluginStart``), not the name section's."""
    from .report import FileHits, FunctionHits

    counts_by_start = {
        counter.start: count
        for counter, count in zip(module.counters, module.counts, strict=True)
        if not counter.entry
    }
    try:
        found = go_lines(module.original, counts_by_start, entries)
    except (struct.error, IndexError, WasmFormatError) as exc:
        raise WasmFormatError(f"{module.name}: Go pclntab cannot be read ({exc})") from None
    if found is None:
        return None
    functions, lines = found
    go_module = module_path(source_root)
    # names.is_own judges the name section's spelling ("/", "-", "(*T)" written "_"); pclntab has the
    # real one, also in a module linked with -s (no name section).
    own_files = {f.file for f in functions if is_own(_NOT_IDENTIFIER.sub("_", f.name), "go")}
    files: dict[str, FileHits] = {}
    for path, hits in lines.items():
        relative = relative_go_path(path, source_root, go_module)
        record = files.setdefault(relative, FileHits(relative, path in own_files))
        for line, count in hits.items():
            record.lines[line] = max(record.lines.get(line, 0), count)
    for function in functions:
        defined_in = files.get(relative_go_path(function.file, source_root, go_module))
        if defined_in is not None:
            defined_in.functions.append(
                FunctionHits(function.name, entries.get(function.index, 0), function.start_line)
            )
    return sorted(files.values(), key=lambda f: f.path)
