"""Hostcall trampolines for the unchecked C-API path, generated once per signature shape.

A trampoline reads raw arguments (unsigned), calls the Python implementation, writes the status back,
and maps ``GuestMemoryError`` to INVALID_MEMORY_ACCESS (FAULT for WASI). Any other exception becomes
a trap that names the hostcall; the VM records it as a harness fault. A BAD_ARGUMENT or
INVALID_MEMORY_ACCESS status (or a memory fault) is reported to ``vm.misuse``: one identity test on
the successful path. With tracing on, ``make_traced_trampoline`` wraps the same trampoline.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from .abi.enums import WasmResult
from .abi.signatures import Hostcall
from .memory import GuestMemoryError
from .native import ADDRESS_SPACE, VAL_RAW_SIZE

if TYPE_CHECKING:
    from .trace import Tracer
    from .vm import VM

M32 = 0xFFFFFFFF
M64 = 0xFFFFFFFFFFFFFFFF

_FACTORIES: dict[tuple[tuple[str, ...], bool, bool, bool], Callable[..., Any]] = {}

# One VM's trampoline closes over the VM; a shared one (one per hostcall and Runtime, see linking.py)
# finds the VM from the ``env`` key its store registered the host function with.
_OWN = """
def factory(vm, impl, ima, name, GuestMemoryError, OK, ARGS, RESULT, SPACE):
    counts = vm.hostcall_counts
    unpack = ARGS.unpack_from
    pack = RESULT.pack_into
    def trampoline(env, caller, raw, n):
"""
_SHARED = """
def factory(vms, impl, ima, name, GuestMemoryError, OK, ARGS, RESULT, SPACE, lost):
    unpack = ARGS.unpack_from
    pack = RESULT.pack_into
    def trampoline(env, caller, raw, n):
        try:
            vm = vms[env]()
            counts = vm.hostcall_counts
        except BaseException:
            return lost(name)
"""
_BODY = """        counts[name] = counts.get(name, 0) + 1
        try:
            {unpack}
            {call}
            return 0
        except GuestMemoryError:
            vm.misuse(name, ({args},), ima)
            {on_memory_error}
            return 0
        except BaseException as exc:
            return vm.hostcall_fault(name, exc)
    return trampoline
