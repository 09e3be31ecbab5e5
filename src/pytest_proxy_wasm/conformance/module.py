"""Area ``module``: the binary itself, before any request (cpp-host bytecode_util.cc, wasm.cc)."""

from __future__ import annotations

import wasmtime

from ..errors import UnknownAbiVersionError
from ..host.abi.signatures import callbacks_for, hostcalls_for
from ..host.envoy_versions import DEFAULT_ENVOY_VERSION, unlinked_imports
from ..host.hostcalls import IMPLEMENTATIONS
from ..host.platforms import check_module
from ..host.runtime import _MARKERS
from ..host.vm import VM
from ..plugin_coverage.instrument import COUNTER_EXPORT
from .cases import CaseFailure, CaseRun, case, check

_ABI_RULE = "proxy-wasm-cpp-host bytecode_util.cc: the first proxy_abi_version_* export fixes the ABI"


def _sig(ft: wasmtime.FuncType) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(str(p) for p in ft.params), tuple(str(r) for r in ft.results)


@case(
    "module",
    "valid_wasm",
    title="The file is a valid WebAssembly module",
    rule="WebAssembly core spec; Envoy refuses a module wasmtime cannot compile",
    why="Nothing else can be checked on a file that does not compile; a truncated download shows here.",
)
def valid_wasm(run: CaseRun) -> None:
    try:
        compiled = run.compiled()
    except UnknownAbiVersionError:  # valid wasm; module.abi_marker reports the marker
        wasmtime.Module(run.runtime.engine, run.target.module.read_bytes())
        return
    run.details.update(size=compiled.size, sha256=compiled.sha256, abi=compiled.abi.value)


@case(
    "module",
    "abi_marker",
    title="Exactly one known Proxy-Wasm ABI marker is exported",
    rule=_ABI_RULE + "; markers 0.1.0, 0.2.0, 0.2.1 (vNEXT 0_x_x is not recognised by Envoy)",
    why="With no marker Envoy refuses the module; with two the first wins silently, so the SDK and the "
    "host may disagree about callback signatures.",
)
def abi_marker(run: CaseRun) -> None:
    try:
        compiled = run.compiled()
        check_module(compiled.name, compiled.abi, run.target.platform)  # Higress's marker needs higress
    except UnknownAbiVersionError as exc:
        raise CaseFailure(exc.reason) from None
    markers = [n for n, ft in compiled.exports if ft is not None and n.startswith("proxy_abi_version_")]
    run.details["markers"] = markers
    check(len(markers) == 1, f"expected exactly one ABI marker, found {markers}")
    check(markers[0] in _MARKERS, f"unknown ABI marker {markers[0]}")


@case(
    "module",
    "memory_exported",
    title="A linear memory is exported",
    rule="proxy-wasm-cpp-host: the host reads and writes the module's single exported memory",
    why="Without an exported memory no hostcall can pass data; Envoy fails the VM.",
)
def memory_exported(run: CaseRun) -> None:
    compiled = run.compiled()
    memories = [e.name for e in compiled.module.exports if isinstance(e.type, wasmtime.MemoryType)]
    memories = [name for name in memories if name != COUNTER_EXPORT]  # a coverage copy's counters
    run.details["memories"] = memories
    check(bool(memories), "the module exports no memory")


