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
_string_at = ctypes.string_at
_memmove = ctypes.memmove


class GuestMemoryError(Exception):
    """A pointer/size pair outside linear memory, or an allocator that failed."""


class GuestMemory:
    """The plugin's exported memory. ``allocate`` calls the plugin's allocator (may grow memory)."""

    __slots__ = ("_allocate", "_base_ptr", "_size", "context", "handle")

    def __init__(self, context: int, handle: int, allocate: Callable[[int], int]) -> None:
        self.context = context
        self.handle = handle
        self._allocate = allocate
        # Linear memory never shrinks and (memory_may_move off) never moves, so a cached size is a safe
        # lower bound: only an access beyond it asks wasmtime again.
        self._size = -1
        self._base_ptr = 0

    @property
    def size(self) -> int:
        self._refresh()
        return self._size

    def _refresh(self) -> None:
        self._size = native.memory_size(self.context, self.handle)
        self._base_ptr = native.memory_data(self.context, self.handle)

    def _base(self, ptr: int, size: int) -> int:
        if ptr + size > self._size:
            self._refresh()
            if ptr + size > self._size:
                raise GuestMemoryError(f"range [{ptr:#x}, +{size}) outside linear memory")
        return self._base_ptr

    def contains(self, ptr: int, size: int) -> bool:
        if ptr + size <= self._size:
            return True
        self._refresh()
        return ptr + size <= self._size

    def allocate(self, size: int) -> int:
        return self._allocate(size)

    def read(self, ptr: int, size: int) -> bytes:
        if size == 0:
            if ptr > self.size:
                raise GuestMemoryError(f"pointer {ptr:#x} outside linear memory")
            return b""
        return _string_at(self._base(ptr, size) + ptr, size)

    def write(self, ptr: int, data: bytes) -> None:
        size = len(data)
        base = self._base(ptr, size)
        if size:
            _memmove(base + ptr, data, size)

    def read_u32(self, ptr: int) -> int:
        value: int = _U32.unpack(self.read(ptr, 4))[0]
        return value

    def write_u32(self, ptr: int, value: int) -> None:
        if ptr + 4 > self._size:
            self._base(ptr, 4)
        _memmove(self._base_ptr + ptr, _U32.pack(value & 0xFFFFFFFF), 4)

    def write_u64(self, ptr: int, value: int) -> None:
        self.write(ptr, _U64.pack(value & 0xFFFFFFFFFFFFFFFF))

    def write_pair(self, ptr_out: int, size_out: int, ptr: int, size: int) -> None:
        if size_out == ptr_out + 4:  # the usual layout: one write
            if ptr_out + 8 > self._size:
                self._base(ptr_out, 8)
            _memmove(self._base_ptr + ptr_out, _PAIR.pack(ptr, size), 8)
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
