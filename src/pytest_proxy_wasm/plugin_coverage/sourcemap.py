"""Source maps (v3) of wasm modules: AssemblyScript's ``asc --sourceMap`` (Binaryen's writer).

In a wasm source map the generated line is always 1 and the generated column is the byte offset of
an instruction in the module file; each mapping gives the source file and line it came from. The
module names its map in its ``sourceMappingURL`` custom section: a ``data:`` URL (the map itself),
a ``file://`` URL or a path, relative to the module's own file. Decoding (Base64 VLQ) is written here:
the PyPI source-map readers are unmaintained since 2015-2018.
"""

from __future__ import annotations

import base64
import bisect
import json
import posixpath
import urllib.parse
from pathlib import Path
from typing import Any

from .dwarf import LineRange

_BASE64 = {c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")}


class SourceMapError(ValueError):
    """The module's source map cannot be read or decoded (the message names it)."""


def decode_vlq(segment: str) -> list[int]:
    """The signed integers of one Base64 VLQ segment (``"AAgBC"`` -> ``[0, 0, 16, 1]``)."""
    values, value, shift = [], 0, 0
    for char in segment:
        digit = _BASE64.get(char)
        if digit is None:
            raise SourceMapError(f"invalid Base64 VLQ character {char!r} in {segment!r}")
        value |= (digit & 31) << shift
        if digit & 32:
            shift += 5
            continue
        values.append(-(value >> 1) if value & 1 else value >> 1)
        value, shift = 0, 0
    if shift:
        raise SourceMapError(f"truncated Base64 VLQ segment {segment!r}")
    return values


def mappings(source_map: dict[str, Any]) -> list[tuple[int, int, int | None, int]]:
    """Every mapping as (generated line, generated column, source index or None, source line),
    0-based as in the map; the fields are deltas against the previous segment (spec v3)."""
    out: list[tuple[int, int, int | None, int]] = []
    source = line = 0
    for generated_line, text in enumerate(str(source_map.get("mappings", "")).split(";")):
        column = 0
        for segment in text.split(","):
            if not segment:
                continue
            fields = decode_vlq(segment)
            column += fields[0]
            if len(fields) >= 4:
                source += fields[1]
                line += fields[2]
                out.append((generated_line, column, source, line))
            else:
                out.append((generated_line, column, None, 0))  # code that maps to no source
    return out


def line_ranges(
    source_map: dict[str, Any], code_start: int, code_end: int, body_ends: list[int] | None = None
) -> list[LineRange]:
    """The mappings as code-section-relative ranges (like DWARF rows); ``code_start``/``code_end``:
    the code section's payload in the module file; ``body_ends``: where each function body ends
    (sorted file offsets): a mapping runs to the next one, but not into the next function."""
    sources = [str(s) for s in source_map.get("sources", [])]
    rows = sorted((column, source, line) for _, column, source, line in mappings(source_map))
    ends = body_ends or [code_end]
    ranges = []
    for number, (column, source, line) in enumerate(rows):
        end = rows[number + 1][0] if number + 1 < len(rows) else code_end
        body = bisect.bisect_right(ends, column)
        end = min(end, ends[body]) if body < len(ends) else end
        if source is None or not code_start <= column < code_end or end <= column:
            continue
        path = sources[source] if 0 <= source < len(sources) else "<unknown>"
        ranges.append(LineRange(column - code_start, min(end, code_end) - code_start, path, line + 1))
    return ranges


def source_map_for(url: str, origin: str | None, label: str) -> dict[str, Any]:
    """The map a module's ``sourceMappingURL`` names; ``origin`` is the module's file (relative URLs
    are taken from its directory, else from the working directory)."""
    if url.startswith("data:"):
        header, _, payload = url[5:].partition(",")
        raw = base64.b64decode(payload) if header.endswith(";base64") else urllib.parse.unquote(payload)
        return _parse(raw, f"{label}: the embedded source map")
    if url.startswith("file://"):
        path = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path))
    elif "://" in url:
        raise SourceMapError(f"{label}: source map {url} is not a file (only file paths and data: URLs)")
    else:
        path = Path(urllib.parse.unquote(url))
        if not path.is_absolute():
            path = (Path(origin).parent if origin else Path.cwd()) / path
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SourceMapError(f"{label}: cannot read its source map {path}: {exc.strerror}") from None
    return _parse(raw, f"{label}: source map {path}")


def _parse(raw: bytes | str, what: str) -> dict[str, Any]:
    try:
        loaded = json.loads(raw)
    except ValueError as exc:
        raise SourceMapError(f"{what} is not JSON: {exc}") from None
    if not isinstance(loaded, dict) or loaded.get("version") != 3 or "mappings" not in loaded:
        raise SourceMapError(f"{what} is not a version 3 source map")
    return _rooted(loaded)


def _rooted(source_map: dict[str, Any]) -> dict[str, Any]:
    """Apply ``sourceRoot`` to the sources, except asc's, which names the module file itself."""
    root = str(source_map.get("sourceRoot") or "")
    if root and not root.endswith(".wasm"):
        source_map["sources"] = [posixpath.join(root, str(s)) for s in source_map.get("sources", [])]
    return source_map


def url_of(custom: dict[str, bytes]) -> str | None:
    """The ``sourceMappingURL`` custom section's URL (a wasm name: LEB128 length, UTF-8 bytes)."""
    payload = custom.get("sourceMappingURL")
    if payload is None:
        return None
    size, shift, position = 0, 0, 0
    while position < len(payload):
        byte = payload[position]
        position += 1
        size |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            break
    return payload[position : position + size].decode("utf-8", "replace")
