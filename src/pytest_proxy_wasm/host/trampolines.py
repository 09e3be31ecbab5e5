"""Hostcall trampolines for the unchecked C-API path, generated once per signature shape.

A trampoline reads raw arguments (unsigned), calls the Python implementation, writes the status back,
and maps ``GuestMemoryError`` to INVALID_MEMORY_ACCESS (FAULT for WASI). Any other exception becomes
a trap that names the hostcall; the VM records it as a harness fault.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from .abi.signatures import Hostcall
from .memory import GuestMemoryError

if TYPE_CHECKING:
    from .vm import VM

_FACTORIES: dict[tuple[tuple[str, ...], bool], Callable[..., Any]] = {}

_TEMPLATE = """
def factory(vm, impl, ima, name, counts, GuestMemoryError, memory):
    def trampoline(env, caller, raw, n):
        counts[name] = counts.get(name, 0) + 1
        try:
            {call}
            return 0
        except GuestMemoryError:
            {on_memory_error}
            return 0
        except BaseException as exc:
            return vm.hostcall_fault(name, exc)
    return trampoline
"""


def _factory(params: tuple[str, ...], has_result: bool) -> Callable[..., Any]:
    key = (params, has_result)
    factory = _FACTORIES.get(key)
    if factory is None:
        args = ", ".join(
            f"raw[{i}].i64 & 0xFFFFFFFFFFFFFFFF" if kind == "i64" else f"raw[{i}].i32 & 0xFFFFFFFF"
            for i, kind in enumerate(params)
        )
        call = f"raw[0].i32 = impl(vm{', ' if args else ''}{args})" if has_result else f"impl(vm, {args})"
        on_memory_error = "raw[0].i32 = ima" if has_result else "pass"
        namespace: dict[str, Any] = {}
        exec(_TEMPLATE.format(call=call, on_memory_error=on_memory_error), namespace)
        factory = namespace["factory"]
        _FACTORIES[key] = factory
    return factory


def make_trampoline(vm: VM, spec: Hostcall, impl: Callable[..., int | None], ima: int) -> Callable[..., int]:
    factory = _factory(spec.params, bool(spec.results))
    trampoline: Callable[..., int] = factory(
        vm, impl, ima, spec.name, vm.hostcall_counts, GuestMemoryError, vm.memory
    )
    return trampoline


def make_checked_hostcall(
    vm: VM, spec: Hostcall, impl: Callable[..., int | None], ima: int
) -> Callable[..., Any]:
    """The same hostcall for wasmtime-py's checked ``Linker.define_func`` path (comparison only)."""
    masks = [0xFFFFFFFFFFFFFFFF if kind == "i64" else 0xFFFFFFFF for kind in spec.params]
    has_result = bool(spec.results)
    counts, name = vm.hostcall_counts, spec.name

    def hostcall(*args: int) -> int | None:
        counts[name] = counts.get(name, 0) + 1
        try:
            result = impl(vm, *[a & m for a, m in zip(args, masks, strict=True)])
        except GuestMemoryError:
            return ima if has_result else None
        return int(result) if has_result and result is not None else None

    return hostcall
