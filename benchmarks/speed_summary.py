"""One table of the issue-15 figures for a source tree, to compare two revisions on the same machine:

    python benchmarks/speed_summary.py [SRC_DIR]          # default: this checkout's src/
    git worktree add /tmp/old <commit> && python benchmarks/speed_summary.py /tmp/old/src

Prints JSON: [min, median] process-CPU µs per whole exchange (the SDK headers samples and an empty
chain), per wrk-shaped exchange (the request ``test_envoy_ratio.py`` sends), fast versus checked call
paths, and per fresh host + plugin (Envoy's three start-up VMs, or one). Fixtures come from this
checkout, so both revisions run the same modules.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODULES = {
    "rust": "rust/headers.wasm",
    "go": "go/headers.wasm",
    "assemblyscript": "assemblyscript/headers.wasm",
    "c": "c/c_headers.wasm",
}
HEADERS = [("user-agent", "bench"), ("accept", "*/*")] + [(f"x-req-{i}", "value") for i in range(4)]
UPSTREAM = [("content-type", "text/plain")] + [(f"x-resp-{i}", "value") for i in range(4)]


def _timed(run: Callable[[int], None], n: int, rounds: int = 7) -> list[float]:
    run(max(1, n // 5))
    per_call = []
    for _ in range(rounds):
        start = time.process_time()
        run(n)
        per_call.append((time.process_time() - start) * 1e6 / n)
    return [round(min(per_call), 1), round(statistics.median(per_call), 1)]


def summary() -> dict[str, list[float]]:
    from pytest_proxy_wasm import Host, HostOptions, Runtime

    runtime = Runtime(cache_dir=None)
    out: dict[str, list[float]] = {}

    def exchanges(host: Host, chain: list, **request: object) -> Callable[[int], None]:
        def run(n: int) -> None:
            for _ in range(n):
                host.request(chain, **request)  # type: ignore[arg-type]
                host.records.clear()

        return run

    bench = {"path": "/bench", "headers": HEADERS, "upstream_headers": UPSTREAM, "upstream_body": "ok"}
    for name in ["empty", *MODULES]:
        host = Host(runtime, HostOptions())
        chain = [] if name == "empty" else [host.load_plugin(FIXTURES / MODULES[name])]
        out[f"exchange[{name}]"] = _timed(exchanges(host, chain, **bench), 1000)
        host.close()
    wrk = {"path": "/", "authority": "127.0.0.1", "upstream_headers": [("content-type", "text/plain")]}
    for checked in (False, True):
        host = Host(runtime, HostOptions(checked_calls=checked))
        chain = [host.load_plugin(FIXTURES / MODULES["rust"])]
        label = "checked" if checked else "fast"
        out[f"{label}[rust]"] = _timed(exchanges(host, chain, **bench), 200 if checked else 1000)
        if not checked:
            out["wrk-shaped[rust]"] = _timed(exchanges(host, chain, **wrk, upstream_body="ok"), 1000)
        host.close()
    for name, path in MODULES.items():
        compiled = runtime.load(FIXTURES / path)
        for thread_vms in (True, False):

            def fresh(n: int, thread_vms: bool = thread_vms, compiled: object = compiled) -> None:
                for _ in range(n):
                    Host(runtime, HostOptions(thread_vms=thread_vms)).load_plugin(compiled).host.close()  # type: ignore[arg-type]

            label = "thread-vms" if thread_vms else "one-vm"
            out[f"fresh_vm[{name},{label}]"] = _timed(fresh, 10 if name == "go" else 40, 5)
    runtime.close()
    return out


if __name__ == "__main__":
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[1] / "src"
    sys.path.insert(0, str(source))
    print(json.dumps(summary(), indent=1))
