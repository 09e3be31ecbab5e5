"""Linking a compiled module into a VM's store, with everything that depends only on the module done once.

A ``LinkPlan`` (per module, cached by the Runtime's ``Links``) holds the import check, the host functions
to create in import order and the exports the host calls, type-checked. A VM then costs one C call per
import and per used export. Plain VMs share one trampoline per hostcall per Runtime: each store's host
functions carry the VM's registry key as ``env``, so a hostcall finds its VM with one dict lookup. Traced,
diverging and checked-path VMs get trampolines of their own.
"""

from __future__ import annotations

import itertools
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import wasmtime
from wasmtime import _ffi as ffi

from ..plugin_coverage.instrument import COUNTER_EXPORT
from . import native
from .abi.enums import AbiVersion, WasiErrno, WasmResult
from .abi.signatures import CALLBACKS, Hostcall, callbacks_for, hostcalls_for
from .trampolines import (
    make_checked_hostcall,
    make_shared_trampoline,
    make_traced_trampoline,
    make_trampoline,
)

if TYPE_CHECKING:
    from .runtime import CompiledModule
    from .vm import VM


def _sig(ft: wasmtime.FuncType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(str(p) for p in ft.params), tuple(str(r) for r in ft.results)


@dataclass(frozen=True)
class LinkPlan:
    """What linking ``compiled`` needs, computed once per module."""

    missing: tuple[str, ...]  # imports the host does not provide (or provides with another type)
    imports: tuple[tuple[Hostcall, wasmtime.FuncType, int], ...]  # per import: spec, type, its address
    funcs: tuple[str, ...]  # every callback the host may call
    memory: str | None  # the first exported memory's name
    export_names: tuple[bytes | None, ...]  # the memory's name, then the funcs', UTF-8
    unknown: tuple[tuple[str, str], ...]  # (export, reason): proxy_on_* exports the ABI never calls
    error: str  # the first known export with the wrong type ("Bad function signature"), or ""
    module: int  # the wasmtime_module_t address
    compiled: wasmtime.Module  # keeps that module alive as long as the plan


def make_plan(compiled: CompiledModule) -> LinkPlan:
    linked = hostcalls_for(compiled.abi)
    missing: list[str] = []
    imports: list[tuple[Hostcall, wasmtime.FuncType, int]] = []
    for module, name, ftype in compiled.imports:
        spec = linked.get((module, name))
        if spec is None or ftype is None:
            missing.append(f"{module}.{name}")
        elif _sig(ftype) != (spec.params, spec.results):
            params, results = _sig(ftype)
            missing.append(
                f"{module}.{name} (imported as {params}->{results}, host has {spec.params}->{spec.results})"
            )
        else:
            imports.append((spec, ftype, native.address(ftype.ptr())))
    known = callbacks_for(compiled.abi)
    funcs: list[str] = []
    unknown: list[tuple[str, str]] = []
    memory: str | None = None
    error = ""
    for export in compiled.module.exports:
        name, etype = export.name, export.type
        if isinstance(etype, wasmtime.MemoryType):
            if name != COUNTER_EXPORT:  # an instrumented copy's counters are not the plugin's memory
                memory = name if memory is None else memory
            continue
        if not isinstance(etype, wasmtime.FuncType):
            continue
        cb = known.get(name)
        if cb is None:
            if name.startswith("proxy_on_"):
                unknown.append((name, _unknown_reason(name, etype, compiled.abi)))
            continue
        if _sig(etype) != (cb.params, cb.results):
            # Envoy's V8 runtime fails the VM on a known export with the wrong type.
            error = (
                f"Bad function signature for: {name} (exported as {_sig(etype)}, ABI {compiled.abi.value} "
                f"expects {(cb.params, cb.results)})"
            )
            break
        funcs.append(name)
    return LinkPlan(
        tuple(missing),
        tuple(imports),
        tuple(funcs),
        memory,
        (None if memory is None else memory.encode(), *(name.encode() for name in funcs)),
        tuple(unknown),
        error,
        native.address(compiled.module.ptr()),
        compiled.module,
    )


def _unknown_reason(name: str, ftype: wasmtime.FuncType, abi: AbiVersion) -> str:
    params, results = _sig(ftype)
    signature = f"{name}({', '.join(params)}) -> ({', '.join(results)})"
    other = [c for c in CALLBACKS if c.name == name]
    reason = (
        f"{signature} is a callback of ABI "
        f"{', '.join(sorted({v.value for c in other for v in c.versions}))}, not of {abi.value}"
        if other
        else f"{signature} is not a callback ABI {abi.value} knows"
    )
    return reason + ": the host never calls it"


class Links:
    """One Runtime's link plans, shared trampolines and registry of live VMs (by ``env`` key)."""

    def __init__(self) -> None:
        # By module object (identity), not sha256: a module compiled by another Runtime's engine gets a
        # plan of its own (and fails to instantiate, as wasmtime refuses cross-engine instances).
        self._plans: dict[int, LinkPlan] = {}
        self.vms: dict[int, weakref.ref[VM]] = {}
        self._keys = itertools.count(1)  # 0 would reach the trampoline as None
        self._callbacks: dict[str, tuple[Any, int]] = {}  # hostcall -> (ctypes callback, its address)
        self._shared: dict[int, tuple[tuple[int, int], ...]] = {}  # keyed as the plans

    def plan(self, compiled: CompiledModule) -> LinkPlan:
        plan = self._plans.get(id(compiled.module))
        if plan is None:  # the plan holds the module, so its id is not reused while cached
            plan = self._plans.setdefault(id(compiled.module), make_plan(compiled))
        return plan

    def register(self, vm: VM) -> int:
        key = next(self._keys)
        vms = self.vms

        def forget(ref: weakref.ref[VM], key: int = key) -> None:
            if vms.get(key) is ref:
                del vms[key]

        vms[key] = weakref.ref(vm, forget)
        return key

    def unregister(self, key: int) -> None:
        self.vms.pop(key, None)

    def shared_funcs(self, plan: LinkPlan) -> tuple[tuple[int, int], ...]:
        """(functype, shared C callback) addresses for each of ``plan``'s imports."""
        funcs = self._shared.get(plan.module)
        if funcs is None:
            funcs = tuple((functype, self.shared_callback(spec)) for spec, _, functype in plan.imports)
            self._shared[plan.module] = funcs
        return funcs

    def shared_callback(self, spec: Hostcall) -> int:
        """The address of the Runtime's one C callback for ``spec`` (made on first use)."""
        made = self._callbacks.get(spec.name)
        if made is None:
            from .hostcalls import IMPLEMENTATIONS, unimplemented

            impl = IMPLEMENTATIONS.get(spec.name) or unimplemented(spec.name)
            trampoline = make_shared_trampoline(self.vms, spec, impl, _ima(spec), _lost)
            callback = native.CALLBACK_TYPE(trampoline)
            # setdefault: a thread that lost a race uses the winner's callback, the one kept alive
            made = self._callbacks.setdefault(spec.name, (callback, native.callback_address(callback)))
        return made[1]


def _ima(spec: Hostcall) -> int:
    return int(WasiErrno.FAULT if spec.is_wasi else WasmResult.INVALID_MEMORY_ACCESS)


def _lost(name: str) -> int:
    return native.new_trap(f"harness fault in {name}: the calling VM is not registered with its Runtime")


def instantiate(
    vm: VM, plan: LinkPlan, links: Links, key: int
) -> tuple[wasmtime.Instance, native.CallResult | None]:
    """Create the VM's host functions and instantiate: the instance, and what failed (``None``: nothing)."""
    imports = native.Externs(len(plan.imports))
    context = vm.context
    instance = wasmtime.Instance._from_raw(ffi.wasmtime_instance_t())
    if vm.checked_calls:  # wasmtime-py's ordinary path, kept only to measure the difference
        funcs = []
        for spec, ftype, _ in plan.imports:
            impl = _impl(vm, spec)
            hostcall = make_checked_hostcall(vm, spec, impl, _ima(spec), vm.tracer)
            funcs.append(wasmtime.Func(vm.store, ftype, hostcall))
        try:
            return wasmtime.Instance(vm.store, vm.compiled.module, funcs), None
        except (wasmtime.WasmtimeError, wasmtime.Trap) as exc:
            return instance, native.CallResult(str(exc), None)
    if vm.tracer is not None or getattr(vm.host.options, "diverge_hostcall", "") != "":
        callbacks = [native.CALLBACK_TYPE(_own_trampoline(vm, spec)) for spec, _, _ in plan.imports]
        vm._keep.extend(callbacks)
        own = [
            (functype, native.callback_address(callback))
            for (_, _, functype), callback in zip(plan.imports, callbacks, strict=True)
        ]
        imports.new_funcs(context, own, key)
    else:
        imports.new_funcs(context, links.shared_funcs(plan), key)
    return instance, imports.instantiate(context, plan.module, len(plan.imports), instance._instance)


def _own_trampoline(vm: VM, spec: Hostcall) -> Any:
    impl = _impl(vm, spec)
    if vm.tracer is not None:
        return make_traced_trampoline(vm, spec, impl, _ima(spec), vm.tracer)
    return make_trampoline(vm, spec, impl, _ima(spec))


def _impl(vm: VM, spec: Hostcall) -> Any:
    from .hostcalls import IMPLEMENTATIONS, unimplemented
    from .vm_trace import diverging

    impl = IMPLEMENTATIONS.get(spec.name) or unimplemented(spec.name)
    if spec.name == getattr(vm.host.options, "diverge_hostcall", ""):
        impl = diverging(impl)
    return impl


def resolve_exports(vm: VM, plan: LinkPlan, instance: wasmtime.Instance) -> native.Externs:
    """Fill ``vm.funcs`` (and ``vm.func_objects`` on the checked path); slot 0 holds the memory."""
    exports = native.Externs(len(plan.funcs) + 1)
    exports.resolve(vm.context, instance._instance, plan.export_names)
    vm.funcs.update(zip(plan.funcs, exports.pointers(1, len(plan.funcs)), strict=True))
    if vm.checked_calls:
        for slot, name in enumerate(plan.funcs, 1):
            vm.func_objects[name] = wasmtime.Func._from_raw(exports.array[slot].of.func)
    return exports
