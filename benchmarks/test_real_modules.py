"""Speed on the real SDK sample plugins (issue 15), beside the WAT figures of test_host_speed.py.

Run: ``python -m pytest benchmarks/test_real_modules.py --benchmark-only -p no:xdist
--benchmark-timer=time.process_time`` (process CPU time: the figures hold on a loaded machine).
Each case is parametrized over the headers samples of every SDK and an empty chain (no plugin).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pytest_proxy_wasm import Host, HostOptions, Runtime
from pytest_proxy_wasm.host.headers import HeaderMap
from pytest_proxy_wasm.host.plugin import Plugin
from pytest_proxy_wasm.host.runtime import CompiledModule

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MODULES = {
    "rust": FIXTURES / "rust" / "headers.wasm",
    "go": FIXTURES / "go" / "headers.wasm",
    "assemblyscript": FIXTURES / "assemblyscript" / "headers.wasm",  # root id "" like the others
    "c": FIXTURES / "c" / "c_headers.wasm",
}
HEADERS = [("user-agent", "bench"), ("accept", "*/*")] + [(f"x-req-{i}", "value") for i in range(4)]
UPSTREAM = [("content-type", "text/plain")] + [(f"x-resp-{i}", "value") for i in range(4)]
REQUEST = [
    (b":method", b"GET"),
    (b":path", b"/bench"),
    (b":scheme", b"http"),
    (b":authority", b"example.com"),
] + [(k.encode(), v.encode()) for k, v in HEADERS]
RESPONSE = [(b":status", b"200")] + [(k.encode(), v.encode()) for k, v in UPSTREAM]


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    runtime = Runtime(cache_dir=None)
    yield runtime
    runtime.close()


def _host(runtime: Runtime, options: HostOptions) -> Iterator[Host]:
    host = Host(runtime, options)
    yield host
    host.close()


@pytest.fixture(params=["empty", *MODULES])
def chain_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(params=list(MODULES))
def module_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def host(runtime: Runtime) -> Iterator[Host]:
    yield from _host(runtime, HostOptions())


def test_whole_exchange(benchmark: Callable[..., object], host: Host, chain_name: str) -> None:
    """``Host.request``: request headers, upstream, response headers, stream done; the Outcome built."""
    chain = [] if chain_name == "empty" else [host.load_plugin(MODULES[chain_name])]

    def exchange() -> None:
        host.request(chain, path="/bench", headers=HEADERS, upstream_headers=UPSTREAM, upstream_body="ok")
        host.records.clear()

    benchmark(exchange)


@pytest.fixture(params=[False, True], ids=["fast", "checked"])
def checked_host(runtime: Runtime, request: pytest.FixtureRequest) -> Iterator[Host]:
    yield from _host(runtime, HostOptions(checked_calls=request.param))


def test_whole_exchange_rust_fast_and_checked(benchmark: Callable[..., object], checked_host: Host) -> None:
    """The fast/checked ratio on a real module: divide the two medians (target: at least 8x)."""
    plugin = checked_host.load_plugin(MODULES["rust"])

    def exchange() -> None:
        checked_host.request(plugin, path="/bench", headers=HEADERS, upstream_headers=UPSTREAM)
        checked_host.records.clear()

    benchmark(exchange)


def test_stream_lifecycle_rust_fast_and_checked(benchmark: Callable[..., object], checked_host: Host) -> None:
    """The fast/checked ratio on the stream's callbacks alone (no exchange around them)."""
    benchmark(_lifecycle(checked_host, checked_host.load_plugin(MODULES["rust"])))


def test_stream_lifecycle(benchmark: Callable[..., object], host: Host, module_name: str) -> None:
    """The stream's callbacks alone (no filter walk, no Outcome): headers each way, then done."""
    benchmark(_lifecycle(host, host.load_plugin(MODULES[module_name])))


def _lifecycle(host: Host, plugin: Plugin) -> Callable[[], None]:
    def lifecycle() -> None:
        stream = plugin.http_stream()
        stream.on_request_headers(HeaderMap(REQUEST), True)
        stream.on_response_headers(HeaderMap(RESPONSE), True)
        stream.complete()
        host.records.clear()

    return lifecycle


@pytest.mark.parametrize("thread_vms", [True, False], ids=["thread-vms", "one-vm"])
def test_fresh_vm(
    benchmark: Callable[..., object], runtime: Runtime, module_name: str, thread_vms: bool
) -> None:
    """A fresh host and plugin per test from a compiled module: Envoy's canary + per-thread VMs by
    default (``thread-vms``), or one VM (``one-vm``, ``HostOptions(thread_vms=False)``)."""
    compiled: CompiledModule = runtime.load(MODULES[module_name])

    def fresh() -> None:
        fresh_host = Host(runtime, HostOptions(thread_vms=thread_vms))
        fresh_host.load_plugin(compiled)
        fresh_host.close()

    benchmark(fresh)


def test_cached_load(benchmark: Callable[..., object], module_name: str, tmp_path: Path) -> None:
    """A new Runtime loading the module from the on-disk compiled cache (a new pytest session)."""
    module = MODULES[module_name]
    warm = Runtime(cache_dir=tmp_path)
    warm.load(module)  # fill the disk cache
    warm.close()

    def load() -> None:
        cold = Runtime(cache_dir=tmp_path)
        cold.load(module)
        cold.close()

    benchmark(load)


def test_in_process_cached_load(benchmark: Callable[..., object], runtime: Runtime, module_name: str) -> None:
    """``Runtime.load`` of a path already compiled in this process (read + sha256 + dict lookup)."""
    module = MODULES[module_name]
    runtime.load(module)
    benchmark(runtime.load, module)
