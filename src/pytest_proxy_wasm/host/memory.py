"""Guest linear memory access without needless copies. Range errors raise ``GuestMemoryError``,
which the hostcall trampolines turn into INVALID_MEMORY_ACCESS (or WASI FAULT)."""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Callable

from . import native

_U32 = struct.Struct("<I")
_U64 = struct.Struct("<Q")
_PAIR = struct.Struct("<II")


class GuestMemoryError(Exception):
    """A pointer/size pair outside linear memory, or an allocator that failed."""


class GuestMemory:
    """The plugin's exported memory. ``allocate`` calls the plugin's allocator (may grow memory).

    Reads and writes go through ``view``, a ``memoryview`` of ``known_size`` bytes: slicing it costs far
    less than a ctypes call per access. Linear memory never shrinks and (memory_may_move off) never
    moves, so the view stays valid; only an access beyond it asks wasmtime for the size again and widens
    the view. A hot hostcall may slice ``view`` itself when ``ptr + size <= known_size``.
    """

    __slots__ = ("_allocate", "_base_ptr", "context", "handle", "known_size", "view")

    def __init__(self, context: int, handle: int, allocate: Callable[[int], int]) -> None:
        self.context = context
        self.handle = handle
        self._allocate = allocate
        self.known_size = -1
        self._base_ptr = 0
        self.view = memoryview(b"")

    @property
    def size(self) -> int:
        self._refresh()
        return self.known_size

    def _refresh(self) -> None:
        size = native.memory_size(self.context, self.handle)
        if size != self.known_size:
            self._base_ptr = native.memory_data(self.context, self.handle)
            self.known_size = size
            self.view = memoryview((ctypes.c_char * size).from_address(self._base_ptr)).cast("B")

    def _check(self, ptr: int, size: int) -> None:
        if ptr + size > self.known_size:
            self._refresh()
            if ptr + size > self.known_size:
                raise GuestMemoryError(f"range [{ptr:#x}, +{size}) outside linear memory")

    def contains(self, ptr: int, size: int) -> bool:
        if ptr + size <= self.known_size:
            return True
        self._refresh()
        return ptr + size <= self.known_size

    def allocate(self, size: int) -> int:
        return self._allocate(size)

    def read(self, ptr: int, size: int) -> bytes:
        end = ptr + size
        if end > self.known_size:
            self._check(ptr, size)
        return self.view[ptr:end].tobytes()

    def write(self, ptr: int, data: bytes) -> None:
        end = ptr + len(data)
        if end > self.known_size:
            self._check(ptr, len(data))
        self.view[ptr:end] = data

    def read_u32(self, ptr: int) -> int:
        if ptr + 4 > self.known_size:
            self._check(ptr, 4)
        value: int = _U32.unpack_from(self.view, ptr)[0]
        return value

    def write_u32(self, ptr: int, value: int) -> None:
        if ptr + 4 > self.known_size:
            self._check(ptr, 4)
        _U32.pack_into(self.view, ptr, value & 0xFFFFFFFF)

    def write_u64(self, ptr: int, value: int) -> None:
        if ptr + 8 > self.known_size:
            self._check(ptr, 8)
        _U64.pack_into(self.view, ptr, value & 0xFFFFFFFFFFFFFFFF)

    def write_pair(self, ptr_out: int, size_out: int, ptr: int, size: int) -> None:
        if size_out == ptr_out + 4:  # the usual layout: one write
            if ptr_out + 8 > self.known_size:
                self._check(ptr_out, 8)
            _PAIR.pack_into(self.view, ptr_out, ptr, size)
            return
        self.write_u32(ptr_out, ptr)
        self.write_u32(size_out, size)

    def return_bytes(self, data: bytes, ret_ptr: int, ret_size: int) -> None:
        """Copy ``data`` into plugin-owned memory, write (ptr, size); empty data is (0, 0), no allocation."""
        if not data:
            self.write_pair(ret_ptr, ret_size, 0, 0)
            return
        size = len(data)
        ptr = self.allocate(size)
        if ptr == 0:
            raise GuestMemoryError(f"allocator returned 0 for {size} bytes")
        self.write(ptr, data)
        self.write_pair(ret_ptr, ret_size, ptr, size)
