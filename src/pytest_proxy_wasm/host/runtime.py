"""The wasmtime engine and the compiled-module cache (per process by sha256, and on disk, bounded:
module_cache.py).

A ``Runtime`` is owned by whoever creates it (the pytest plugin makes one per session); nothing here is
process-global, so xdist workers and parallel hosts never share mutable state.
"""

from __future__ import annotations

import hashlib
import os
import threading
import weakref
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import wasmtime

from ..errors import ModuleLoadError, UnknownAbiVersionError
from ..plugin_coverage.instrument import COUNTER_EXPORT
from .abi.enums import AbiVersion
from .linking import LinkPlan, Links
from .module_cache import ModuleCache

EPOCH_TICK_SECONDS = 0.01
_MARKERS = {v.marker: v for v in AbiVersion}


@dataclass(frozen=True)
class CompiledModule:
    """A compiled module and what the host needs to know about it before instantiating."""

    name: str
    sha256: str
    size: int
    module: wasmtime.Module
    abi: AbiVersion
    imports: tuple[tuple[str, str, wasmtime.FuncType | None], ...]
    exports: tuple[tuple[str, wasmtime.FuncType | None], ...]


def detect_abi(name: str, exports: tuple[tuple[str, wasmtime.FuncType | None], ...]) -> AbiVersion:
    """The first function export named like an ABI marker fixes the version (cpp-host bytecode_util)."""
    for export_name, functype in exports:
        if functype is not None and export_name in _MARKERS:
            return _MARKERS[export_name]
    others = [n for n, _ in exports if n.startswith("proxy_abi_version_")]
    if others:
        raise UnknownAbiVersionError(name, f"unknown Proxy-Wasm ABI version marker {others[0]!r}")
    raise UnknownAbiVersionError(name, "missing Proxy-Wasm ABI version (no proxy_abi_version_* export)")


def _default_cache_dir() -> Path | None:
    configured = os.environ.get("PYTEST_PROXY_WASM_CACHE_DIR")
    if configured == "":
        return None
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "pytest-proxy-wasm"


