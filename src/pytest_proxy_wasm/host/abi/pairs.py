"""The header-map pairs codec (abi-spec 4.2)."""

from __future__ import annotations

import struct
from collections.abc import Iterable
from itertools import chain

# proxy-wasm-cpp-host limits.h: the parser returns an empty list past these.
PAIRS_MAX_BYTES = 1 << 20
PAIRS_MAX_COUNT = 1024

_U32 = struct.Struct("<I")


def encode_pairs(pairs: Iterable[tuple[bytes, bytes]]) -> bytes:
    """Serialize pairs: u32 count, (u32 key_len, u32 value_len)*, then ``key\0value\0``*."""
    items = pairs if isinstance(pairs, list) else list(pairs)
    count = len(items)
    if not count:
        return b""
    sizes = _SIZES.get(count) or struct.Struct(f"<{2 * count + 1}I")
    if count <= 64:
        _SIZES[count] = sizes
    flat = list(chain.from_iterable(items))  # C-level: a 3.11 comprehension is a function call
    header = sizes.pack(count, *map(len, flat))
    flat.append(b"")
    return header + b"\0".join(flat)


_SIZES: dict[int, struct.Struct] = {}  # the header layout per pair count (a pure cache)


def decode_pairs(data: bytes) -> list[tuple[bytes, bytes]] | None:
    """Parse pairs the way the reference host does; ``None`` where it would give an empty list.

    Empty input (size 0) and a zero count are an empty map, not an error.
    """
    size = len(data)
    if size == 0:
        return []
    if size < 4:
        return []  # SDKs send 1- or 4-byte empty maps
    if size > PAIRS_MAX_BYTES:
        return None
    (count,) = _U32.unpack_from(data, 0)
    if count == 0:
        return [] if size == 4 else None
    if count > PAIRS_MAX_COUNT:
        return None
    pos = 4 + 8 * count
    if pos > size:
        return None
    result: list[tuple[bytes, bytes]] = []
    for i in range(count):
        key_len, value_len = struct.unpack_from("<II", data, 4 + 8 * i)
        end = pos + key_len + 1 + value_len + 1
        if end > size or data[pos + key_len] != 0 or data[end - 1] != 0:
            return None
        result.append((data[pos : pos + key_len], data[pos + key_len + 1 : end - 1]))
        pos = end
    if pos != size:
        return None
    return result
