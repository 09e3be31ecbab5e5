"""The unchecked wasmtime C-API paths (about 1 us a call, 0.5 us a hostcall), used on every hot path.

wasmtime-py's checked ``Func.__call__`` costs ~18 us and ``define_func`` ~9 us per hostcall; these
wrappers talk to the same library through ``wasmtime._ffi`` with raw ``wasmtime_val_raw`` arrays.
"""

from __future__ import annotations

import ctypes
import sys
from collections.abc import Callable
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

_NO_FINALIZER = ctypes.cast(0, ctypes.CFUNCTYPE(None, ctypes.c_void_p))
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


def func_handle(func: wasmtime.Func) -> int:
    """The address of a ``wasmtime_func_t`` that stays valid while ``func`` lives."""
    return ctypes.addressof(func._func)


def memory_handle(memory: wasmtime.Memory) -> int:
    return ctypes.addressof(memory._memory)


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
        self._counts = [ctypes.c_size_t(n) for n in range(slots + 1)]

    def call(self, func: Any, count: int) -> CallResult | None:
        """Call ``func`` (a ``func_pointer``) with slots ``0..count`` in, results out. ``None`` on success."""
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


def func_pointer(func: wasmtime.Func) -> ctypes.c_void_p:
    """A pre-built C argument pointing at the ``wasmtime_func_t`` (valid while ``func`` lives)."""
    return ctypes.c_void_p(ctypes.addressof(func._func))


def define_unchecked(
    linker: wasmtime.Linker, module: str, name: str, functype: wasmtime.FuncType, callback: Any
) -> None:
    mod = module.encode()
    nm = name.encode()
    error = ffi.wasmtime_linker_define_func_unchecked(
        linker.ptr(),
        mod,
        len(mod),
        nm,
        len(nm),
        functype.ptr(),
        ctypes.cast(callback, ffi.wasmtime_func_unchecked_callback_t),  # the caller keeps ``callback``
        None,
        _NO_FINALIZER,
    )
    if error:
        raise wasmtime.WasmtimeError._from_ptr(error)


def new_trap(message: str) -> int:
    data = message.encode()
    trap = ffi.wasmtime_trap_new(ctypes.create_string_buffer(data), len(data))
    return address(trap)
