"""Counters for a Go function: its entry and the start of each segment of its dispatch (go_lines.py).

Go's line table (pclntab) only resolves to segments (the code after each ``end`` of the dispatch
blocks), so a counter anywhere else would never be read: a Go module gets an entry counter per
function and one counter per segment (45,000 instead of 104,000 for a 3.4 MB module), which keeps
the per-VM cost of copying and summing counters down.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .decode import Reader, WasmFormatError, skip_immediates

if TYPE_CHECKING:
    from .instrument import Instrumented

_PROLOGUE = {0x02, 0x03, 0x20, 0x21, 0x23}  # block, loop, local.get/set, global.get
_BLOCK_STARTS = {0x02, 0x03, 0x04, 0x06, 0x1F}


def instrument_go_body(
    reader: Reader, body_end: int, function: int, memory: int, base: int, result: Instrumented
) -> bytearray:
    """The body with an entry counter and a counter after each dispatch ``end`` (segment start);
    each counter covers the original offsets up to the next one."""
    from .instrument import Counter, _bump

    data = reader.data
    body_start = reader.pos
    reader.skip_locals()
    counters = result.counters
    first = len(counters)
    counters.append(Counter(function, reader.pos - base, body_end - base, True))
    out = bytearray(data[body_start : reader.pos] + _bump(first, memory))
    depth, level, needed = 1, 0, -1  # needed: segment starts still to come (-1: no dispatch yet)
    prologue = True
    while reader.pos < body_end:
        at = reader.pos
        opcode = data[at]
        reader.pos += 1
        if prologue and opcode == 0x0E:
            labels = [reader.u32() for _ in range(reader.u32() + 1)]
            level, needed, prologue = depth, max(labels) + 1, False
        else:
            if prologue and opcode not in _PROLOGUE:
                prologue = False  # no dispatch: the entry counter is the only one
            skip_immediates(reader, opcode)
        out += data[at : reader.pos]
        if opcode in _BLOCK_STARTS:
            depth += 1
        elif opcode in (0x0B, 0x18):
            if depth == level and needed > 0:
                _close_previous(result, first, reader.pos - base)
                counters.append(Counter(function, reader.pos - base, body_end - base, False))
                out += _bump(len(counters) - 1, memory)
                level, needed = level - 1, needed - 1
            depth -= 1
            if depth == 0:
                break
    if reader.pos != body_end:
        raise WasmFormatError(f"{reader.label}: function {function}: body does not end where its size says")
    return out


def _close_previous(result: Instrumented, first: int, offset: int) -> None:
    """End the previous segment counter of this function (not the entry counter) at ``offset``."""
    from .instrument import Counter

    last = len(result.counters) - 1
    if last > first:
        old = result.counters[last]
        result.counters[last] = Counter(old.function, old.start, offset, old.entry)
