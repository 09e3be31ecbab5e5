"""The instrumented copy behaves as the original on the module shapes the samples do not cover: no
memory, several memories, a 64-bit memory, start functions, traps of every kind (their messages name
the same function), huge functions, and modules wasmtime refuses. Each runs entry-only and with block
counters (an empty ``.debug_line`` section turns those on)."""

from __future__ import annotations

import ctypes
import warnings
from pathlib import Path
from typing import Any

import pytest
import wasmtime

from pytest_proxy_wasm.conformance.cases import Target
from pytest_proxy_wasm.conformance.verdicts import run_case, selected
from pytest_proxy_wasm.errors import ModuleLoadError
from pytest_proxy_wasm.host.host import Host
from pytest_proxy_wasm.host.options import HostOptions
from pytest_proxy_wasm.host.runtime import Runtime
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector
from pytest_proxy_wasm.plugin_coverage.instrument import instrument

DEBUG_LINE = b"\x00\x0c\x0b.debug_line"  # an empty custom section named .debug_line
MEMORY = '(memory (export "memory") 1)'
MALLOC = '(func (export "malloc") (param i32) (result i32) i32.const 1024)'
ABI = '(func (export "proxy_abi_version_0_2_1"))'


def plugin(headers: str, *extra: str, memory: str = MEMORY) -> str:
    """A plugin whose on_request_headers body is ``headers`` (it returns the action)."""
    return f"""(module {memory} {ABI} {MALLOC} {" ".join(extra)}
      (func (export "proxy_on_context_create") (param i32 i32))
      (func (export "proxy_on_vm_start") (param i32 i32) (result i32) i32.const 1)
      (func (export "proxy_on_configure") (param i32 i32) (result i32) i32.const 1)
      (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32) {headers}))"""


def behaviour(data: bytes, coverage: bool) -> list[Any]:
    """Load, one request, the logs and the trace; a load error as its type and message."""
    runtime = Runtime(None)
    if coverage:
        runtime.coverage = CoverageCollector(None)
    try:
        with Host(runtime, HostOptions(trace=True, start_time_ns=1)) as host:
            try:
                started = host.load_plugin(runtime.load(data, "shape.wasm"))
            except ModuleLoadError as exc:
                return ["ModuleLoadError", str(exc)]
            outcome = host.request(started, path="/")
            records = [r.to_json() for r in host.tracer.records] if host.tracer else []
            return [outcome.status, [str(r) for r in host.logs], records]
    finally:
        runtime.close()


def same(wat: str, blocks: bool) -> list[Any]:
    data = wasmtime.wat2wasm(wat) + (DEBUG_LINE if blocks else b"")
    plain = behaviour(data, coverage=False)
    assert behaviour(data, coverage=True) == plain
    return plain


@pytest.fixture(params=[False, True], ids=["entry", "blocks"])
def blocks(request: pytest.FixtureRequest) -> bool:
    return bool(request.param)


def test_a_module_without_memory_is_refused_as_without_coverage(blocks: bool) -> None:
    # the copy's counters are the only exported memory: the host must not take them for the plugin's
    result = same(plugin("i32.const 0", memory=""), blocks)
    assert result == ["ModuleLoadError", "cannot load shape.wasm: the module exports no memory"]


def test_memory_exported_case_does_not_count_the_counters(tmp_path: Path) -> None:
    module = tmp_path / "nomemory.wasm"
    module.write_bytes(wasmtime.wat2wasm(plugin("i32.const 0", memory="")))
    results = []
    assert selected(("module.memory_exported",)) == ["module.memory_exported"]  # loads the cases
    for coverage in (False, True):
        runtime = Runtime(None)
        if coverage:
            runtime.coverage = CoverageCollector(None)
        target = Target(module=module)
        results.append(run_case("module.memory_exported", target, runtime, {"kind": "http_filter"}))
        runtime.close()
    assert results[0] == results[1]
    assert results[0]["outcome"] == "failed" and results[0]["details"]["memories"] == []


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ("unreachable", "wasm `unreachable` instruction executed"),
        ("i32.const 70000 i32.load", "memory fault at wasm address 0x11170"),
        ("i32.const 1 i32.const 0 i32.div_u", "integer divide by zero"),
        ("i32.const 0 call $recurse", "call stack exhausted"),
        ("i32.const 0 i32.const 1 call_indirect (type $t)", "undefined element"),
    ],
)
def test_traps_report_the_same_kind_and_function(headers: str, expected: str, blocks: bool) -> None:
    extra = (
        "(type $t (func (param i32) (result i32)))",
        "(table 1 funcref)",
        "(func $recurse (param i32) (result i32) local.get 0 i32.const 1 i32.add call $recurse)",
    )
    status, logs, _ = same(plugin(headers, *extra), blocks)
    assert status == 503
    failure = next(line for line in logs if "failed:" in line)
    assert expected in failure
    assert ("(in <unknown>!recurse)" if "recurse" in headers else "<wasm function") in failure


