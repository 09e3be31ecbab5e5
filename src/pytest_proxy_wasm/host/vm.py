"""One plugin VM: a store, an instance, its callbacks, its contexts and its failure state."""

from __future__ import annotations

import struct
from collections.abc import Callable
from types import MethodType
from typing import TYPE_CHECKING, Any

import wasmtime

from ..errors import HarnessFault, MissingImportsError, ModuleLoadError
from . import diagnostics, linking, native
from .abi.enums import AbiVersion, LogLevel
from .abi.signatures import callbacks_for
from .envoy_versions import EnvoyVersionImportError, unlinked_imports
from .failures import ProcExit, VmFailure, size_text, summarize_trap
from .memory import GuestMemory, GuestMemoryError
from .native import ADDRESS_SPACE
from .proxy_crash import ProxyCrash
from .runtime import CompiledModule, Runtime
from .sdk_exports import known_sdk_export
from .vm_trace import traced_allocate, traced_call

if TYPE_CHECKING:
    from .contexts import Buffer, Context
    from .headers import HeaderMap
    from .host import Host
    from .trace import Tracer

M32 = 0xFFFFFFFF
FUEL_UNLIMITED = 1 << 62


class VM:
    """A plugin instance. Owns its store; every hostcall it serves acts on the ``Host`` that made it."""

    def __init__(
        self,
        runtime: Runtime,
        compiled: CompiledModule,
        host: Host,
        *,
        vm_id: str = "",
        vm_config: bytes = b"",
        env: dict[str, str] | None = None,
        memory_limit: int = 1 << 30,
        deadline_seconds: float = 5.0,
        checked_calls: bool = False,
        fuel_limit: int = 0,
    ) -> None:
        self.runtime = runtime
        self.compiled = compiled
        self.name = compiled.name
        self.abi: AbiVersion = compiled.abi
        self.host = host
        self.vm_id = vm_id
        self.vm_config = vm_config
        self.env = dict(env or {})
        self.failure: VmFailure | None = None
        self.checked_calls = checked_calls  # wasmtime-py's ordinary call path, for comparison only
        self.contexts: dict[int, Context] = {}
        self.next_context_id = 1
        self.current: Context | None = None
        self.effective: Context | None = None
        self.depth = 0
        self.deferred: list[Callable[[], None]] = []
        self.pending_fault: BaseException | None = None
        self.exit_code: int | None = None
        self.deadline_seconds = deadline_seconds
        self.deadline_ticks = max(1, int(deadline_seconds / 0.01))
        self.memory_limit = memory_limit
        self.fuel_limit = fuel_limit
        self.fuel_used: dict[str, int] = {}  # per callback, when the runtime consumes fuel
        self.calls: dict[str, int] = {}
        self.allocations = 0  # calls of the allocator (not in ``calls``: kept off the hot path's dict)
        self.hostcall_counts: dict[str, int] = {}
        self.unimplemented_used: list[str] = []
        self.callback = ""  # the callback running now, named in misuse diagnostics
        self.tracer: Tracer | None = getattr(host, "tracer", None)
        if self.tracer is not None:  # the traced call path shadows the plain one on this VM only
            self.call = MethodType(traced_call, self)  # type: ignore[method-assign]
        self.http_tokens = 0  # callout tokens: HTTP 4, 8, 12... (cpp-host: low 2 bits are the kind)
        self.callout_maps: dict[int, HeaderMap] = {}
        self.callout_buffers: dict[int, Buffer] = {}
        plan = runtime.link_plan(compiled)
        if plan.missing:
            raise MissingImportsError(self.name, list(plan.missing))
        version = getattr(getattr(host, "options", None), "envoy_version", "1.40")
        unlinked = unlinked_imports(((m, n) for m, n, _ in compiled.imports), version)
        if unlinked:
            raise EnvoyVersionImportError(self.name, unlinked, version)
        self.store = wasmtime.Store(runtime.engine)
        self.store.set_limits(memory_size=memory_limit)
        self.context = native.address(self.store._context())
        self._caller = native.Caller(self.context)
        self._alloc_caller = native.Caller(self.context, 2)
        self._keep: list[Any] = []
        self.memory = GuestMemory(
            self.context, 0, self._allocate if self.tracer is None else MethodType(traced_allocate, self)
        )
        self._links = runtime.links
        self._link_key = self._links.register(self)
        native.set_epoch_deadline(self.context, self.deadline_ticks)
        self._armed_epoch = -1
        self.instance, problem = linking.instantiate(self, plan, self._links, self._link_key)
        if problem is not None:
            raise ModuleLoadError(self.name, f"instantiation failed: {_first_line(problem.message)}")
        self.funcs: dict[str, Any] = {}  # name -> pre-built C pointer to the wasmtime_func_t
        self.func_objects: dict[str, wasmtime.Func] = {}  # the checked path's wasmtime-py objects
        # The exports array outlives close(): the memory handle points into it.
        self._exports = linking.resolve_exports(self, plan, self.instance)
        for name, reason in plan.unknown:
            if known_sdk_export(name) is None:  # an SDK's own export is named by the classification
                diagnostics.record_export(host, self.name, name, reason)
        if plan.error:
            raise ModuleLoadError(self.name, plan.error)
        if plan.memory is None:
            raise ModuleLoadError(self.name, "the module exports no memory")
        self._memory_handle = self._exports.handle(0)
        self.allocator = self.funcs.get("malloc") or self.funcs.get("proxy_on_memory_allocate")
        if not self.allocator:
            raise ModuleLoadError(
                self.name,
                "Wasm module is missing malloc function "
                "(exports neither malloc nor proxy_on_memory_allocate)",
            )
        self.memory.handle = self._memory_handle
        if runtime.coverage is not None:
            runtime.coverage.attach(self)  # plugin_coverage: counters read back when the VM closes
        self._start()

    # -- loading ---------------------------------------------------------------------------------

    def _start(self) -> None:
        if "_initialize" in self.funcs:
            self.call_start("_initialize")
            if "main" in self.funcs:
                self.call_start("main", 0, 0)
            elif "__main_void" in self.funcs:
                self.call_start("__main_void")
        elif "_start" in self.funcs:
            self.call_start("_start")

    def call_start(self, name: str, *args: int) -> None:
        self.call(None, name, *args)
        if self.failure is not None:
            raise ModuleLoadError(
                self.name, f"start function {name} failed: {self.failure.kind}: {self.failure.message}"
            )

    # -- contexts ----------------------------------------------------------------------------------

    def new_context_id(self) -> int:
        context_id = self.next_context_id
        self.next_context_id += 1
        return context_id

    def effective_context(self) -> Context | None:
        effective = self.effective
        if effective is not None and effective.id in self.contexts:
            return effective
        return self.current

    # -- calls into the plugin ---------------------------------------------------------------------

    def has(self, name: str) -> bool:
        return name in self.funcs

    def call(self, context: Context | None, name: str, *args: int) -> int | None:
        """Call an export; ``None`` if it is missing, the VM has failed, or the call trapped."""
        if self.failure is not None:
            return None
        func = self.funcs.get(name)
        if func is None:
            return None
        if self.checked_calls:
            return self._call_checked(context, name, args)
        outer = self.depth
        if outer:  # nested (a hostcall called back in): restore the outer call's state afterwards
            saved_current, saved_effective, saved_callback = self.current, self.effective, self.callback
        else:  # outermost: nothing runs, so the state to restore is the idle one
            saved_current, saved_effective, saved_callback = None, None, ""
        self.callback = name
        self.current = context
        self.effective = None
        depth = self.depth = outer + 1
        caller = self._caller
        count = len(args)
        if count:
            try:
                _SLOTS[count].pack_into(ADDRESS_SPACE, caller.address, *args)
            except struct.error:  # a value outside u32 goes in as its low 32 bits (an i32 argument)
                _SLOTS[count].pack_into(ADDRESS_SPACE, caller.address, *(a & M32 for a in args))
        calls = self.calls
        calls[name] = calls.get(name, 0) + 1
        if depth == 1:
            fuel = self.runtime.consume_fuel
            if fuel:
                self.store.set_fuel(self.fuel_limit or FUEL_UNLIMITED)
            if self._armed_epoch != self.runtime.epoch:
                # The deadline counts from the current epoch; re-arm only when it has moved (10 ms).
                self._armed_epoch = self.runtime.epoch
                native.set_epoch_deadline(self.context, self.deadline_ticks)
            problem = caller.call(func, count or 1)  # the slot count covers the result too
            if fuel:
                used = (self.fuel_limit or FUEL_UNLIMITED) - self.store.get_fuel()
                self.fuel_used[name] = self.fuel_used.get(name, 0) + used
        else:
            problem = caller.call(func, count or 1)
        self.depth = depth - 1
        self.current, self.effective, self.callback = saved_current, saved_effective, saved_callback
        if problem is not None:
            self._fail_from_call(name, problem)
            return None
        if self.failure is not None:  # e.g. the allocator trapped inside a hostcall
            return None
        result: int | None = caller.u32[0] if name in _RETURNS else None  # slot 0, as 32 bits
        if depth == 1 and self.deferred:
            self.run_deferred()
        return result

    def _call_checked(self, context: Context | None, name: str, args: tuple[int, ...]) -> int | None:
        """The same call through wasmtime-py's checked ``Func.__call__`` (about 10x slower)."""
        saved_current, saved_effective, saved_callback = self.current, self.effective, self.callback
        self.current, self.effective, self.callback = context, None, name
        self.depth += 1
        self.calls[name] = self.calls.get(name, 0) + 1
        if self.depth == 1:
            native.set_epoch_deadline(self.context, self.deadline_ticks)
        try:
            value = self.func_objects[name](self.store, *args)
        except wasmtime.Trap as trap:
            self._fail_from_call(name, native.CallResult(trap.message, trap.trap_code))
            return None
        except BaseException as exc:  # a hostcall raised: wasmtime-py re-raises it here
            self.pending_fault = (
                exc
                if isinstance(exc, ProcExit | ProxyCrash)
                else HarnessFault(f"{type(exc).__name__}: {exc}")
            )
            self._fail_from_call(name, native.CallResult(str(exc), None))
            return None
        finally:
            self.depth -= 1
            self.current, self.effective, self.callback = saved_current, saved_effective, saved_callback
        if self.failure is not None:
            return None
        if self.depth == 0 and self.deferred:
            self.run_deferred()
        return value & M32 if isinstance(value, int) else None

    def misuse(self, name: str, raw: tuple[int, ...], status: int) -> None:
        """A hostcall answered the plugin BAD_ARGUMENT / INVALID_MEMORY_ACCESS (or WASI FAULT)."""
        try:
            diagnostics.record(self, name, raw, status)
        except Exception as exc:  # a diagnostics slip must never change what the plugin sees
            self.host.host_log(LogLevel.ERROR, f"pytest-proxy-wasm: misuse diagnostic failed: {exc!r}", self)

    def run_deferred(self) -> None:
        while self.deferred:
            action = self.deferred.pop(0)
            action()

    def _allocate(self, size: int) -> int:
        if self.checked_calls:
            return self._allocate_checked(size)
        self.allocations += 1
        u32 = self._alloc_caller.u32
        u32[0] = size
        saved_current, saved_effective = self.current, self.effective
        self.depth += 1
        problem = self._alloc_caller.call(self.allocator, 1)
        self.depth -= 1
        self.current, self.effective = saved_current, saved_effective
        if problem is not None:
            self._fail_from_call("malloc", problem)
            raise GuestMemoryError(f"allocator trapped: {problem.message}")
        ptr: int = u32[0]
        if ptr == 0 or not self.memory.contains(ptr, size):
            message = (
                f"allocator returned {ptr:#x} for {size} bytes: the hostcall returns INVALID_MEMORY_ACCESS"
            )
            self.host.host_log(3, message, self)
            raise GuestMemoryError(message)
        return ptr

    def _allocate_checked(self, size: int) -> int:
        name = self.allocator_name
        self.allocations += 1
        try:
            ptr = self.func_objects[name](self.store, size) & M32
        except wasmtime.Trap as trap:
            self._fail_from_call(name, native.CallResult(trap.message, trap.trap_code))
            raise GuestMemoryError(f"allocator trapped: {trap.message}") from None
        if ptr == 0 or not self.memory.contains(ptr, size):
            raise GuestMemoryError(f"allocator returned {ptr:#x} for {size} bytes")
        return int(ptr)

    # -- failure -------------------------------------------------------------------------------------

    def _fail_from_call(self, name: str, problem: native.CallResult) -> None:
        fault, self.pending_fault = self.pending_fault, None
        if isinstance(fault, ProcExit):
            self.fail(name, f"proc_exit({fault.code}) called", "proc_exit")
        elif isinstance(fault, ProxyCrash):  # Envoy would abort here: the host raises it (host.py)
            fault.callback, fault.plugin = name, self.name
            self.fail(name, fault.reason, "proxy_crash")
            self.host.proxy_crash = fault
        elif fault is not None:
            self.fail(name, f"{type(fault).__name__}: {fault}", "harness_fault")
            self.harness_fault = fault
        else:
            kind = problem.code.name.lower() if problem.code is not None else "error"
            message = summarize_trap(problem.message) or kind
            if kind == "interrupt":
                kind, message = (
                    "deadline_exceeded",
                    f"deadline exceeded in {name} after {self.deadline_seconds:g} s",
                )
            elif kind == "out_of_fuel":
                kind, message = "fuel_exhausted", f"fuel limit {self.fuel_limit} exhausted in {name}"
            elif self._near_memory_limit():
                kind = "memory_limit"
                message = f"memory limit {size_text(self.memory_limit)} reached in {name} ({message})"
            self.fail(name, message, kind)

    def _near_memory_limit(self) -> bool:
        """A trap right after memory.grow failed at the cap: linear memory is within a page of it."""
        return self.memory.handle != 0 and self.memory.size + 65536 > self.memory_limit

    def fail(self, callback: str, message: str, kind: str) -> None:
        if self.failure is not None:
            return
        logs = self.host.log_tail(self)
        self.failure = VmFailure(callback, message, kind, logs, self.host.clock.monotonic_ns)
        self.host.host_log(4, f"Function: {callback} failed: {message}", self)

    def hostcall_fault(self, name: str, exc: BaseException) -> int:
        """Turn a Python exception in a hostcall into a trap that names it."""
        if isinstance(exc, ProcExit):
            self.pending_fault = exc
            return native.new_trap(f"proc_exit({exc.code})")
        if isinstance(exc, ProxyCrash):
            self.pending_fault = exc
            return native.new_trap(f"Envoy crash in {name}")
        if not isinstance(exc, Exception):
            self.pending_fault = exc
        else:
            self.pending_fault = HarnessFault(f"in hostcall {name}: {type(exc).__name__}: {exc}")
            self.pending_fault.__cause__ = exc
        return native.new_trap(f"harness fault in {name}")

    harness_fault: BaseException | None = None

    @property
    def allocator_name(self) -> str:
        """The export the host allocates guest memory with (cpp-host prefers ``malloc``)."""
        return "malloc" if "malloc" in self.funcs else "proxy_on_memory_allocate"

    def callback_counts(self) -> dict[str, int]:
        """Calls per export, the allocator's included."""
        if not self.allocations:
            return dict(self.calls)
        return {**self.calls, self.allocator_name: self.calls.get(self.allocator_name, 0) + self.allocations}

    def close(self) -> None:
        if self.runtime.coverage is not None:
            self.runtime.coverage.harvest(self)
        self._links.unregister(self._link_key)
        self._keep.clear()
        self.funcs.clear()
        self.func_objects.clear()
        self.contexts.clear()


_RETURNS = {c.name for c in callbacks_for(AbiVersion.V0_2_1).values() if c.results} | {
    c.name for c in callbacks_for(AbiVersion.V0_1_0).values() if c.results
}


# A callback's arguments (all i32) written into the raw slots in one call (cheaper than item by item).
_SLOTS = [struct.Struct("<" + f"I{native.VAL_RAW_SIZE - 4}x" * n) for n in range(8)]


def _first_line(message: str) -> str:
    text = message.strip()
    return text.splitlines()[0] if text else "unknown error"


__all__ = ["VM", "GuestMemoryError", "ProcExit", "VmFailure"]
