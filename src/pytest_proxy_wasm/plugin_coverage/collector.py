"""The session's coverage: instruments modules as the Runtime loads them, reads each VM's counters back
(when the VM closes, and for the VMs still open when the session ends) and sums them per module.

Workers of a pytest-xdist session each write their sums (``write_partial``); the controller merges them
(``merge_partial``). Nothing here is process-global: the collector belongs to its Runtime's owner.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import sys
import weakref
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import wasmtime

from ..errors import ModuleLoadError
from .decode import WasmFormatError
from .instrument import COUNTER_EXPORT, COUNTER_SIZE, FORMAT_VERSION, Counter, Instrumented, instrument

_FORMAT = "pytest-proxy-wasm-coverage/1"
_PENDING_LIMIT = 32  # distinct VM snapshots kept before they are summed


@dataclass
class ModuleCoverage:
    """One module: its original bytes (for names and DWARF), its counters and their summed counts.

    The sums are one big integer of 64-bit lanes, one per counter: adding a VM's counters is a single
    integer addition (no per-counter Python loop), and identical VM snapshots are added once."""

    name: str
    original: bytes
    sha256: str  # of the original module
    counters: list[Counter]
    instrumented: bytes
    lanes: int = 0
    pending: dict[bytes, int] = field(default_factory=dict)  # VM counters not yet added -> how many VMs
    origin: str | None = None  # the module's file when loaded from one (its source map is beside it)

    def flush(self) -> None:
        for raw, times in self.pending.items():
            self.add(raw, times)
        self.pending.clear()

    def add(self, raw: bytes, times: int = 1) -> None:
        """Add a VM's counters (little-endian u64 each), ``times`` times."""
        self.lanes += times * int.from_bytes(raw[: len(self.counters) * COUNTER_SIZE], "little")

    def add_counts(self, counts: dict[int, int]) -> None:
        wide = array("Q", bytes(8 * len(self.counters)))
        for index, count in counts.items():
            wide[index] = count
        self.lanes += int.from_bytes(_little_endian(wide), "little")

    @property
    def counts(self) -> array:  # type: ignore[type-arg]
        """The summed count of each counter."""
        self.flush()
        out = array("Q")
        out.frombytes(self.lanes.to_bytes(8 * len(self.counters), "little"))
        if sys.byteorder == "big":
            out.byteswap()
        return out


def _little_endian(values: array) -> bytes:  # type: ignore[type-arg]
    if sys.byteorder == "big":
        values = array(values.typecode, values)
        values.byteswap()
    return values.tobytes()


def _address(pointer: Any) -> int:
    """The memory's base address (wasmtime-py returns an int or a ctypes pointer, by version)."""
    return pointer if isinstance(pointer, int) else ctypes.addressof(pointer.contents)


def _read_counters(module: ModuleCoverage, store: wasmtime.Store, memory: wasmtime.Memory) -> None:
    size = len(module.counters) * COUNTER_SIZE
    base = _address(memory.data_ptr(store))
    raw = ctypes.string_at(base, size)
    module.pending[raw] = module.pending.get(raw, 0) + 1  # VMs often run the same code: added once
    if len(module.pending) > _PENDING_LIMIT:
        module.flush()
    ctypes.memset(base, 0, size)


def _counter_memory(instance: wasmtime.Instance, store: wasmtime.Store) -> Any:
    """The counters' memory, looked up by name (``Instance.exports`` would wrap every export)."""
    from wasmtime import _ffi as ffi  # wasmtime-py's C bindings (as host/native.py uses them)
    from wasmtime._extern import wrap_extern

    name = COUNTER_EXPORT.encode()
    item = ffi.wasmtime_extern_t()
    found = ffi.wasmtime_instance_export_get(
        store._context(), ctypes.byref(instance._instance), name, len(name), ctypes.byref(item)
    )
    return wrap_extern(item) if found else None


def _valid(data: bytes) -> bool:
    try:
        wasmtime.Module.validate(wasmtime.Engine(), data)
    except wasmtime.WasmtimeError:
        return False
    return True


