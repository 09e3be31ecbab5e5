"""Just enough of the WebAssembly binary format to walk a code section instruction by instruction."""

from __future__ import annotations


class WasmFormatError(ValueError):
    """The module cannot be instrumented: malformed, or an instruction this walker does not know."""


class Reader:
    """A cursor over ``data[pos:end]``; errors name the module (``label``)."""

    def __init__(self, data: bytes, pos: int, label: str, end: int | None = None) -> None:
        self.data = data
        self.pos = pos
        self.label = label
        self.end = len(data) if end is None else end

    def done(self) -> bool:
        return self.pos >= self.end

    def byte(self) -> int:
        if self.pos >= self.end:
            raise WasmFormatError(f"{self.label}: unexpected end at offset {self.pos}")
        value = self.data[self.pos]
        self.pos += 1
        return value

    def u32(self) -> int:
        result = shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result
            if shift > 63:
                raise WasmFormatError(f"{self.label}: LEB128 too long at offset {self.pos}")

    def sleb(self) -> int:
        result = shift = 0
        while True:
            byte = self.byte()
            result |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return result - (1 << shift) if byte & 0x40 else result
            if shift > 70:
                raise WasmFormatError(f"{self.label}: LEB128 too long at offset {self.pos}")

    def name(self) -> str:
        size = self.u32()
        raw = self.data[self.pos : self.pos + size]
        self.pos += size
        return raw.decode("utf-8", "replace")

    def limits(self) -> None:
        flags = self.byte()
        self.u32()
        if flags & 1:
            self.u32()

    def valtype(self) -> None:
        if self.byte() in (0x63, 0x64):  # (ref null? heaptype)
            self.sleb()

    def skip(self, count: int) -> None:
        self.pos += count

    def skip_locals(self) -> None:
        """Past a function body's local declarations (count, then count x (n, valtype))."""
        for _ in range(self.u32()):
            self.u32()
            self.valtype()


def _memarg(reader: Reader) -> None:
    if reader.u32() & 0x40:
        reader.u32()  # memory index (multi-memory)
    reader.u32()


_NONE = frozenset(
    [0x00, 0x01, 0x05, 0x0A, 0x0B, 0x0F, 0x19, 0x1A, 0x1B, 0xD1, 0xD3, 0xD4, *range(0x45, 0xC5)]
)
_INDEX = frozenset([0x07, 0x08, 0x09, 0x0C, 0x0D, 0x10, 0x12, 0x14, 0x15, 0x18, 0xD2, 0xD5, 0xD6])
_VARS = frozenset(range(0x20, 0x27))
_MEMORY = frozenset(range(0x28, 0x3F))
_SIMD_MEMARG = frozenset([*range(12), 92, 93])
_SIMD_LANE = frozenset(range(21, 35))
_SIMD_MEMARG_LANE = frozenset(range(84, 92))


def skip_immediates(reader: Reader, opcode: int) -> None:
    """Move past the immediates of ``opcode`` (already read)."""
    if opcode in _NONE:
        return
    if opcode in _INDEX or opcode in _VARS:
        reader.u32()
    elif opcode in _MEMORY:
        _memarg(reader)
    elif opcode in (0x02, 0x03, 0x04, 0x06):
        _blocktype(reader)
    elif opcode in (0x41, 0x42):
        reader.sleb()
    elif opcode == 0x43:
        reader.skip(4)
    elif opcode == 0x44:
        reader.skip(8)
    elif opcode == 0x0E:
        for _ in range(reader.u32() + 1):
            reader.u32()
    elif opcode in (0x11, 0x13):
        reader.u32()
        reader.u32()
    elif opcode in (0x3F, 0x40):
        reader.u32()
    elif opcode == 0x1C:
        for _ in range(reader.u32()):
            reader.valtype()
    elif opcode == 0xD0:
        reader.sleb()
    elif opcode == 0x1F:
        _try_table(reader)
    elif opcode == 0xFC:
        _misc(reader)
    elif opcode == 0xFD:
        _simd(reader)
    elif opcode == 0xFE:
        if reader.u32() == 3:
            reader.byte()  # atomic.fence
        else:
            _memarg(reader)
    else:
        raise WasmFormatError(
            f"{reader.label}: unsupported instruction 0x{opcode:02x} at offset {reader.pos - 1}"
        )


def _blocktype(reader: Reader) -> None:
    first = reader.data[reader.pos] if reader.pos < reader.end else 0
    if first in (0x63, 0x64):
        reader.valtype()
    else:
        reader.sleb()  # 0x40, a value type (negative), or a type index


def _try_table(reader: Reader) -> None:
    _blocktype(reader)
    for _ in range(reader.u32()):
        if reader.byte() in (0, 1):
            reader.u32()
        reader.u32()


def _misc(reader: Reader) -> None:
    sub = reader.u32()
    if sub <= 7:
        return
    if sub in (8, 10, 12, 14):
        reader.u32()
        reader.u32()
    elif sub in (9, 11, 13, 15, 16, 17):
        reader.u32()
    else:
        raise WasmFormatError(f"{reader.label}: unsupported instruction 0xfc {sub} at offset {reader.pos}")


def _simd(reader: Reader) -> None:
    sub = reader.u32()
    if sub in _SIMD_MEMARG:
        _memarg(reader)
    elif sub in (12, 13):
        reader.skip(16)
    elif sub in _SIMD_LANE:
        reader.byte()
    elif sub in _SIMD_MEMARG_LANE:
        _memarg(reader)
        reader.byte()
