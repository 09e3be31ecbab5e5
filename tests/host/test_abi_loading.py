"""Module loading: ABI detection, callback signatures and imports per version, allocator, start."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from wat_builder import Probe, build, slot, slots

from pytest_proxy_wasm import (
    AbiVersion,
    Host,
    MissingImportsError,
    ModuleLoadError,
    UnknownAbiVersionError,
)


def imports_module(abi: str, *imports: str) -> bytes:
    """A module of ABI ``abi`` that imports the named env functions as ``()->i32`` or with their real type."""
    from pytest_proxy_wasm.host.abi.signatures import HOSTCALLS_BY_NAME

    probe = Probe(abi)
    for name in imports:
        spec = HOSTCALLS_BY_NAME.get(name)
        params = " ".join(spec.params) if spec else ""
        probe.extra_imports.append(f'  (import "env" "{name}" (func (param {params}) (result i32)))')
    return build(probe)


# -- ABI detection ---------------------------------------------------------------------------------


@pytest.mark.parametrize("abi", ["0.1.0", "0.2.0", "0.2.1"])
def test_abi_marker_fixes_the_version(proxy_wasm_host: Host, abi: str) -> None:
    compiled = proxy_wasm_host.load(build(Probe(abi)))
    assert compiled.abi is AbiVersion(abi)
    plugin = proxy_wasm_host.load_plugin(build(Probe(abi)), name="p")
    assert plugin.vm.abi is AbiVersion(abi)


def test_no_marker_is_unknown_abi(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.marker = "not_a_marker"
    with pytest.raises(UnknownAbiVersionError, match="missing Proxy-Wasm ABI version"):
        proxy_wasm_host.load(build(probe))


def test_vnext_marker_is_not_recognised(proxy_wasm_host: Host) -> None:
    with pytest.raises(UnknownAbiVersionError, match="proxy_abi_version_0_x_x"):
        proxy_wasm_host.load(build(Probe(marker="proxy_abi_version_0_x_x")))


def test_unknown_marker_is_an_error_and_a_load_error(proxy_wasm_host: Host) -> None:
    with pytest.raises(ModuleLoadError, match="proxy_abi_version_9_9_9"):
        proxy_wasm_host.load(build(Probe(marker="proxy_abi_version_9_9_9")))


def test_first_marker_export_wins(proxy_wasm_host: Host) -> None:
    probe = Probe("0.2.0")
    probe.extra.append('  (func (export "proxy_abi_version_0_1_0"))')
    assert proxy_wasm_host.load(build(probe)).abi is AbiVersion.V0_2_0


def test_not_wasm_is_a_load_error(proxy_wasm_host: Host) -> None:
    with pytest.raises(ModuleLoadError, match="bad magic"):
        proxy_wasm_host.load(b"this is not wasm at all")


# -- callback signatures per version -----------------------------------------------------------------


def test_abi_010_headers_callbacks_take_two_params(proxy_wasm_host: Host) -> None:
    probe = Probe("0.1.0")
    probe.on("proxy_on_request_headers", f"(i32.store (i32.const {slot(0)}) (local.get $p1))")
    probe.on("proxy_on_response_headers", f"(i32.store (i32.const {slot(1)}) (local.get $p1))")
    plugin = proxy_wasm_host.load_plugin(build(probe), name="v010")
    outcome = proxy_wasm_host.request(plugin, headers={"x-a": "1"}, upstream_headers=[("x-b", "2")])
    assert outcome.status == 200
    # :authority :path :method :scheme x-a x-forwarded-proto x-request-id;
    # :status x-b content-length x-envoy-upstream-service-time (Envoy 1.40's maps)
    assert slots(plugin, 2) == [7, 4]


def test_abi_02x_headers_callbacks_get_end_of_stream(proxy_wasm_host: Host) -> None:
    probe = Probe("0.2.0")
    probe.on("proxy_on_request_headers", f"(i32.store (i32.const {slot(0)}) (local.get $p2))")
    probe.on("proxy_on_response_headers", f"(i32.store (i32.const {slot(1)}) (local.get $p2))")
    plugin = proxy_wasm_host.load_plugin(build(probe), name="v020")
    proxy_wasm_host.request(plugin, body="x", upstream_body="")
    assert slots(plugin, 2) == [0, 1]  # request has a body; the response is headers-only


@pytest.mark.parametrize(("abi", "params"), [("0.1.0", 3), ("0.2.1", 2)])
def test_headers_callback_with_the_other_versions_signature_fails_to_load(
    proxy_wasm_host: Host, abi: str, params: int
) -> None:
    probe = Probe(abi)
    decl = " ".join(["(param i32)"] * params)
    probe.extra.append(f'  (func (export "proxy_on_request_headers") {decl} (result i32) (i32.const 0))')
    with pytest.raises(ModuleLoadError, match="Bad function signature for: proxy_on_request_headers"):
        proxy_wasm_host.load_plugin(build(probe), name="sig")


# -- ABI-gated imports ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("abi", "name"),
    [
        ("0.2.0", "proxy_get_configuration"),
        ("0.2.1", "proxy_get_configuration"),
        ("0.2.1", "proxy_continue_request"),
        ("0.2.1", "proxy_clear_route_cache"),
        ("0.1.0", "proxy_continue_stream"),
        ("0.1.0", "proxy_close_stream"),
        ("0.1.0", "proxy_get_log_level"),
        ("0.2.0", "proxy_get_log_level"),
    ],
)
def test_import_not_linked_for_the_abi_fails_to_load(proxy_wasm_host: Host, abi: str, name: str) -> None:
    with pytest.raises(MissingImportsError) as info:
        proxy_wasm_host.load_plugin(imports_module(abi, name), name="gated")
    assert info.value.missing == [f"env.{name}"]
    assert name in str(info.value)


@pytest.mark.parametrize(
    ("abi", "name"),
    [
        ("0.1.0", "proxy_get_configuration"),
        ("0.1.0", "proxy_continue_request"),
        ("0.1.0", "proxy_continue_response"),
        ("0.1.0", "proxy_clear_route_cache"),
        ("0.2.0", "proxy_continue_stream"),
        ("0.2.0", "proxy_close_stream"),
        ("0.2.1", "proxy_get_log_level"),
    ],
)
def test_import_linked_for_the_abi_loads(proxy_wasm_host: Host, abi: str, name: str) -> None:
    plugin = proxy_wasm_host.load_plugin(imports_module(abi, name), name="linked")
    assert plugin.failed is None


def test_every_missing_import_is_named(proxy_wasm_host: Host) -> None:
    with pytest.raises(MissingImportsError) as info:
        proxy_wasm_host.load_plugin(
            imports_module("0.2.1", "proxy_get_configuration", "proxy_log", "proxy_no_such_call"), name="two"
        )
    assert info.value.missing == ["env.proxy_get_configuration", "env.proxy_no_such_call"]


def test_import_with_the_wrong_type_is_reported(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.extra_imports.append('  (import "env" "proxy_log" (func (param i32 i32) (result i32)))')
    with pytest.raises(MissingImportsError) as info:
        proxy_wasm_host.load_plugin(build(probe), name="badtype")
    assert len(info.value.missing) == 1
    assert info.value.missing[0].startswith("env.proxy_log (imported as")


def test_unknown_wasi_import_is_reported(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.extra_imports.append(
        '  (import "wasi_snapshot_preview1" "proc_raise" (func (param i32) (result i32)))'
    )
    with pytest.raises(MissingImportsError) as info:
        proxy_wasm_host.load_plugin(build(probe), name="wasi")
    assert info.value.missing == ["wasi_snapshot_preview1.proc_raise"]


def test_wasi_unstable_module_name_is_linked(proxy_wasm_host: Host) -> None:
    probe = Probe()
    probe.extra_imports.append('  (import "wasi_unstable" "proc_exit" (func (param i32)))')
    plugin = proxy_wasm_host.load_plugin(build(probe), name="unstable")
    assert plugin.failed is None


# -- allocator -------------------------------------------------------------------------------------------


def allocators_module(*exports: str) -> Probe:
    """Each exported allocator records its number in slot 10 and delegates to the bump allocator."""
    probe = Probe(allocator=None)
    for number, name in enumerate(exports, start=1):
        probe.extra.append(
            f'  (func (export "{name}") (param $n i32) (result i32)\n'
            f"    (i32.store (i32.const {slot(10)}) (i32.const {number})) (call $malloc (local.get $n)))"
        )
    probe.on(
        "proxy_on_configure",
        "(drop (call $proxy_get_buffer_bytes (i32.const 7) (i32.const 0) (i32.const 100)"
        " (i32.const 16) (i32.const 20)))",
    )
    return probe


@pytest.mark.parametrize(
    "order", [("malloc", "proxy_on_memory_allocate"), ("proxy_on_memory_allocate", "malloc")]
)
def test_malloc_is_preferred_over_proxy_on_memory_allocate(
    proxy_wasm_host: Host, order: tuple[str, str]
) -> None:
    plugin = proxy_wasm_host.load_plugin(build(allocators_module(*order)), plugin_config="cfg", name="alloc")
    assert slots(plugin, 1, first=10) == [order.index("malloc") + 1]


def test_proxy_on_memory_allocate_alone_is_used(proxy_wasm_host: Host) -> None:
    plugin = proxy_wasm_host.load_plugin(
        build(allocators_module("proxy_on_memory_allocate")), plugin_config="cfg", name="alloc"
    )
    assert slots(plugin, 1, first=10) == [1]


def test_missing_allocator_fails_to_load(proxy_wasm_host: Host) -> None:
    with pytest.raises(ModuleLoadError, match="missing malloc"):
        proxy_wasm_host.load_plugin(build(Probe(allocator=None)), name="noalloc")


def test_missing_memory_export_fails_to_load(proxy_wasm_host: Host) -> None:
    with pytest.raises(ModuleLoadError, match="no memory"):
        proxy_wasm_host.load_plugin(build(Probe(memory=False)), name="nomem")


def test_memory_export_under_another_name_is_used(proxy_wasm_host: Host) -> None:
    probe = Probe(memory=False)
    probe.extra.append('  (export "mem0" (memory 0))')
    probe.on(
        "proxy_on_vm_start",
        f"(i32.store (i32.const {slot(0)}) (call $proxy_log (i32.const 2) {probe.s('hi')}))",
    )
    plugin = proxy_wasm_host.load_plugin(build(probe), name="mem0")
    assert slots(plugin, 1) == [0]
    assert proxy_wasm_host.log_messages("info") == ["hi"]


# -- start functions -------------------------------------------------------------------------------------


def start_module(*exports: str, body: dict[str, str] | None = None) -> Probe:
    probe = Probe()
    signature = {
        "_initialize": "",
        "_start": "",
        "main": "(param i32 i32) (result i32)",
        "__main_void": "(result i32)",
    }
    for name in exports:
        code = (body or {}).get(name, probe.log(name))
        if name == "main":
            code += (
                f" (i32.store (i32.const {slot(0)}) (local.get 0))"
                f" (i32.store (i32.const {slot(1)}) (local.get 1)) (i32.const 7)"
            )
        elif name == "__main_void":
            code += " (i32.const 0)"
        probe.extra.append(f'  (func (export "{name}") {signature[name]} {code})')
    probe.on("proxy_on_vm_start", probe.log("vm_start"))
    return probe


@pytest.mark.parametrize(
    ("exports", "expected"),
    [
        (("_initialize", "main"), ["_initialize", "main", "vm_start"]),
        (("main", "_initialize"), ["_initialize", "main", "vm_start"]),
        (("_initialize", "_start"), ["_initialize", "vm_start"]),
        (("_start",), ["_start", "vm_start"]),
        (("main",), ["vm_start"]),
        (("_initialize", "main", "__main_void"), ["_initialize", "main", "vm_start"]),
    ],
)
def test_start_functions(proxy_wasm_host: Host, exports: tuple[str, ...], expected: list[str]) -> None:
    plugin = proxy_wasm_host.load_plugin(build(start_module(*exports)), name="start")
    assert proxy_wasm_host.log_messages("info") == expected
    if "main" in expected:
        assert slots(plugin, 2) == [0, 0]


def test_trap_in_start_function_fails_the_load(proxy_wasm_host: Host) -> None:
    probe = start_module("_initialize", body={"_initialize": "(unreachable)"})
    with pytest.raises(ModuleLoadError, match="start function _initialize failed: unreachable"):
        proxy_wasm_host.load_plugin(build(probe), name="trap")


def test_proc_exit_in_start_fails_the_load_as_proc_exit(proxy_wasm_host: Host) -> None:
    probe = start_module("_start", body={"_start": "(call $proc_exit (i32.const 3))"})
    with pytest.raises(ModuleLoadError, match=r"_start failed: proc_exit: proc_exit\(3\)"):
        proxy_wasm_host.load_plugin(build(probe), name="exit")


MAIN_VOID_SCRIPT = """
import sys
sys.path.insert(0, {tests!r})
from test_abi_loading import start_module
from wat_builder import build
from pytest_proxy_wasm import Host, HostOptions
with Host(options=HostOptions(thread_vms=False)) as host:
    host.load_plugin(build(start_module("_initialize", "__main_void")), name="mv")
    print(host.log_messages("info"))
"""


def test_initialize_then_main_void(tmp_path: Path) -> None:
    script = tmp_path / "main_void.py"
    script.write_text(MAIN_VOID_SCRIPT.format(tests=str(Path(__file__).parent)))
    result = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "['_initialize', '__main_void', 'vm_start']"


def test_load_plugin_accepts_bytearray_without_a_name(proxy_wasm_host: Host) -> None:
    import wasmtime

    plugin = proxy_wasm_host.load_plugin(wasmtime.wat2wasm(Probe().wat()))
    assert plugin.name == "plugin"
