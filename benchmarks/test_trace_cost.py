"""What tracing costs (pytest-benchmark). Run: ``python -m pytest benchmarks --benchmark-only -p no:xdist``.

Each case runs with tracing off (the plain trampolines and call path: compare with
``test_host_speed.py``, which is the same work) and on (every hostcall and callback recorded, with
arguments decoded and regions read). A misuse status on every hostcall measures the diagnostic path.
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
LOOP = """(module
  (import "env" "{name}" (func $call (param i32) (result i32)))
  (memory (export "memory") 1)
  (func (export "proxy_abi_version_0_2_1"))
  (func (export "malloc") (param i32) (result i32) (i32.const 1024))
  (func (export "proxy_on_tick") (param i32)
    (local $n i32) (local.set $n (i32.const 1000))
    (loop $l (drop (call $call (i32.const {arg})))
      (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br_if $l (local.get $n)))))"""


@pytest.fixture(params=["off", "on"])
def host(request: pytest.FixtureRequest) -> Iterator[Host]:
    runtime = Runtime(cache_dir=None)
    host = Host(runtime, HostOptions(trace=request.param == "on"))
    yield host
    host.close()
    runtime.close()


def _tick(host: Host, name: str, arg: int) -> Callable[[], object]:
    plugin = host.load_plugin(wasmtime.wat2wasm(LOOP.format(name=name, arg=arg)))
    root, call = plugin.root, plugin.vm.call
    tracer = host.tracer

    def tick() -> None:
        call(root, "proxy_on_tick", root.id)
        if tracer is not None:
            tracer.records.clear()
        host.misuse.clear()

    return tick


def test_hostcall_ok(benchmark: Callable[..., object], host: Host) -> None:
    """1000 proxy_get_log_level calls (OK) per round."""
    benchmark(_tick(host, "proxy_get_log_level", 16))


def test_hostcall_misuse(benchmark: Callable[..., object], host: Host) -> None:
    """1000 proxy_get_log_level calls with an out-of-range pointer (INVALID_MEMORY_ACCESS) per round."""
    benchmark(_tick(host, "proxy_get_log_level", 0x7FFF0000))


def test_request_lifecycle(benchmark: Callable[..., object], host: Host) -> None:
    plugin = host.load_plugin(wasmtime.wat2wasm((FIXTURES / "wat" / "headers_021.wat").read_text()))
    tracer = host.tracer

    def lifecycle() -> None:
        stream = plugin.http_stream()
        stream.on_request_headers(HeaderMap(REQUEST), True)
        stream.on_response_headers(HeaderMap(RESPONSE), True)
        stream.complete()
        host.records.clear()
        if tracer is not None:
            tracer.records.clear()

    benchmark(lifecycle)