@case(
    "module",
    "imports_provided",
    title="Every import is provided by the host for the module's ABI version",
    rule="cpp-host exports.h registerCallbacks: an import not linked for the ABI fails instantiation",
    why="A module importing a hostcall Envoy does not link never starts; the names tell which SDK call "
    "to avoid.",
)
def imports_provided(run: CaseRun) -> None:
    compiled = run.compiled()
    linked = hostcalls_for(compiled.abi)
    missing, mistyped, unimplemented = [], [], []
    for module, name, ftype in compiled.imports:
        spec = linked.get((module, name))
        if spec is None or ftype is None:
            missing.append(f"{module}.{name}")
        elif _sig(ftype) != (spec.params, spec.results):
            mistyped.append(f"{module}.{name} {_sig(ftype)}")
        elif name not in IMPLEMENTATIONS:
            unimplemented.append(f"{module}.{name}")
    version = run.target.envoy_version or DEFAULT_ENVOY_VERSION
    older = unlinked_imports(((m, n) for m, n, _ in compiled.imports), version)  # Envoy before 1.39
    run.details.update(
        imports=[f"{m}.{n}" for m, n, _ in compiled.imports],
        unsupported=missing + mistyped + older,
        linked_but_unimplemented=unimplemented,
    )
    check(not missing, "imports the host does not provide: " + ", ".join(missing))
    check(not mistyped, "imports with the wrong signature: " + ", ".join(mistyped))
    check(not older, f"imports Envoy {version} does not link (1.39 and later do): " + ", ".join(older))


@case(
    "module",
    "export_signatures",
    title="Known callbacks are exported with the signature of the module's ABI",
    rule="cpp-host wasm.cc getFunctions: V8 fails the VM on 'Bad function signature'",
    why="A callback exported with the wrong type is either refused (V8) or silently ignored (wasmtime): "
    "the plugin would never see those events.",
)
def export_signatures(run: CaseRun) -> None:
    compiled = run.compiled()
    known = callbacks_for(compiled.abi)
    bad = [
        f"{n} exported as {_sig(ft)}, expected {(known[n].params, known[n].results)}"
        for n, ft in compiled.exports
        if ft is not None and n in known and _sig(ft) != (known[n].params, known[n].results)
    ]
    run.details["callbacks"] = sorted(n for n, ft in compiled.exports if ft is not None and n in known)
    check(not bad, "; ".join(bad))


def _vm(run: CaseRun) -> VM:
    """A started VM; a ModuleLoadError goes to the runner, which names the module case responsible."""
    return run.host().new_vm(run.compiled(), vm_config=run.target.vm_config, env=run.target.env)


@case(
    "module",
    "start_functions",
    title="The module instantiates and its start functions run without trapping",
    rule="cpp-host wasm.cc startVm: _initialize then main(0,0)/__main_void, else _start",
    why="A trap during start (e.g. a Go runtime needing a missing WASI call) makes Envoy reject the "
    "plugin before it sees a request.",
)
def start_functions(run: CaseRun) -> None:
    vm = _vm(run)
    run.details["start"] = [n for n in ("_initialize", "main", "__main_void", "_start") if vm.has(n)]


@case(
    "module",
    "allocator",
    title="The allocator returns usable, distinct, aligned memory (8-byte aligned from 8 bytes up)",
    rule="cpp-host WasmBase::allocMemory: malloc, else proxy_on_memory_allocate; 0 or out-of-bounds is "
    "INVALID_MEMORY_ACCESS",
    why="Every header, body and config copy goes through the allocator; a broken one turns every "
    "hostcall that returns data into INVALID_MEMORY_ACCESS.",
)
def allocator(run: CaseRun) -> None:
    vm = _vm(run)
    sizes = (1, 7, 16, 100, 4096, 70_000)
    spans: list[tuple[int, int]] = []
    for size in sizes:
        try:
            ptr = vm.memory.allocate(size)
        except Exception as exc:
            raise CaseFailure(f"allocating {size} bytes failed: {exc}") from None
        if size >= 8:
            check(ptr % 8 == 0, f"allocation of {size} bytes at {ptr:#x} is not 8-byte aligned")
        pattern = bytes([size % 251]) * size
        vm.memory.write(ptr, pattern)
        spans.append((ptr, size))
    for ptr, size in spans:
        check(vm.memory.read(ptr, size) == bytes([size % 251]) * size, f"block at {ptr:#x} was overwritten")
    run.details["allocations"] = [f"{size}@{ptr:#x}" for ptr, size in spans]
    check(vm.failure is None, f"allocator failed the VM: {vm.failure}")
