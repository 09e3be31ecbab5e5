"""The instrumented copy behaves as the original: same outcome, logs and hostcall trace (apart from
timings) for the same exchanges, on samples of every language and on hostile modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.host.host import Host
from pytest_proxy_wasm.host.options import HostOptions
from pytest_proxy_wasm.host.runtime import Runtime
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = [
    "c/c_coverage.wasm",
    "c/c_headers.wasm",
    "rust/headers.wasm",
    "rust/body.wasm",
    "go/headers.wasm",
    "go/basic_auth.wasm",
    "assemblyscript/headers.wasm",
    "hostile/trap_request_headers.wasm",
    "hostile/loop_request_headers.wasm",
    "hostile/memory_grow_unbounded.wasm",
]
_TIMING = ("time", "elapsed", "duration", "_ns", "fuel")


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_timings(v) for k, v in value.items() if not any(t in k for t in _TIMING)}
    if isinstance(value, list):
        return [_without_timings(v) for v in value]
    return value


def exchanges(module: Path, coverage: bool) -> list[Any]:
    runtime = Runtime(None)
    if coverage:
        runtime.coverage = CoverageCollector(None)
    options = HostOptions(trace=True, start_time_ns=1_700_000_000_000_000_000, deadline_seconds=0.5)
    results = []
    with Host(runtime, options) as host:
        try:
            plugin = host.load_plugin(module, root_id="")
        except Exception as exc:  # a module that fails to start must fail the same way
            return [type(exc).__name__, str(exc)]
        for path, headers in (("/", []), ("/admin", [("authorization", "Basic dXNlcjpwYXNz")])):
            outcome = host.request(plugin, path=path, headers=headers, body=b"hello", upstream_body=b"ok")
            results.append(_without_timings(outcome.to_json()))
        results.append([str(r) for r in host.logs])
    return results


@pytest.mark.parametrize("fixture", FIXTURES)
def test_same_outcomes_and_traces(fixture: str) -> None:
    module = ROOT / "fixtures" / fixture
    assert exchanges(module, coverage=True) == exchanges(module, coverage=False)
