"""What the check's speed-ups (issue 15) must not change: the generated inputs, the log tails kept, what a
case sees of its exchanges."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from pytest_proxy_wasm.conformance.cases import CaseRun, Target
from pytest_proxy_wasm.conformance.http_robustness import _HEADERS, from_regex
from pytest_proxy_wasm.conformance.recording import log_line, plugin_lines
from pytest_proxy_wasm.host.runtime import Runtime
from pytest_proxy_wasm.outcome import LogRecord

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

PATTERN = r"\A/[a-zA-Z0-9/._~%-]{0,30}(\?[a-z0-9=&]{0,12})?\Z"


def draws(strategy: st.SearchStrategy[Any], used_seed: int, count: int = 60) -> list[Any]:
    out: list[Any] = []

    @seed(used_seed)
    @settings(max_examples=count, database=None, deadline=None, phases=(Phase.generate,),
              suppress_health_check=list(HealthCheck))  # fmt: skip
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out


def test_from_regex_draws_what_the_default_alphabet_draws() -> None:
    # from_regex's default alphabet is characters(codec="utf-8"); ours is the same set without the codec
    for used_seed in (1, 7):
        assert draws(from_regex(PATTERN), used_seed) == draws(st.from_regex(PATTERN), used_seed)


def test_surrounding_draws_are_unchanged() -> None:
    # in a dictionary of strategies, as the request strategies use it, the later draws stay the same too
    def request(path: st.SearchStrategy[str]) -> st.SearchStrategy[dict[str, Any]]:
        return st.fixed_dictionaries({"path": path, "headers": _HEADERS, "body": st.binary(max_size=64)})

    assert draws(request(from_regex(PATTERN)), 3) == draws(request(st.from_regex(PATTERN)), 3)


def test_plugin_lines_are_the_tail_of_all_plugin_lines() -> None:
    sources = ["plugin", "host", "stderr", "plugin", "host", "host", "stdout"]
    records = [LogRecord(i % 5, f"line {i}\n", source=sources[i % len(sources)]) for i in range(300)]
    every = [log_line(r) for r in records if r.source != "host"]
    for count in (1, 20, 40, 299, 400):
        assert plugin_lines(records, count) == every[-count:]
    assert plugin_lines([], 40) == []
    assert plugin_lines([LogRecord(1, "x", source="host")], 40) == []


def test_recorded_exchange_drops_only_the_misuse_list() -> None:
    runtime = Runtime(cache_dir=None)
    try:
        run = CaseRun(Target(module=FIXTURES / "hostile" / "misuse_proxy_log.wasm"), runtime)
        host, plugin = run.started()
        first = host.request(plugin, path="/a")
        second = host.request(plugin, path="/b")
        assert first.misuse and len(second.misuse) > len(first.misuse)  # the case still sees them all
        recorded = [e.outcome for e in run.exchanges]
        assert [o.misuse for o in recorded] == [[], []]
        assert recorded == [dataclasses.replace(o, misuse=[]) for o in (first, second)]
        run.close()
    finally:
        runtime.close()
