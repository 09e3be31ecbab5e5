"""A module's source-map rows for the report (AssemblyScript ``asc --sourceMap``), or why there are none."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .dwarf import LineRange
from .go_lines import code_bodies
from .sourcemap import SourceMapError, line_ranges, source_map_for, url_of

if TYPE_CHECKING:
    from .collector import ModuleCoverage


def source_map_rows(
    module: ModuleCoverage, custom: dict[str, bytes], label: str
) -> tuple[list[LineRange] | None, str]:
    """(rows, "") when the module names a source map that can be read; (None, reason) when it names
    one that cannot (the module is then reported at function level, the reason in the summary);
    (None, "") when it names none."""
    url = url_of(custom)
    if url is None:
        return None, ""
    try:
        source_map = source_map_for(url, module.origin, label)
        base, _, bodies = code_bodies(module.original)
        ends = sorted(stop for _, stop in bodies.values())
        return line_ranges(source_map, base, ends[-1] if ends else base, ends), ""
    except SourceMapError as exc:
        return None, str(exc)