def test_named_functions_keep_their_names_in_trap_messages(blocks: bool) -> None:
    wat = plugin("i32.const 0 call $helper", "(func $helper (param i32) (result i32) unreachable)")
    _, logs, _ = same(wat, blocks)
    assert any("(in <unknown>!helper)" in line for line in logs)


def test_a_trapping_start_function_fails_instantiation_the_same_way(blocks: bool) -> None:
    result = same(plugin("i32.const 0", "(func $start unreachable)", "(start $start)"), blocks)
    assert result[0] == "ModuleLoadError" and "instantiation failed" in result[1]


def test_a_start_function_that_writes_memory_runs_once(blocks: bool) -> None:
    start = "(func $start i32.const 0 i32.const 0 i32.load i32.const 1 i32.add i32.store)"
    # the action is what the start function left in memory: 1 pauses (no answer), as without coverage
    status, _, trace = same(plugin("i32.const 0 i32.load", start, "(start $start)"), blocks)
    assert status is None
    assert trace[-1]["result"] == 1


def test_several_memories_and_data_segments(blocks: bool) -> None:
    memories = '(memory $scratch 1) (memory $main (export "memory") 1)'
    wat = plugin(
        "i32.const 0 i32.load $main i32.const 0 i32.load $scratch i32.add",
        '(data (memory $main) (i32.const 0) "\\01\\00\\00\\00")',
        '(data (memory $scratch) (i32.const 0) "\\00\\00\\00\\00")',
        memory=memories,
    )
    status, _, trace = same(wat, blocks)
    assert trace[-1]["result"] == 1 and status is None


def test_a_64_bit_memory(blocks: bool) -> None:
    wat = plugin("i64.const 8 i64.load drop i32.const 0", memory='(memory (export "memory") i64 1)')
    status, _, _ = same(wat, blocks)
    assert status == 200


def test_a_huge_function(blocks: bool) -> None:
    # 20,000 blocks with a branch each: a block counter per branch target, the same result
    body = "i32.const 0 " + "(block (br_if 0 (i32.const 0)) (drop (i32.const 1))) " * 20_000
    status, _, _ = same(plugin(body), blocks)
    assert status == 200


def test_a_module_that_does_not_validate_fails_with_the_same_message(blocks: bool) -> None:
    # parses (so it could be instrumented) but does not validate: the copy is not used
    result = same(plugin("i64.const 0"), blocks)
    assert result[0] == "ModuleLoadError" and "invalid WebAssembly" in result[1]


def test_code_using_a_memory_the_module_lacks_stays_invalid(blocks: bool) -> None:
    # in the copy the counters would be memory 0 and make this valid: the original is checked first
    result = same(plugin("i32.const 0 i32.load", memory=""), blocks)
    assert result[0] == "ModuleLoadError" and "invalid WebAssembly" in result[1]


def test_a_module_already_exporting_the_counters_is_refused_by_name() -> None:
    wat = plugin("i32.const 0", '(memory (export "pytest_proxy_wasm_coverage") 1)')
    assert behaviour(wasmtime.wat2wasm(wat), coverage=False)[0] == 200
    result = behaviour(wasmtime.wat2wasm(wat), coverage=True)
    assert result[0] == "ModuleLoadError"
    assert "shape.wasm" in result[1] and "already exports 'pytest_proxy_wasm_coverage'" in result[1]


def test_counter_functions_are_the_original_indices() -> None:
    wat = """(module (import "env" "proxy_log" (func (param i32 i32 i32) (result i32)))
      (import "env" "proxy_done" (func (result i32)))
      (memory 1) (func $a) (func $b call $a))"""
    result = instrument(wasmtime.wat2wasm(wat) + DEBUG_LINE, "indices.wasm")
    assert sorted({c.function for c in result.counters}) == [2, 3]  # after the two imported functions
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        wasmtime.Module.validate(wasmtime.Engine(), result.data)


def test_counters_follow_an_imported_and_a_defined_memory() -> None:
    wat = """(module (import "env" "memory" (memory 1)) (memory $own 1)
      (func (export "f") (result i32) (i32.load $own (i32.const 0))))"""
    result = instrument(wasmtime.wat2wasm(wat) + DEBUG_LINE, "imported.wasm")
    store = wasmtime.Store()
    imported = wasmtime.Memory(store, wasmtime.MemoryType(wasmtime.Limits(1, None)))
    instance = wasmtime.Instance(store, wasmtime.Module(store.engine, result.data), [imported])
    exports = instance.exports(store)
    assert exports["f"](store) == 0
    assert exports["f"](store) == 0
    counters = exports["pytest_proxy_wasm_coverage"]
    assert read(store, counters, 8) == (2).to_bytes(8, "little")  # the entry counter, in memory 2
    assert read(store, imported, 64) == bytes(64)  # the plugin's memories are untouched


def read(store: wasmtime.Store, memory: Any, size: int) -> bytes:
    pointer = memory.data_ptr(store)
    return ctypes.string_at(pointer if isinstance(pointer, int) else ctypes.addressof(pointer.contents), size)
