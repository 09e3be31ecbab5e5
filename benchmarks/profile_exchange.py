"""cProfile of whole exchanges of a sample plugin: ``python benchmarks/profile_exchange.py [MODULE] [N]``
(``MODULE`` may be ``empty``: the exchange with no plugin in the chain).

Prints the top entries by own time and by cumulative time (default: the Rust headers sample, 2000
exchanges of the benchmark's request, after 100 warm-up exchanges).
"""

from __future__ import annotations

import cProfile
import pstats
import sys
import time
from pathlib import Path

from pytest_proxy_wasm import Host, HostOptions, Runtime

ROOT = Path(__file__).resolve().parents[1]
HEADERS = [("user-agent", "bench"), ("accept", "*/*")] + [(f"x-req-{i}", "value") for i in range(4)]
UPSTREAM = [("content-type", "text/plain")] + [(f"x-resp-{i}", "value") for i in range(4)]


def main(argv: list[str]) -> None:
    module = Path(argv[0]) if argv else ROOT / "fixtures" / "rust" / "headers.wasm"
    empty = str(module) == "empty"
    count = int(argv[1]) if len(argv) > 1 else 2000
    runtime = Runtime(cache_dir=None)
    host = Host(runtime, HostOptions())
    chain = [] if empty else [host.load_plugin(module)]

    def run(n: int) -> None:
        for _ in range(n):
            host.request(chain, path="/bench", headers=HEADERS, upstream_headers=UPSTREAM, upstream_body="ok")
            host.records.clear()

    run(100)
    start = time.process_time()
    run(count)
    plain = (time.process_time() - start) * 1e6 / count
    profiler = cProfile.Profile()
    profiler.enable()
    run(count)
    profiler.disable()
    print(f"{module.name}: {plain:.1f} us CPU per exchange without the profiler ({count} exchanges)")
    stats = pstats.Stats(profiler).strip_dirs()
    stats.sort_stats("tottime").print_stats(30)
    stats.sort_stats("cumulative").print_stats(30)
    host.close()
    runtime.close()


if __name__ == "__main__":
    main(sys.argv[1:])
