"""An instrumented copy of a module: a 64-bit counter at every function entry and basic block.

The counters live in a memory of their own, added to the module and exported as ``COUNTER_EXPORT``
(multi-memory), so the plugin's memory, functions, tables and globals keep their indices and contents:
the copy behaves as the original. Each counter records which original code-section offsets it stands
for, so DWARF line addresses (code-section relative) map onto counters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .decode import Reader, WasmFormatError, skip_immediates
from .go_instrument import instrument_go_body
from .go_pclntab import has_pclntab

COUNTER_EXPORT = "pytest_proxy_wasm_coverage"
COUNTER_SIZE = 8  # little-endian u64 counters: read back as the lanes of one integer
FORMAT_VERSION = 4  # of the instrumented copies and their counter tables: part of the cache path
_SECTION_ORDER = {1: 1, 2: 2, 3: 3, 4: 4, 5: 5, 13: 6, 6: 7, 7: 8, 8: 9, 9: 10, 12: 11, 10: 12, 11: 13}
_BLOCK_STARTS = {0x02, 0x03, 0x04, 0x06, 0x1F}  # block, loop, if, try, try_table
# After these the next instruction starts a new block (a branch target or a conditional fall-through).
_NEW_BLOCK_AFTER = {0x03, 0x04, 0x05, 0x0B, 0x0D, 0x07, 0x18, 0x19, 0xD5, 0xD6}
_BLOCK_ENDS = {0x00, 0x0C, 0x0E, 0x0F, 0x08, 0x09, 0x0A, 0x12, 0x13, 0x15}  # nothing after runs


@dataclass(frozen=True)
class Counter:
    """One counter: the function it is in and the original code-section offsets it covers."""

    function: int  # function index (imports first, as the name section numbers them)
    start: int
    end: int
    entry: bool  # the function-entry counter


@dataclass
class Instrumented:
    """The instrumented module and what each counter stands for."""

    data: bytes
    counters: list[Counter] = field(default_factory=list)
    code_offset: int = 0  # file offset of the code section's contents in the original module
    custom_sections: dict[str, bytes] = field(default_factory=dict)


def _leb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _sleb(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        done = (value == 0 and not byte & 0x40) or (value == -1 and byte & 0x40)
        out.append(byte if done else byte | 0x80)
        if done:
            return bytes(out)


def _bump(index: int, memory: int) -> bytes:
    """``counters[index] += 1`` (i64) in memory ``memory``, leaving the operand stack as it was."""
    address = _sleb(index * COUNTER_SIZE)
    memarg = b"\x43" + _leb(memory) + b"\x00"  # align 2^3, memory index follows (0x40), offset 0
    return b"\x41" + address + b"\x41" + address + b"\x29" + memarg + b"\x42\x01\x7c\x37" + memarg


def _section(section_id: int, payload: bytes) -> bytes:
    return bytes([section_id]) + _leb(len(payload)) + payload


def instrument(data: bytes, name: str = "<module>") -> Instrumented:
    """Instrument ``data``: entry and block counters when it has DWARF line tables, entry counters
    otherwise; a malformed module or an unknown instruction raises WasmFormatError."""
    if data[:4] != b"\0asm" or len(data) < 8:
        raise WasmFormatError(f"{name}: not a WebAssembly binary")
    reader = Reader(data, 8, name)
    sections: list[tuple[int, int, int]] = []  # id, payload start, payload end
    while not reader.done():
        section_id = reader.byte()
        size = reader.u32()
        start = reader.pos
        if start + size > len(data):
            raise WasmFormatError(f"{name}: section {section_id} runs past the end of the module")
        sections.append((section_id, start, start + size))
        reader.pos = start + size
    imported = {"function": 0, "memory": 0}
    memories = 0
    for section_id, start, end in sections:
        if section_id == 2:
            imported = _count_imports(Reader(data, start, name, end))
        elif section_id == 5:
            memories = Reader(data, start, name, end).u32()
        elif section_id == 7 and COUNTER_EXPORT in _export_names(Reader(data, start, name, end)):
            raise WasmFormatError(f"{name}: already exports {COUNTER_EXPORT!r} (an instrumented copy?)")
    memory_index = imported["memory"] + memories
    # Block counters serve the line mapping (DWARF, a source map); Go's pclntab needs its segments'
    # (go_instrument.py); without line information only function entries count.
    lines = any(
        section_id == 0 and Reader(data, start, name, end).name() in (".debug_line", "sourceMappingURL")
        for section_id, start, end in sections
    )
    blocks = "blocks" if lines else "go" if has_pclntab(data) else ""
    result = Instrumented(b"")
    code_payload = b""
    for section_id, start, end in sections:
        if section_id == 0:
            sub = Reader(data, start, name, end)
            custom = sub.name()
            result.custom_sections[custom] = data[sub.pos : end]
        elif section_id == 10:
            result.code_offset = start
            code_payload = _instrument_code(
                data, start, end, imported["function"], memory_index, name, result, blocks
            )
    pages = max(1, (len(result.counters) * COUNTER_SIZE + 0xFFFF) // 0x10000)
    return _assemble(data, sections, result, code_payload, memory_index, pages)


def _assemble(
    data: bytes,
    sections: list[tuple[int, int, int]],
    result: Instrumented,
    code_payload: bytes,
    memory_index: int,
    pages: int,
) -> Instrumented:
    limits = b"\x01" + _leb(pages) + _leb(pages)
    export = _leb(len(COUNTER_EXPORT)) + COUNTER_EXPORT.encode() + b"\x02" + _leb(memory_index)
    have = {section_id for section_id, _, _ in sections}
    out = bytearray(data[:8])
    added_memory = 5 in have
    added_export = 7 in have
    for section_id, start, end in sections:
        payload = data[start:end]
        order = _SECTION_ORDER.get(section_id, 0)
        if order and not added_memory and order > _SECTION_ORDER[5]:
            out += _section(5, b"\x01" + limits)
            added_memory = True
        if order and not added_export and order > _SECTION_ORDER[7]:
            out += _section(7, b"\x01" + export)
            added_export = True
        if section_id == 0:
            reader = Reader(data, start, "", end)
            custom = reader.name()
            if custom.startswith(".debug_") or custom == "sourceMappingURL":
                continue  # they describe the original's offsets; the copy does not need them
        elif section_id == 5:
            count = Reader(data, start, "", end)
            total = count.u32()
            payload = _leb(total + 1) + data[count.pos : end] + limits
        elif section_id == 7:
            count = Reader(data, start, "", end)
            total = count.u32()
            payload = _leb(total + 1) + data[count.pos : end] + export
        elif section_id == 10:
            payload = code_payload
        out += _section(section_id, payload)
    if not added_memory:
        out += _section(5, b"\x01" + limits)
    if not added_export:
        out += _section(7, b"\x01" + export)
    result.data = bytes(out)
    return result


def _export_names(reader: Reader) -> set[str]:
    names = set()
    for _ in range(reader.u32()):
        names.add(reader.name())
        reader.byte()
        reader.u32()
    return names


def _count_imports(reader: Reader) -> dict[str, int]:
    counts = {"function": 0, "memory": 0}
    for _ in range(reader.u32()):
        reader.name()
        reader.name()
        kind = reader.byte()
        if kind == 0:
            reader.u32()
            counts["function"] += 1
        elif kind == 1:
            reader.byte()
            reader.limits()
        elif kind == 2:
            reader.limits()
            counts["memory"] += 1
        elif kind == 3:
            reader.byte()
            reader.byte()
        elif kind == 4:
            reader.byte()
            reader.u32()
        else:
            raise WasmFormatError(f"{reader.label}: unknown import kind {kind}")
    return counts


def _instrument_code(
    data: bytes,
    start: int,
    end: int,
    first_function: int,
    memory: int,
    name: str,
    result: Instrumented,
    blocks: str,  # "blocks", "go" (segment starts) or "" (entries only)
) -> bytes:
    reader = Reader(data, start, name, end)
    count = reader.u32()
    out = bytearray(_leb(count))
    for number in range(count):
        size = reader.u32()
        body_end = reader.pos + size
        function = first_function + number
        if blocks == "go":
            body = instrument_go_body(reader, body_end, function, memory, start, result)
        elif blocks:
            body = _instrument_body(reader, body_end, function, memory, start, result)
        else:
            body = _instrument_entry(reader, body_end, function, memory, start, result)
        out += _leb(len(body)) + body
        reader.pos = body_end
    return bytes(out)


def _instrument_entry(
    reader: Reader, body_end: int, function: int, memory: int, base: int, result: Instrumented
) -> bytearray:
    """Only a function-entry counter (the module has no line tables to map blocks onto)."""
    data = reader.data
    body_start = reader.pos
    reader.skip_locals()
    result.counters.append(Counter(function, reader.pos - base, body_end - base, True))
    return bytearray(
        data[body_start : reader.pos] + _bump(len(result.counters) - 1, memory) + data[reader.pos : body_end]
    )


def _instrument_body(
    reader: Reader, body_end: int, function: int, memory: int, base: int, result: Instrumented
) -> bytearray:
    data = reader.data
    body_start = reader.pos
    reader.skip_locals()
    out = bytearray(data[body_start : reader.pos])
    counters = result.counters
    open_counter = -1  # the counter whose range is still growing (-1: none, code is unreachable)

    def open_at(offset: int, entry: bool) -> None:
        nonlocal open_counter
        close_at(offset)
        counters.append(Counter(function, offset - base, offset - base, entry))
        out.extend(_bump(len(counters) - 1, memory))
        open_counter = len(counters) - 1

    def close_at(offset: int) -> None:
        nonlocal open_counter
        if open_counter >= 0:
            old = counters[open_counter]
            counters[open_counter] = Counter(old.function, old.start, offset - base, old.entry)
        open_counter = -1

    open_at(reader.pos, True)
    depth = 1
    while reader.pos < body_end:
        at = reader.pos
        opcode = data[at]
        reader.pos += 1
        skip_immediates(reader, opcode)
        out += data[at : reader.pos]
        if opcode in _BLOCK_STARTS:
            depth += 1
        elif opcode in (0x0B, 0x18):  # end, delegate
            depth -= 1
            if depth == 0:
                close_at(reader.pos)
                break
        if opcode in _BLOCK_ENDS:
            close_at(reader.pos)
        elif opcode in _NEW_BLOCK_AFTER:
            open_at(reader.pos, False)
    if reader.pos != body_end:
        raise WasmFormatError(f"{reader.label}: function {function}: body does not end where its size says")
    return out
