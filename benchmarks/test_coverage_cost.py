"""The cost of plugin coverage (issue 23): whole exchanges instrumented against plain on real samples
(the headers sample of every SDK, the body samples, the 6.5 MB Go gateway with its configuration), and
the instrumentation itself for the largest Go fixture (entry counters, the block walk a module with DWARF
gets, and what the collector pays uncached and from its disk cache).

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
    "rust-body": FIXTURES / "rust" / "body.wasm",
    "go-body": FIXTURES / "go" / "body.wasm",
    "go-gateway": FIXTURES / "go" / "gateway.wasm",  # CORS regexps, block rules, rate limit
}
CONFIGS = {
    "go-gateway": (FIXTURES.parent / "plugins_under_test" / "go" / "gateway" / "config.json").read_bytes()
}
HEADERS = [("user-agent", "bench"), ("accept", "*/*"), ("origin", "https://api.example.com")] + [
    (f"x-req-{i}", "value") for i in range(4)
]
BODY = b'{"name": "bench", "items": [1, 2, 3]}'
# The largest Go fixture (the gateway, 6.5 MB): what the instrumentation benchmarks take.
LARGEST_GO = max((FIXTURES / "go").glob("*.wasm"), key=lambda path: path.stat().st_size)
DEBUG_LINE = b"\x00\x0c\x0b.debug_line"  # an empty line table: forces the block walk


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
    plugin = host.load_plugin(MODULES[language], plugin_config=CONFIGS.get(language))

    def exchange() -> None:
        host.request(plugin, path="/bench", headers=HEADERS, body=BODY, upstream_body="ok")

    benchmark(exchange)  # type: ignore[operator]
    assert host.request(plugin, path="/bench", headers=HEADERS, body=BODY).status == 200


@pytest.mark.parametrize("walk", ["go", "blocks"])
def test_instrument_largest_go(benchmark: pytest.FixtureRequest, walk: str) -> None:
    """``instrument`` alone: what a Go module gets (entry and pclntab segment counters), or every basic
    block (forced with an empty ``.debug_line``, as with DWARF)."""
    data = LARGEST_GO.read_bytes() + (DEBUG_LINE if walk == "blocks" else b"")
    result = benchmark.pedantic(instrument, args=(data, "go"), rounds=2, iterations=1)  # type: ignore[attr-defined]
    benchmark.extra_info.update(module=LARGEST_GO.name, bytes=len(data), counters=len(result.counters))  # type: ignore[attr-defined]
    assert len(result.counters) > (10_000 if walk == "blocks" else 1_000)


def test_instrument_largest_go_uncached(benchmark: pytest.FixtureRequest, tmp_path: Path) -> None:
    """What a session pays the first time: validate the original, instrument, store in the disk cache."""
    data = LARGEST_GO.read_bytes()
    rounds = iter(range(100))

    def uncached() -> bytes:
        return CoverageCollector(tmp_path / str(next(rounds))).instrument("go", data)

    result = benchmark.pedantic(uncached, rounds=2, iterations=1)  # type: ignore[attr-defined]
    assert result[:4] == b"\0asm"


def test_instrument_largest_go_cached(benchmark: pytest.FixtureRequest, tmp_path: Path) -> None:
    data = LARGEST_GO.read_bytes()
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
            plugin = host.load_plugin(compiled, plugin_config=CONFIGS.get(language))
            host.request(plugin, path="/bench", headers=HEADERS, body=BODY, upstream_body="ok")

    benchmark(cycle)  # type: ignore[operator]
