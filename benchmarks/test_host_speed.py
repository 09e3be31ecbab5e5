"""Host speed (pytest-benchmark). Run: ``python -m pytest benchmarks --benchmark-only -p no:xdist``.

The lifecycle target is 25,000 full request lifecycles per second on one core: 8 request and 8 response
headers, the plugin reads the headers and adds one header each way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import wasmtime

from pytest_proxy_wasm import Host, HostOptions, Runtime
from pytest_proxy_wasm.host.headers import HeaderMap

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
REQUEST = [
    (b":method", b"GET"),
    (b":path", b"/bench"),
    (b":scheme", b"http"),
    (b":authority", b"example.com"),
] + [(f"x-req-{i}".encode(), b"value") for i in range(4)]
RESPONSE = [(b":status", b"200")] + [(f"x-resp-{i}".encode(), b"value") for i in range(7)]


@pytest.fixture(scope="module")
def module_bytes() -> bytes:
    return wasmtime.wat2wasm((FIXTURES / "wat" / "headers_021.wat").read_text())


@pytest.fixture(params=["unchecked", "checked"])
def host(request: pytest.FixtureRequest) -> Iterator[Host]:
    """The host on the fast unchecked C-API path, and on wasmtime-py's ordinary path for the ratio."""
    runtime = Runtime(cache_dir=None)
    host = Host(runtime, HostOptions(checked_calls=request.param == "checked"))
    yield host
    host.close()
    runtime.close()


def test_call_into_wasm(benchmark: Callable[..., object], host: Host, module_bytes: bytes) -> None:
    plugin = host.load_plugin(module_bytes)
    root = plugin.root
    benchmark(plugin.vm.call, root, "proxy_on_done", root.id)


def test_hostcall(benchmark: Callable[..., object], host: Host) -> None:
    loop = wasmtime.wat2wasm("""(module
      (import "env" "proxy_get_log_level" (func $lvl (param i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "proxy_abi_version_0_2_1"))
      (func (export "malloc") (param i32) (result i32) (i32.const 1024))
      (func (export "proxy_on_tick") (param i32)
        (local $n i32) (local.set $n (i32.const 1000))
        (loop $l (drop (call $lvl (i32.const 16)))
          (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n)))))""")
    plugin = host.load_plugin(loop)
    root = plugin.root
    benchmark(plugin.vm.call, root, "proxy_on_tick", root.id)  # 1000 hostcalls per round


def test_request_lifecycle(benchmark: Callable[..., object], host: Host, module_bytes: bytes) -> None:
    plugin = host.load_plugin(module_bytes)

    def lifecycle() -> None:
        stream = plugin.http_stream()
        stream.on_request_headers(HeaderMap(REQUEST), True)
        stream.on_response_headers(HeaderMap(RESPONSE), True)
        stream.complete()
        host.records.clear()

    benchmark(lifecycle)


def test_whole_exchange(benchmark: Callable[..., object], host: Host, module_bytes: bytes) -> None:
    plugin = host.load_plugin(module_bytes)
    headers = [(k.decode(), v.decode()) for k, v in REQUEST[4:]]
    upstream = [(k.decode(), v.decode()) for k, v in RESPONSE[1:]]

    def exchange() -> None:
        host.request(plugin, path="/bench", headers=headers, upstream_headers=upstream)
        host.records.clear()

    benchmark(exchange)


def test_module_load_from_disk_cache(benchmark: Callable[..., object], tmp_path: Path) -> None:
    module = FIXTURES / "rust" / "headers.wasm"
    Runtime(cache_dir=tmp_path).load(module)  # fill the disk cache

    def load() -> None:
        Runtime(cache_dir=tmp_path).load(module)

    benchmark(load)


def test_fresh_vm(benchmark: Callable[..., object]) -> None:
    runtime = Runtime(cache_dir=None)
    compiled = runtime.load(FIXTURES / "rust" / "headers.wasm")

    def fresh() -> None:
        fresh_host = Host(runtime, HostOptions(thread_vms=False))  # one VM (not canary + 2 threads)
        fresh_host.load_plugin(compiled)
        fresh_host.close()

    benchmark(fresh)
