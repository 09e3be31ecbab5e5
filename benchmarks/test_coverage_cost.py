"""The cost of plugin coverage (issue 23): whole exchanges instrumented against plain, on the headers
sample of every SDK, and the instrumentation itself for a Go module (3.4 MB), uncached and cached.

Run: ``python -m pytest benchmarks/test_coverage_cost.py --benchmark-only -p no:xdist
--benchmark-timer=time.process_time --benchmark-group-by=func``
(docs/coverage.md quotes the figures).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_proxy_wasm import Host, HostOptions, Runtime
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector
from pytest_proxy_wasm.plugin_coverage.instrument import instrument

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
MODULES = {
    "rust": FIXTURES / "rust" / "headers.wasm",
    "go": FIXTURES / "go" / "headers.wasm",
    "assemblyscript": FIXTURES / "assemblyscript" / "headers.wasm",
    "c": FIXTURES / "c" / "c_headers.wasm",
    "rust-dwarf": FIXTURES / "rust" / "headers_debug.wasm",  # line tables: block counters too
}
HEADERS = [("user-agent", "bench"), ("accept", "*/*")] + [(f"x-req-{i}", "value") for i in range(4)]


@pytest.fixture(params=["plain", "coverage"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def host(mode: str) -> Iterator[Host]:
    runtime = Runtime(cache_dir=None)
    if mode == "coverage":
        runtime.coverage = CoverageCollector(None)
    host = Host(runtime, HostOptions())
    yield host
    host.close()
    runtime.close()


@pytest.mark.parametrize("language", list(MODULES))
def test_exchange(benchmark: pytest.FixtureRequest, host: Host, language: str, mode: str) -> None:
    plugin = host.load_plugin(MODULES[language])

    def exchange() -> None:
        host.request(plugin, path="/bench", headers=HEADERS, upstream_body="ok")

    benchmark(exchange)  # type: ignore[operator]
    assert host.request(plugin, path="/bench").status == 200


def test_instrument_go_uncached(benchmark: pytest.FixtureRequest) -> None:
    data = MODULES["go"].read_bytes()
    result = benchmark.pedantic(instrument, args=(data, "go"), rounds=2, iterations=1)  # type: ignore[attr-defined]
    assert len(result.counters) > 1_000  # an entry counter per function and one per dispatch segment


def test_instrument_go_cached(benchmark: pytest.FixtureRequest, tmp_path: Path) -> None:
    data = MODULES["go"].read_bytes()
    CoverageCollector(tmp_path).instrument("go", data)  # fills the disk cache

    def cached() -> bytes:
        return CoverageCollector(tmp_path).instrument("go", data)

    result = benchmark.pedantic(cached, rounds=3, iterations=1)  # type: ignore[attr-defined]
    assert result[:4] == b"\0asm"


@pytest.fixture
def runtime(mode: str) -> Iterator[Runtime]:
    runtime = Runtime(cache_dir=None)
    if mode == "coverage":
        runtime.coverage = CoverageCollector(None)
    yield runtime
    runtime.close()


@pytest.mark.parametrize("language", list(MODULES))
def test_test_cycle(benchmark: pytest.FixtureRequest, runtime: Runtime, language: str, mode: str) -> None:
    """What one test pays: a new host, the plugin started (VMs made), one exchange, the host closed
    (with coverage: every VM's counters read back)."""
    compiled = runtime.load(MODULES[language])

    def cycle() -> None:
        with Host(runtime, HostOptions()) as host:
            host.request(host.load_plugin(compiled), path="/bench", headers=HEADERS, upstream_body="ok")

    benchmark(cycle)  # type: ignore[operator]
