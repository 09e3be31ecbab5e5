"""The one hostcall table, the registered implementations and docs/hostcalls.md agree."""

from __future__ import annotations

from pathlib import Path

from pytest_proxy_wasm import Host
from pytest_proxy_wasm.host.abi.signatures import CALLBACKS, HOSTCALLS
from pytest_proxy_wasm.host.coverage import driven_callbacks, render
from pytest_proxy_wasm.host.hostcalls import IMPLEMENTATIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "hostcalls.md"


def test_every_hostcall_in_the_table_is_implemented() -> None:
    missing = [h.name for h in HOSTCALLS if h.name not in IMPLEMENTATIONS]
    assert missing == []


def test_every_implementation_is_in_the_table() -> None:
    assert set(IMPLEMENTATIONS) <= {h.name for h in HOSTCALLS}


def test_every_callback_is_called_by_the_host() -> None:
    assert {c.name for c in CALLBACKS} - driven_callbacks() == set()


def test_generated_doc_is_current() -> None:
    assert DOC.read_text() == render(), (
        "regenerate: python -m pytest_proxy_wasm.host.coverage > docs/hostcalls.md"
    )


def test_foreign_function_callback_sees_its_arguments(proxy_wasm_host: Host, wat) -> None:
    module = wat("""(module
      (import "env" "proxy_get_buffer_bytes" (func $get (param i32 i32 i32 i32 i32) (result i32)))
      (import "env" "proxy_log" (func $log (param i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (global $heap (mut i32) (i32.const 4096))
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param $n i32) (result i32)
        (global.get $heap) (global.set $heap (i32.add (global.get $heap) (local.get $n))))
      (func (export "proxy_on_foreign_function") (param $root i32) (param $id i32) (param $size i32)
        (drop (call $get (i32.const 8) (i32.const 0) (local.get $size) (i32.const 16) (i32.const 20)))
        (drop (call $log (i32.const 2) (i32.load (i32.const 16)) (i32.load (i32.const 20))))))""")
    plugin = proxy_wasm_host.load_plugin(module)
    plugin.on_foreign_function(7, b"dns answer")
    assert proxy_wasm_host.log_messages("info") == ["dns answer"]
    assert plugin.vm.calls["proxy_on_foreign_function"] == 1