"""

# BAD_ARGUMENT (2) and INVALID_MEMORY_ACCESS (6): WasmResult values; WASI errnos differ, so WASI
# hostcalls report only memory faults. ``is not OK`` first: an identity test is the whole cost on the
# usual path (the implementations return the WasmResult.OK member); comparing an IntEnum is not free.
_CHECKED_CALL = """status = impl(vm{sep}{args})
            if status is not OK and (status == 2 or status == 6):
                vm.misuse(name, ({args},), status)
            pack(SPACE, raw, status)"""

_RESULT = struct.Struct("<I")  # an i32 result in slot 0


def argument_layout(params: tuple[str, ...]) -> struct.Struct:
    """The raw argument slots as one struct: slot ``i`` at ``16 * i``, unsigned (i32 or i64)."""
    slots = (f"I{VAL_RAW_SIZE - 4}x" if kind == "i32" else f"Q{VAL_RAW_SIZE - 8}x" for kind in params)
    return struct.Struct("<" + "".join(slots))


def _factory(params: tuple[str, ...], has_result: bool, is_wasi: bool, shared: bool) -> Callable[..., Any]:
    key = (params, has_result, is_wasi, shared)
    factory = _FACTORIES.get(key)
    if factory is None:
        args = ", ".join(f"a{i}" for i in range(len(params)))
        unpack = f"{args}, = unpack(SPACE, raw)" if params else "pass"
        sep = ", " if args else ""
        if not has_result:
            call = f"impl(vm{sep}{args})"
        elif is_wasi:
            call = f"pack(SPACE, raw, impl(vm{sep}{args}))"
        else:
            call = _CHECKED_CALL.format(sep=sep, args=args)
        on_memory_error = "pack(SPACE, raw, ima)" if has_result else "pass"
        namespace: dict[str, Any] = {}
        body = _BODY.format(unpack=unpack, call=call, on_memory_error=on_memory_error, args=args)
        exec(((_SHARED if shared else _OWN) + body).replace("(,)", "()"), namespace)
        factory = namespace["factory"]
        _FACTORIES[key] = factory
    return factory


def _bind(
    first: object, spec: Hostcall, impl: Callable[..., int | None], ima: int, shared: bool, *extra: object
) -> Callable[..., int]:
    factory = _factory(spec.params, bool(spec.results), spec.is_wasi, shared)
    layout = argument_layout(spec.params)
    trampoline: Callable[..., int] = factory(
        first, impl, ima, spec.name, GuestMemoryError, WasmResult.OK, layout, _RESULT, ADDRESS_SPACE, *extra
    )
    return trampoline


def make_trampoline(vm: VM, spec: Hostcall, impl: Callable[..., int | None], ima: int) -> Callable[..., int]:
    return _bind(vm, spec, impl, ima, False)


def make_shared_trampoline(
    vms: Mapping[int, Callable[[], VM | None]],
    spec: Hostcall,
    impl: Callable[..., int | None],
    ima: int,
    lost: Callable[[str], int],
) -> Callable[..., int]:
    """One trampoline for every VM of a Runtime: ``vms[env]()`` is the VM whose store called it;
    ``lost(name)`` makes the trap for a VM that is no longer registered (never expected)."""
    return _bind(vms, spec, impl, ima, True, lost)


def make_traced_trampoline(
    vm: VM, spec: Hostcall, impl: Callable[..., int | None], ima: int, tracer: Tracer
) -> Callable[..., int]:
    """The plain trampoline wrapped in a record: arguments (and passed regions) before, status and
    returned values after. Installed only on a VM whose host traces."""
    inner = make_trampoline(vm, spec, impl, ima)
    layout = argument_layout(spec.params)
    has_result = bool(spec.results)

    def trampoline(env: Any, caller: Any, raw: int, n: int) -> int:
        args = layout.unpack_from(ADDRESS_SPACE, raw) if spec.params else ()
        record = tracer.enter_hostcall(vm, spec, args)
        trap = inner(env, caller, raw, n)
        status = _RESULT.unpack_from(ADDRESS_SPACE, raw)[0] if has_result and not trap else None
        tracer.exit_hostcall(vm, spec, record, status, bool(trap))
        return trap

    return trampoline


def make_checked_hostcall(
    vm: VM, spec: Hostcall, impl: Callable[..., int | None], ima: int, tracer: Tracer | None = None
) -> Callable[..., Any]:
    """The same hostcall for wasmtime-py's checked ``Func`` path (comparison only)."""
    masks = [0xFFFFFFFFFFFFFFFF if kind == "i64" else 0xFFFFFFFF for kind in spec.params]
    has_result = bool(spec.results)
    counts, name = vm.hostcall_counts, spec.name

    def hostcall(*args: int) -> int | None:
        counts[name] = counts.get(name, 0) + 1
        raw = tuple(a & m for a, m in zip(args, masks, strict=True))
        try:
            result = impl(vm, *raw)
        except GuestMemoryError:
            vm.misuse(name, raw, ima)
            return ima if has_result else None
        if has_result and not spec.is_wasi and result in (2, 6):
            vm.misuse(name, raw, int(result))
        return int(result) if has_result and result is not None else None

    if tracer is None:
        return hostcall

    def traced(*args: int) -> int | None:
        raw = tuple(a & m for a, m in zip(args, masks, strict=True))
        record = tracer.enter_hostcall(vm, spec, raw)
        try:
            result = hostcall(*args)
        except BaseException:
            tracer.exit_hostcall(vm, spec, record, None, True)
            raise
        tracer.exit_hostcall(vm, spec, record, result & M32 if result is not None else None, False)
        return result

    return traced
