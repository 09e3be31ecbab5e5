"""DWARF line tables of a wasm module (pyelftools): code-section offsets -> (source file, line)."""

from __future__ import annotations

import io
import posixpath
from dataclasses import dataclass

from elftools.dwarf.dwarfinfo import DebugSectionDescriptor, DwarfConfig, DWARFInfo

_SECTIONS = (
    "debug_info", "debug_aranges", "debug_abbrev", "debug_frame", "eh_frame", "debug_str", "debug_loc",
    "debug_ranges", "debug_line", "debug_pubtypes", "debug_pubnames", "debug_addr", "debug_str_offsets",
    "debug_line_str", "debug_loclists", "debug_rnglists", "debug_sup", "gnu_debugaltlink", "debug_types",
)  # fmt: skip


@dataclass(frozen=True)
class LineRange:
    """Code-section offsets ``[start, end)`` generated for ``line`` of ``path``."""

    start: int
    end: int
    path: str
    line: int


def has_dwarf(custom: dict[str, bytes]) -> bool:
    return ".debug_line" in custom and ".debug_info" in custom


def line_ranges(custom: dict[str, bytes]) -> list[LineRange]:
    """Every row of every line program as an address range (rows with line 0 are dropped)."""
    info = _dwarf_info(custom)
    ranges: list[LineRange] = []
    for unit in info.iter_CUs():
        program = info.line_program_for_CU(unit)
        if program is None:
            continue
        version = program.header["version"]
        files = program.header["file_entry"]
        directories = program.header["include_directory"]
        comp_dir = _text(unit.get_top_DIE().attributes.get("DW_AT_comp_dir"))
        previous = None
        for entry in program.get_entries():
            state = entry.state
            if state is None:
                continue
            if previous is not None and state.address > previous.address and previous.line > 0:
                path = _path(files, directories, previous.file, version, comp_dir)
                ranges.append(LineRange(previous.address, state.address, path, previous.line))
            previous = None if state.end_sequence else state
    return ranges


def _dwarf_info(custom: dict[str, bytes]) -> DWARFInfo:
    sections = {}
    for name in _SECTIONS:
        data = custom.get("." + name)
        sections[name + "_sec"] = (
            DebugSectionDescriptor(io.BytesIO(data), "." + name, None, len(data), 0) if data else None
        )
    config = DwarfConfig(little_endian=True, machine_arch="wasm", default_address_size=4)
    return DWARFInfo(config=config, **sections)


def _text(attribute: object) -> str:
    value = getattr(attribute, "value", b"")
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def _path(files: list, directories: list, index: int, version: int, comp_dir: str) -> str:  # type: ignore[type-arg]
    position = index if version >= 5 else index - 1
    if not 0 <= position < len(files):
        return "<unknown>"
    entry = files[position]
    name = _text_value(entry.name)
    directory_index = entry.dir_index
    if version < 5:
        directory = _text_value(directories[directory_index - 1]) if directory_index > 0 else comp_dir
    else:
        directory = _text_value(directories[directory_index]) if directory_index < len(directories) else ""
    if directory and not directory.startswith("/") and comp_dir:
        directory = posixpath.join(comp_dir, directory)
    return posixpath.normpath(posixpath.join(directory, name)) if directory else name


def _text_value(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