class CoverageCollector:
    """Instrument on load, harvest counters, sum per module (keyed by the original's sha256)."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        self.cache_dir = cache_dir / "coverage" / f"v{FORMAT_VERSION}" if cache_dir else None
        self.modules: dict[str, ModuleCoverage] = {}  # original sha256 -> coverage
        self._vms: weakref.WeakKeyDictionary[Any, weakref.finalize] = weakref.WeakKeyDictionary()  # type: ignore[type-arg]

    def instrument(self, label: str, data: bytes, origin: str | None = None) -> bytes:
        """The instrumented copy of ``data`` (the Runtime compiles and caches these bytes); ``origin``:
        the file it was read from."""
        digest = hashlib.sha256(data).hexdigest()
        known = self.modules.get(digest)
        if known is not None:
            known.origin = known.origin or origin
            return known.instrumented
        result = self._cached(digest)
        if result is None:
            if not _valid(data):  # checked first: an invalid copy could fail with other offsets
                return data  # not counted; compiling it reports the same error as without coverage
            try:
                result = instrument(data, label)
            except WasmFormatError as exc:
                raise ModuleLoadError(label, f"cannot instrument for coverage: {exc}") from None
            self._store(digest, result)
        module = ModuleCoverage(label, data, digest, result.counters, result.data, origin=origin)
        self.modules[digest] = module
        return result.data

    def attach(self, vm: Any) -> None:
        """Watch a new VM's counters (VM.__init__ calls this when its Runtime collects coverage).

        The counters are read when the VM closes, when it is garbage collected (the finalizer keeps
        only the store and memory, which do not keep the VM alive) or at the end of the session."""
        module = self.modules.get(vm.compiled.sha256)  # the original's digest (Runtime.load)
        if module is None:
            return
        memory = _counter_memory(vm.instance, vm.store)
        if isinstance(memory, wasmtime.Memory):
            self._vms[vm] = weakref.finalize(vm, _read_counters, module, vm.store, memory)

    def harvest(self, vm: Any) -> None:
        """Add the VM's counters to the sums now (it is closing)."""
        finalizer = self._vms.pop(vm, None)
        if finalizer is not None:
            finalizer()

    def harvest_all(self) -> None:
        """Read every VM still watched (the end of the session)."""
        for vm in list(self._vms.keys()):
            self.harvest(vm)

    # -- the on-disk instrumentation cache -------------------------------------------------------------

    def _cached(self, digest: str) -> Instrumented | None:
        if self.cache_dir is None:
            return None
        wasm, table = self.cache_dir / f"{digest}.wasm", self.cache_dir / f"{digest}.counters"
        try:
            data, raw = wasm.read_bytes(), table.read_bytes()
        except OSError:
            return None
        flat = array("I")
        flat.frombytes(raw)
        counters = [
            Counter(flat[i], flat[i + 1], flat[i + 2], bool(flat[i + 3])) for i in range(0, len(flat), 4)
        ]
        return Instrumented(data, counters)

    def _store(self, digest: str, result: Instrumented) -> None:
        if self.cache_dir is None:
            return
        flat = array("I")
        for c in result.counters:
            flat.extend((c.function, c.start, c.end, int(c.entry)))
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            for suffix, payload in ((".counters", flat.tobytes()), (".wasm", result.data)):
                tmp = self.cache_dir / f"{digest}{suffix}.{id(result)}.tmp"
                tmp.write_bytes(payload)
                tmp.replace(self.cache_dir / f"{digest}{suffix}")
        except OSError:
            return  # a read-only cache is not an error

    # -- partial data of xdist workers -----------------------------------------------------------------

    def write_partial(self, path: Path) -> None:
        """This process's sums, for the controller to merge; the original modules go beside it."""
        self.harvest_all()
        originals = path.parent / "modules"
        originals.mkdir(parents=True, exist_ok=True)
        for digest, module in self.modules.items():
            target = originals / f"{digest}.wasm"
            if not target.exists():
                target.with_suffix(f".{path.stem}.tmp").write_bytes(module.original)
                target.with_suffix(f".{path.stem}.tmp").replace(target)
        payload = {
            "format": _FORMAT,
            "modules": {
                digest: {
                    "name": m.name,
                    "origin": m.origin,
                    "counts": {str(i): c for i, c in enumerate(m.counts) if c},
                }
                for digest, m in self.modules.items()
            },
        }
        path.write_text(json.dumps(payload))

    def merge_partial(self, path: Path) -> None:
        """Add the sums a worker wrote with ``write_partial``."""
        payload = json.loads(path.read_text())
        if payload.get("format") != _FORMAT:
            raise ValueError(f"{path}: not a pytest-proxy-wasm coverage file")
        for digest, entry in payload["modules"].items():
            module = self.modules.get(digest)
            if module is None:
                original = path.parent / "modules" / f"{digest}.wasm"
                if not original.exists():
                    raise ValueError(f"{path}: module {entry['name']} ({digest[:12]}) is missing")
                self.instrument(entry["name"], original.read_bytes(), entry.get("origin"))
                module = self.modules[digest]
            module.add_counts({int(index): count for index, count in entry["counts"].items()})