class Runtime:
    """One engine plus compiled-module caches. Share it per session; create VMs from it."""

    def __init__(
        self,
        cache_dir: Path | str | None = "default",
        *,
        max_wasm_stack: int = 1 << 20,
        consume_fuel: bool = False,
        optimize: bool = True,
    ) -> None:
        """``consume_fuel``: count wasmtime fuel per callback (a stable instruction-like count) and allow
        fuel limits; slower, so off by default. ``optimize=False``: Cranelift without optimizations, a
        quicker compile of slower code (fuel counts wasm operators: the same either way)."""
        config = wasmtime.Config()
        config.epoch_interruption = True
        config.max_wasm_stack = max_wasm_stack
        config.memory_may_move = False  # GuestMemory caches the base pointer
        config.consume_fuel = consume_fuel
        if not optimize:
            config.cranelift_opt_level = "none"
        self.consume_fuel = consume_fuel
        self.engine = wasmtime.Engine(config)
        fuel = ("-fuel" if consume_fuel else "") + ("" if optimize else "-o0")
        self.settings_key = f"wasmtime-{metadata.version('wasmtime')}-epoch-stack{max_wasm_stack}{fuel}"
        self.cache_dir = (
            _default_cache_dir() if cache_dir == "default" else (Path(cache_dir) if cache_dir else None)
        )
        self.epoch = 0  # mirrors the engine's epoch, so VMs re-arm deadlines only when it moved
        self._compiled: dict[str, CompiledModule] = {}
        self.links = Links()  # per-module link plans, shared hostcall trampolines, live VMs (linking.py)
        # path -> (file identity, sha256): a path loaded again unchanged is neither read nor hashed
        self._digests: dict[str, tuple[tuple[int, int, int, int], str]] = {}
        self._lock = threading.Lock()
        # plugin_coverage.CoverageCollector: modules compile instrumented; CompiledModule.sha256 stays the
        # original's, the disk cache keys on the instrumented bytes
        self.coverage: Any = None
        self._stop = threading.Event()
        # The ticker holds only a weak reference: a Runtime nobody closes still goes away with its thread.
        self._ticker = threading.Thread(
            target=_tick, args=(weakref.ref(self), self._stop), name="proxy-wasm-epoch", daemon=True
        )
        self._ticker.start()

    def __del__(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._stop.set()

    def load(self, source: bytes | str | os.PathLike[str], name: str | None = None) -> CompiledModule:
        """Compile (or fetch from cache) a module given as bytes or a path."""
        identity: tuple[int, int, int, int] | None = None
        if isinstance(source, bytes | bytearray):
            data = bytes(source)
            label = name or "<bytes>"
        else:
            path = Path(source)
            label = name or path.name
            identity, known = self._known_path(path)  # the file's identity is taken before reading it
            if known is not None:
                return known if known.name == label else _renamed(known, label)
            try:
                data = path.read_bytes()
            except OSError as exc:
                raise ModuleLoadError(label, f"cannot read {path}: {exc.strerror}") from None
        digest = hashlib.sha256(data).hexdigest()
        with self._lock:
            if identity is not None:
                self._digests[str(source)] = (identity, digest)
            cached = self._compiled.get(digest)
        if cached is not None:
            return cached if cached.name == label else _renamed(cached, label)
        compile_data, compile_digest = data, digest
        if self.coverage is not None:  # plugin_coverage: compile the instrumented copy (cached by its bytes)
            origin = None if isinstance(source, bytes | bytearray) else os.fspath(source)
            compile_data = self.coverage.instrument(label, data, origin)
            compile_digest = hashlib.sha256(compile_data).hexdigest()
        module = self._compile(label, compile_data, compile_digest)
        exports = tuple(
            (e.name, e.type if isinstance(e.type, wasmtime.FuncType) else None)
            for e in module.exports
            if e.name != COUNTER_EXPORT  # the instrumented copy's counters are not the plugin's export
        )
        imports = tuple(
            (i.module, i.name or "", i.type if isinstance(i.type, wasmtime.FuncType) else None)
            for i in module.imports
        )
        compiled = CompiledModule(
            label, digest, len(data), module, detect_abi(label, exports), imports, exports
        )
        with self._lock:
            self._compiled[digest] = compiled
        return compiled

    def link_plan(self, compiled: CompiledModule) -> LinkPlan:
        """How to link ``compiled`` into this Runtime's stores (made once per module)."""
        with self._lock:
            known = self._compiled.get(compiled.sha256)
        if known is None or known.module is not compiled.module:
            # wasmtime aborts the process on a host function typed by another engine: refuse first.
            raise ModuleLoadError(
                compiled.name,
                "instantiation failed: cross-`Engine` instantiation is not currently supported "
                "(the module was compiled by another Runtime)",
            )
        return self.links.plan(compiled)

    def _known_path(self, path: Path) -> tuple[tuple[int, int, int, int] | None, CompiledModule | None]:
        """The file's identity (device, inode, size, mtime in ns) and, if this path was loaded before
        with the same identity, its compiled module (so it is neither read nor hashed again)."""
        try:
            st = path.stat()
        except OSError:
            return None, None  # read_bytes reports the error
        identity = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)
        with self._lock:
            seen = self._digests.get(str(path))
            if seen is None or seen[0] != identity:
                return identity, None
            return identity, self._compiled.get(seen[1])

    def _compile(self, label: str, data: bytes, digest: str) -> wasmtime.Module:
        if len(data) < 8 or data[:4] != b"\0asm":
            raise ModuleLoadError(label, "not a WebAssembly binary (bad magic number)")
        cache = ModuleCache(self.cache_dir, self.settings_key) if self.cache_dir else None
        if cache is not None:
            cached = cache.load(self.engine, digest)
            if cached is not None:
                return cached
        try:
            module = wasmtime.Module(self.engine, data)
        except wasmtime.WasmtimeError as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else "invalid module"
            raise ModuleLoadError(label, f"invalid WebAssembly: {first}") from None
        if cache is not None:
            cache.store(digest, module)
        return module


def _tick(runtime_ref: weakref.ref[Runtime], stop: threading.Event) -> None:
    """Advance the engine's epoch every 10 ms (callback deadlines count these ticks)."""
    while not stop.wait(EPOCH_TICK_SECONDS):
        runtime = runtime_ref()
        if runtime is None:
            return
        runtime.engine.increment_epoch()
        runtime.epoch += 1
        del runtime


def _renamed(compiled: CompiledModule, name: str) -> CompiledModule:
    from dataclasses import replace

    return replace(compiled, name=name)
