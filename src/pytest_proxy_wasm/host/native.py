"""The unchecked wasmtime C-API paths (about 1 us a call, 0.5 us a hostcall), used on every hot path.

wasmtime-py's checked ``Func.__call__`` costs ~18 us and ``define_func`` ~9 us per hostcall; these
wrappers talk to the same library through ``wasmtime._ffi`` with raw ``wasmtime_val_raw`` arrays.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable, Iterable
from typing import Any

import wasmtime
from wasmtime import _ffi as ffi

RawArray = Any  # ctypes array of ffi.wasmtime_val_raw
UncheckedCallback = Callable[[Any, Any, Any, int], int]

_dll = ffi.dll
_call_unchecked = _dll.wasmtime_func_call_unchecked
_call_unchecked.restype = ctypes.c_void_p
_call_unchecked.argtypes = [
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_void_p,
]

_memory_data = _dll.wasmtime_memory_data
_memory_data.restype = ctypes.c_void_p
_memory_data.argtypes = [ctypes.c_void_p, ctypes.c_void_p]
_memory_data_size = _dll.wasmtime_memory_data_size
_memory_data_size.restype = ctypes.c_size_t
_memory_data_size.argtypes = [ctypes.c_void_p, ctypes.c_void_p]

_set_epoch_deadline = _dll.wasmtime_context_set_epoch_deadline
_set_epoch_deadline.restype = None
_set_epoch_deadline.argtypes = [ctypes.c_void_p, ctypes.c_uint64]

# The unchecked host-function callback with every argument as a plain integer: ctypes then builds no
# pointer objects per hostcall (wasmtime-py's own type makes two). It returns a wasm_trap_t* or 0.
CALLBACK_TYPE = ctypes.CFUNCTYPE(
    ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t
)
VAL_RAW_SIZE = ctypes.sizeof(ffi.wasmtime_val_raw)  # one argument/result slot (a 16-byte union)


def _address_space() -> memoryview:
    """A byte view of the whole address space, for ``struct.unpack_from``/``pack_into`` at the
    address of wasmtime's raw argument array: no ctypes object per access. Nothing reads it except at
    the addresses wasmtime hands a hostcall."""
    return memoryview((ctypes.c_char * sys.maxsize).from_address(0)).cast("B")


ADDRESS_SPACE = _address_space()


def address(pointer: Any) -> int:
    return int(ctypes.cast(pointer, ctypes.c_void_p).value or 0)


def new_raw_array(size: int) -> RawArray:
    return (ffi.wasmtime_val_raw * size)()


def memory_data(context: int, memory: int) -> int:
    return int(_memory_data(context, memory))


def memory_size(context: int, memory: int) -> int:
    return int(_memory_data_size(context, memory))


def set_epoch_deadline(context: int, ticks: int) -> None:
    _set_epoch_deadline(context, ticks)


class CallResult:
    """What happened in one unchecked call: nothing (ok), a trap, or a wasmtime error."""

    __slots__ = ("code", "message")

    def __init__(self, message: str, code: wasmtime.TrapCode | None) -> None:
        self.message = message
        self.code = code


# The same C function without ctypes argument conversion: every argument is passed pre-built.
_call_raw = ctypes.CFUNCTYPE(ctypes.c_void_p)(address(_call_unchecked))
_call_raw.restype = ctypes.c_void_p


# Pre-built slot counts, shared by every Caller (never written: ctypes passes them by value).
_COUNTS = tuple(ctypes.c_size_t(n) for n in range(17))


class Caller:
    """Reusable argument array, pre-converted C arguments and trap slot for calls into one store.

    ``u32`` views the ``wasmtime_val_raw`` slots as 32-bit words: slot ``i`` is ``u32[4 * i]``.
    """

    __slots__ = (
        "_context",
        "_counts",
        "_raw_pointer",
        "address",
        "context",
        "raw",
        "trap_ref",
        "trap_slot",
        "u32",
    )

    def __init__(self, context: int, slots: int = 16) -> None:
        self.context = context
        self.raw = new_raw_array(slots)
        self.address = ctypes.addressof(self.raw)  # for struct access through ADDRESS_SPACE
        self.u32 = (ctypes.c_uint32 * (4 * slots)).from_address(ctypes.addressof(self.raw))
        self.trap_slot = ctypes.c_void_p()
        self.trap_ref = ctypes.byref(self.trap_slot)
        self._context = ctypes.c_void_p(context)
        self._raw_pointer = ctypes.c_void_p(ctypes.addressof(self.raw))
        self._counts = _COUNTS if slots < len(_COUNTS) else [ctypes.c_size_t(n) for n in range(slots + 1)]

    def call(self, func: Any, count: int) -> CallResult | None:
        """Call ``func`` (a ``c_void_p`` to a ``wasmtime_func_t``) with slots ``0..count`` in, results
        out. ``None`` on success."""
        error = _call_raw(self._context, func, self._raw_pointer, self._counts[count], self.trap_ref)
        if error:
            err = wasmtime.WasmtimeError._from_ptr(ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t)))
            return CallResult(str(err), None)
        if self.trap_slot.value:
            pointer = ctypes.cast(self.trap_slot.value, ctypes.POINTER(ffi.wasm_trap_t))
            self.trap_slot.value = None
            trap = wasmtime.Trap._from_ptr(pointer)
            return CallResult(trap.message, trap.trap_code)
        return None


# Linking without wasmtime-py's Linker: raw entry points taking addresses, so a VM's imports and
# exports cost one C call each (wasmtime-py's objects cost ~10 us apiece in type wrappers).
_func_new = ctypes.CFUNCTYPE(None, *(ctypes.c_void_p,) * 6)(address(_dll.wasmtime_func_new_unchecked))
_instance_new = ctypes.CFUNCTYPE(
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_void_p,
    ctypes.c_void_p,
)(address(_dll.wasmtime_instance_new))
# By name, not wasmtime_instance_export_nth: that walks the exports up to the index on every call.
_export_get = ctypes.CFUNCTYPE(
    ctypes.c_bool, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p
)(address(_dll.wasmtime_instance_export_get))
assert ffi.WASMTIME_EXTERN_FUNC.value == 0  # a zeroed wasmtime_extern_t is a function
_EXTERN_OF: int = ffi.wasmtime_extern_t.of.offset  # the func/memory handle inside a wasmtime_extern_t
_EXTERN_SIZE = ctypes.sizeof(ffi.wasmtime_extern_t)


class Externs:
    """A C array of ``wasmtime_extern_t``: a VM's imports or its resolved exports. Handles into it stay
    valid while the array lives."""

    __slots__ = ("array", "base")

    def __init__(self, count: int) -> None:
        self.array = (ffi.wasmtime_extern_t * max(count, 1))()  # zeroed: every kind is EXTERN_FUNC
        self.base: int = ctypes.addressof(self.array)

    def handle(self, slot: int) -> int:
        """The address of slot ``slot``'s ``wasmtime_func_t`` / ``wasmtime_memory_t``."""
        return self.base + slot * _EXTERN_SIZE + _EXTERN_OF

    def pointers(self, first: int, count: int) -> list[ctypes.c_void_p]:
        """Pre-built C arguments (for ``Caller.call``) to the handles in slots ``first..first+count``."""
        start = self.handle(first)
        return [ctypes.c_void_p(h) for h in range(start, start + count * _EXTERN_SIZE, _EXTERN_SIZE)]

    def new_funcs(self, context: int, funcs: Iterable[tuple[int, int]], env: int) -> None:
        """Slots 0.. become host functions in the store, from (functype, C callback) addresses; each
        callback receives ``env``."""
        handle = self.base + _EXTERN_OF
        for functype, callback in funcs:
            _func_new(context, functype, callback, env, None, handle)
            handle += _EXTERN_SIZE

    def instantiate(self, context: int, module: int, count: int, instance: Any) -> CallResult | None:
        """``wasmtime_instance_new`` with these imports; ``None`` on success, else the error or trap."""
        trap = ctypes.c_void_p()
        error = _instance_new(
            context, module, self.base, count, ctypes.addressof(instance), ctypes.addressof(trap)
        )
        if error:
            err = wasmtime.WasmtimeError._from_ptr(ctypes.cast(error, ctypes.POINTER(ffi.wasmtime_error_t)))
            return CallResult(str(err), None)
        if trap.value:
            made = wasmtime.Trap._from_ptr(ctypes.cast(trap.value, ctypes.POINTER(ffi.wasm_trap_t)))
            return CallResult(str(made), made.trap_code)
        return None

    def resolve(self, context: int, instance: Any, names: Iterable[bytes | None]) -> None:
        """Slots 0.. become the instance's exports named ``names`` (``None``: left empty)."""
        instance_address = ctypes.addressof(instance)
        out = self.base
        for name in names:
            if name is not None:
                _export_get(context, instance_address, name, len(name), out)
            out += _EXTERN_SIZE


def callback_address(callback: Any) -> int:
    return address(callback)


def new_trap(message: str) -> int:
    data = message.encode()
    trap = ffi.wasmtime_trap_new(ctypes.create_string_buffer(data), len(data))
    return address(trap)
