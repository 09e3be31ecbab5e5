"""Every fixture module behaves the same with and without plugin coverage (issue 23): the conformance
verdict of every case (fixed seed and clock) and the outcomes, logs and hostcall traces of a fixed set
of exchanges, apart from time. The modules are read from ``fixtures/*/manifest.json``, so a new fixture
is covered without touching this file; hostile ones (broken, trapping, looping) must fail the same way.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.conformance.cases import CaseRun, Target
from pytest_proxy_wasm.conformance.classify import classify
from pytest_proxy_wasm.conformance.verdicts import run_case, selected
from pytest_proxy_wasm.host.host import Host
from pytest_proxy_wasm.host.options import HostOptions
from pytest_proxy_wasm.host.runtime import Runtime
from pytest_proxy_wasm.plugin_coverage.collector import CoverageCollector

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MODULES = sorted(
    entry["file"]
    for manifest in FIXTURES.glob("*/manifest.json")
    for entry in json.loads(manifest.read_text())["modules"]
)
# Every area that runs in-process, in three groups (a looping module spends ~30 s in each);
# performance (wall-time figures) and differential (Envoy) are left out.
AREA_GROUPS = {
    "start": ("module", "lifecycle", "tcp_robustness", "service"),
    "http": ("http_robustness",),
    "isolation": ("isolation", "failure_policy", "resources"),
}
SEED, EXAMPLES, START_NS = 23, 3, 1_700_000_000_000_000_000
DEADLINE_S = 0.5  # per callback: a looping module costs half the default second per case
# Hostcalls whose answer is the time: what they wrote back is left out of the comparison.
CLOCKS = ("proxy_get_current_time_nanoseconds", "proxy_get_monotonic_time_nanoseconds", "clock_time_get")
# Timings, and hypothesis's example count (its shrinking stops on time when the test is slow).
_TIMING_KEYS = ("time", "elapsed", "duration", "_ns", "_us", "fuel", "examples_run")


@pytest.fixture(scope="module")
def runtimes(pytestconfig: pytest.Config) -> Iterator[tuple[Runtime, Runtime]]:
    """A plain and a coverage runtime; compiled modules are cached on disk as in any session."""
    cache = pytestconfig.getoption("--proxy-wasm-cache-dir")
    plain, covered = Runtime(cache if cache is not None else "default"), Runtime(cache or "default")
    covered.coverage = CoverageCollector(None)  # instrumented afresh: no stale copy from an older format
    yield plain, covered
    plain.close()
    covered.close()


@pytest.fixture(scope="module")
def classified() -> dict[tuple[int, Path], dict[str, Any]]:
    """Each module's classification per runtime, made once for its three groups of areas."""
    return {}


def without_time(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get("name") in CLOCKS:  # a trace record of a clock: its answer is the time
            value = {k: v for k, v in value.items() if k not in ("wrote", "line")}
        return {k: without_time(v) for k, v in value.items() if not any(t in k for t in _TIMING_KEYS)}
    if isinstance(value, list | tuple):
        return [without_time(v) for v in value]
    return value


def verdicts(
    module: Path, runtime: Runtime, areas: tuple[str, ...], classified: dict[tuple[int, Path], Any]
) -> dict[str, Any]:
    """The classification and the result of every case of ``areas``, and the warnings raised."""
    target = Target(
        module=module, seed=SEED, max_examples=EXAMPLES, start_time_ns=START_NS, deadline_seconds=DEADLINE_S
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if (id(runtime), module) not in classified:
            classified[id(runtime), module] = classify(CaseRun(target, runtime))
        kind = classified[id(runtime), module]
        cases = {case: run_case(case, target, runtime, kind) for case in selected(areas)}
    return {
        "classification": without_time(kind),
        "cases": without_time(cases),
        "warnings": [f"{w.category.__name__}: {w.message}" for w in caught],
    }


def attempt(action: Callable[[], Any]) -> Any:
    """What ``action`` returned (as JSON), or the error it raised (a crash, a refusal): both compared."""
    try:
        result = action()
    except Exception as exc:
        return [type(exc).__name__, str(exc)]
    return result.to_json() if hasattr(result, "to_json") else result


def exchanges(module: Path, runtime: Runtime) -> list[Any]:
    """Two HTTP requests, a TCP connection and 100 ms of ticks on a filter, then the module as a
    service: every outcome, log line and hostcall (a module that does not start: its error)."""
    options = HostOptions(trace=True, start_time_ns=START_NS, deadline_seconds=DEADLINE_S)
    results: list[Any] = []
    with Host(runtime, options) as host:
        try:
            plugin = host.load_plugin(module)
        except Exception as exc:  # a module that does not start must fail the same way
            results.append([type(exc).__name__, str(exc)])
        else:
            for path, headers in (("/", []), ("/admin", [("authorization", "Basic dXNlcjpwYXNz")])):
                request = partial(host.request, plugin, path=path, headers=headers, body=b"hi")
                results.append(attempt(partial(request, upstream_body=b"ok")))
            results.append(
                attempt(
                    lambda: host.connect(plugin, downstream=[b"ping", b"CLOSE"], upstream_reply=[b"pong"])
                )
            )
            results.append(attempt(lambda: host.advance(100)))
        results.append([str(r) for r in host.logs])
        results.append([r.to_json() for r in host.tracer.records] if host.tracer else [])
    with Host(runtime, options) as host:
        results.append(attempt(lambda: [host.load_service(module).name, host.advance(100)]))
        results.append([str(r) for r in host.logs])
        results.append([r.to_json() for r in host.tracer.records] if host.tracer else [])
    return list(without_time(results))


@pytest.mark.parametrize(("fixture", "group"), [(m, g) for m in MODULES for g in AREA_GROUPS])
def test_same_verdicts(
    fixture: str, group: str, runtimes: tuple[Runtime, Runtime], classified: dict[tuple[int, Path], Any]
) -> None:
    module, areas = FIXTURES / fixture, AREA_GROUPS[group]
    plain, covered = runtimes
    expected = verdicts(module, plain, areas, classified)
    assert verdicts(module, covered, areas, classified) == expected
    assert expected["cases"]


@pytest.mark.parametrize("fixture", MODULES)
def test_same_traces(fixture: str, runtimes: tuple[Runtime, Runtime]) -> None:
    module = FIXTURES / fixture
    plain, covered = runtimes
    expected = exchanges(module, plain)
    assert exchanges(module, covered) == expected
    assert any(expected)  # something ran (or failed) and was recorded
