"""Broken modules fail the same way with coverage as without; a valid module the instrumenter cannot
walk fails loudly, naming the module."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from pytest_proxy_wasm.errors import ModuleLoadError
from pytest_proxy_wasm.host.runtime import Runtime
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector
from pytest_proxy_wasm.plugin_coverage.decode import WasmFormatError
from pytest_proxy_wasm.plugin_coverage.instrument import instrument

ROOT = Path(__file__).resolve().parents[2]


def load_error(module: Path, coverage: bool) -> str:
    runtime = Runtime(None)
    if coverage:
        runtime.coverage = CoverageCollector(None)
    with pytest.raises(ModuleLoadError) as info:
        runtime.load(module)
    return str(info.value)


@pytest.mark.parametrize("fixture", ["not_wasm.wasm", "truncated.wasm"])
def test_broken_modules_fail_as_without_coverage(fixture: str) -> None:
    module = ROOT / "fixtures" / "hostile" / fixture
    assert load_error(module, True) == load_error(module, False)


def test_an_instruction_the_walker_does_not_know_is_named(tmp_path: Path) -> None:
    # valid Wasm whose body holds an unknown prefix: patch a valid module's `nop` into 0xfb (GC prefix)
    wat = '(module (memory (export "memory") 1) (func (export "f") nop))'
    data = bytearray(wasmtime.wat2wasm(wat))
    data = data.replace(b"\x01\x0b", b"\xfb\x0b", 1)
    data += b"\x00\x0c\x0b.debug_line"  # an (empty) line table: the walker visits every instruction
    with pytest.raises(WasmFormatError, match="unsupported instruction 0xfb"):
        instrument(bytes(data), "gc.wasm")
    assert len(instrument(bytes(data[: -len(b"\x00\x0c\x0b.debug_line")]), "gc.wasm").counters) == 1


def test_instrumented_copy_validates_and_exports_its_counters() -> None:
    data = (ROOT / "fixtures" / "rust" / "body.wasm").read_bytes()
    result = instrument(data, "body.wasm")
    module = wasmtime.Module(wasmtime.Engine(), result.data)
    assert "pytest_proxy_wasm_coverage" in [e.name for e in module.exports]
    assert sum(c.entry for c in result.counters) == len({c.function for c in result.counters})


def test_counters_are_added_by_value() -> None:
    import struct

    from pytest_proxy_wasm.plugin_coverage.collector import ModuleCoverage
    from pytest_proxy_wasm.plugin_coverage.instrument import Counter

    size = 1000
    values = [0] * size
    values[0], values[5], values[100], values[size - 1] = 1, 256, 0xFFFFFFFF, 7
    module = ModuleCoverage("m", b"", "", [Counter(0, 0, 0, True)] * size, b"")
    raw = struct.pack(f"<{size}Q", *values)
    module.add(raw)
    module.pending[raw] = 1
    assert list(module.counts) == [2 * v for v in values]  # pending snapshots are flushed first
    module.add_counts({5: 1, 999: 3})
    expected = [2 * v for v in values]
    expected[5] += 1
    expected[999] += 3
    assert list(module.counts) == expected
