"""Go's own line table (pclntab) in a ``GOOS=wasip1`` module: function names, files and lines.

Go's linker writes no DWARF for wasm, but the runtime's pclntab (for tracebacks and
``runtime.Caller``) is in the data section. On wasm a Go PC is ``PC_F << 16 | PC_B``: ``PC_F`` is
``0x1000`` + the function's index among the module's own functions, ``PC_B`` a virtual
instruction counter that the compiler advances at each call, basic block and inlining boundary.
pclntab maps every ``PC_B`` of a function to the file and line it was compiled from. Layout facts
from Go's ``runtime/symtab.go`` and ``cmd/link`` (Go 1.20+ format, magic ``0xfffffff1``).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .decode import Reader, WasmFormatError

_MAGIC = b"\xf1\xff\xff\xff\x00\x00\x01\x08"  # Go 1.20+ magic, pad, pad, minLC 1, ptrSize 8
_FUNC_VALUE_OFFSET = 0x1000  # cmd/link/internal/wasm: PC_F = 0x1000 + function index (no imports)
_FUNC_HEADER = struct.Struct("<IiiIIIIIIiBBxB")  # runtime._func up to nfuncdata


@dataclass(frozen=True)
class GoFunction:
    """One Go function: its wasm index (imports counted), name, file, first line and its PC_B lines."""

    index: int
    name: str
    file: str
    start_line: int
    lines: tuple[tuple[int, int, str, int], ...]  # (first PC_B, end PC_B, file, line)


def memory_image(data: bytes) -> bytearray:
    """The module's linear memory as its active data segments initialize it (what pclntab is in)."""
    reader = Reader(data, 8, "module")
    segments: list[tuple[int, bytes]] = []
    while not reader.done():
        section_id = reader.byte()
        size = reader.u32()
        end = reader.pos + size
        if section_id == 11:
            segments = _segments(Reader(data, reader.pos, "data section", end))
        reader.pos = end
    image = bytearray(max((offset + len(raw) for offset, raw in segments), default=0))
    for offset, raw in segments:
        image[offset : offset + len(raw)] = raw
    return image


def _segments(reader: Reader) -> list[tuple[int, bytes]]:
    found = []
    for _ in range(reader.u32()):
        flags = reader.u32()
        if flags == 2:
            reader.u32()  # memory index
        offset = -1
        if flags in (0, 2):
            if reader.byte() == 0x41:  # i32.const N end
                offset = reader.sleb()
            if reader.byte() != 0x0B:
                raise WasmFormatError("data section: unsupported segment offset expression")
        size = reader.u32()
        if offset >= 0:
            found.append((offset, reader.data[reader.pos : reader.pos + size]))
        reader.pos += size
    return found


def has_pclntab(data: bytes) -> bool:
    """A cheap test (no parsing): does the module carry a Go 1.20+ pclntab?"""
    return _MAGIC in data


class PcLnTab:
    """The pclntab found in a module's initial memory (``find`` returns None when there is none)."""

    def __init__(self, image: bytearray, base: int, imported_functions: int) -> None:
        self.image = image
        self.base = base
        self.imported = imported_functions
        nfunc, _nfiles, _unused, names, cus, files, pctab, pcln = struct.unpack_from("<8Q", image, base + 8)
        self.nfunc = nfunc
        self.names, self.cus, self.files = base + names, base + cus, base + files
        self.pctab, self.pcln = base + pctab, base + pcln

    @classmethod
    def find(cls, data: bytes, imported_functions: int) -> PcLnTab | None:
        image = memory_image(data)
        start = 0
        while (base := image.find(_MAGIC, start)) >= 0:
            start = base + 1
            if base + 72 > len(image):
                break
            table = cls(image, base, imported_functions)
            if 0 < table.nfunc < 1 << 20 and table.pcln + 8 * table.nfunc <= len(image):
                return table
        return None

    def functions(self) -> list[GoFunction]:
        """Every function of the table, in PC order."""
        out = []
        for number in range(self.nfunc):
            entry, offset = struct.unpack_from("<II", self.image, self.pcln + 8 * number)
            out.append(self._function(entry, self.pcln + offset))
        return out

    def _function(self, entry: int, at: int) -> GoFunction:
        (_entry, name_offset, _args, _deferreturn, _pcsp, pcfile, pcln, _npcdata, cu, start_line,
         _func_id, _flag, _nfuncdata) = _FUNC_HEADER.unpack_from(self.image, at)  # fmt: skip
        files = {pc: self._file(cu, value) for pc, _, value in self._pc_values(pcfile)}
        lines = []
        file_steps = sorted(files.items())
        for first, end, line in self._pc_values(pcln):
            lines.append((first, end, _value_at(file_steps, first), line))
        name = self._string(self.names + name_offset)
        first_file = lines[0][2] if lines else ""
        # On wasm a function's entry offset is its PC_F (cmd/link textOff): 0x1000 + own index.
        index = self.imported + entry - _FUNC_VALUE_OFFSET
        return GoFunction(index, name, first_file, start_line, tuple(lines))

    def _file(self, cu: int, number: int) -> str:
        if number < 0:
            return ""
        (offset,) = struct.unpack_from("<I", self.image, self.cus + 4 * (cu + number))
        return self._string(self.files + offset) if offset != 0xFFFFFFFF else ""

    def _string(self, at: int) -> str:
        end = self.image.find(b"\0", at)
        return self.image[at:end].decode("utf-8", "replace")

    def _pc_values(self, offset: int) -> list[tuple[int, int, int]]:
        """A pc-value table as ``(first PC_B, end PC_B, value)`` runs (runtime.step)."""
        if offset == 0:
            return []
        image, pos = self.image, self.pctab + offset
        pc, value, first = 0, -1, True
        runs: list[tuple[int, int, int]] = []
        while True:
            delta, pos = _uvarint(image, pos)
            if delta == 0 and not first:
                return runs
            first = False
            value += -(delta & 1) ^ (delta >> 1)
            step, pos = _uvarint(image, pos)
            runs.append((pc, pc + step, value))
            pc += step


def _uvarint(image: bytearray, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = image[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _value_at(steps: list[tuple[int, str]], pc: int) -> str:
    found = ""
    for start, value in steps:
        if start > pc:
            break
        found = value
    return found
