"""The verdict engine: classification, kind-driven selection, the leak and determinism rules, hang
messages and warnings. Each rule is shown both ways: the false alarm is gone, the real finding stays."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.conformance import REGISTRY, CaseFailure, CaseRun, Target, load_cases
from pytest_proxy_wasm.conformance.classify import classify, skip_reason
from pytest_proxy_wasm.conformance.leaks import WINDOW, judge
from pytest_proxy_wasm.conformance.support import request, sane
from pytest_proxy_wasm.conformance.verdicts import run_case
from pytest_proxy_wasm.host.runtime import Runtime

from .wat_plugins import build, leak_body

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"
MB = 1_000_000


@pytest.fixture(scope="module")
def runtime() -> Iterator[Runtime]:
    load_cases()
    rt = Runtime()
    yield rt
    rt.close()


def verdict(runtime: Runtime, module: Path, case_id: str, **target: Any) -> dict[str, Any]:
    t = Target(module=module.resolve(), seed=1, **target)
    return run_case(case_id, t, runtime, classify(CaseRun(t, runtime)))


@pytest.mark.parametrize(
    ("module", "kind"),
    [
        ("rust/headers.wasm", "http_filter"),
        ("go/headers.wasm", "http_filter"),
        ("go/canary.wasm", "http_filter"),
        ("rust/tcp.wasm", "network_filter"),
        ("go/tcp.wasm", "network_filter"),
        ("rust/service.wasm", "service"),
        ("hostile/trap_tick.wasm", "service"),
        ("hostile/not_wasm.wasm", "unknown"),
        ("hostile/trap_vm_start.wasm", "unknown"),
    ],
)
def test_classification(runtime: Runtime, module: str, kind: str) -> None:
    found = classify(CaseRun(Target(module=FIXTURES / module), runtime))
    assert found["kind"] == kind, found["reason"]
    assert found["reason"]
    if kind != "unknown":
        assert found["abi"] and found["callbacks"] and found["contexts"]["root"]["created"]


def test_network_filter_classification_names_the_sdk_abort(runtime: Runtime) -> None:
    found = classify(CaseRun(Target(module=FIXTURES / "rust/tcp.wasm"), runtime))
    http = found["contexts"]["http"]
    assert (http["created"], http["callback"]) == (False, "proxy_on_request_headers")
    assert found["contexts"]["tcp"]["created"]


def test_cases_outside_the_kind_are_skipped_with_the_reason(runtime: Runtime) -> None:
    tcp = classify(CaseRun(Target(module=FIXTURES / "rust/tcp.wasm"), runtime))
    assert skip_reason(REGISTRY["http_robustness.header_maps"], tcp) == (
        "applies to HTTP filters; this module is a network (L4) filter"
    )
    assert skip_reason(REGISTRY["tcp_robustness.chunking"], tcp) is None
    assert skip_reason(REGISTRY["module.valid_wasm"], tcp) is None
    # Checked as an HTTP filter: one case reports the missing context, the other HTTP cases skip.
    assert skip_reason(REGISTRY["lifecycle.http_context"], tcp, "http_filter") is None
    assert "lifecycle.http_context reports it" in str(
        skip_reason(REGISTRY["http_robustness.header_maps"], tcp, "http_filter")
    )
    assert skip_reason(REGISTRY["lifecycle.start_configure"], tcp, "http_filter") is None


def test_network_filter_as_http_filter_is_one_finding_naming_the_503(runtime: Runtime) -> None:
    result = verdict(runtime, FIXTURES / "rust/tcp.wasm", "lifecycle.http_context", kind="http_filter")
    assert result["outcome"] == "failed"
    assert "creates no HTTP context" in result["message"] and "503" in result["message"]


# -- the leak rule -------------------------------------------------------------------------------


def curve_from(points: dict[int, float], total: int) -> list[tuple[int, int]]:
    """A step curve through measured points (MB at request n), sampled as the case samples it."""
    marks = sorted(points)
    out = []
    for n in range(0, total + 1, WINDOW // 5):
        at = max(m for m in marks if m <= n)
        out.append((n, int(points[at] * MB)))
    return out


def test_go_heap_warm_up_is_not_a_leak() -> None:
    # Measured on a Go (wasip1) module: 3.4, 5.8, 7.3, 8.1, 8.4 MB at 0/1000/2000/3000/5000, flat at 8000.
    measured = {0: 3.4, 1000: 5.8, 2000: 7.3, 3000: 8.1, 5000: 8.4}
    verdict = None
    for end in range(WINDOW, 6001, WINDOW):
        verdict = judge(curve_from(measured, end), final=end == 6000)
        if verdict is not None:
            break
    assert verdict is not None and not verdict.leak, verdict


def test_steady_growth_is_a_leak() -> None:
    curve = [(n, 1 * MB + n * 300) for n in range(0, 6001, 100)]
    verdict = judge(curve, final=True)
    assert verdict is not None and verdict.leak
    assert "300 bytes per request" in verdict.reason


def test_leaking_module_fails_and_a_flat_one_passes(runtime: Runtime, tmp_path: Path) -> None:
    leaky = verdict(runtime, build("leak", tmp_path, leak_body(200)), "resources.memory_bounded")
    assert leaky["outcome"] == "failed" and "memory leak" in leaky["message"]
    assert len(leaky["details"]["memory_curve"]) > 20
    flat = verdict(runtime, build("flat", tmp_path, leak_body(0)), "resources.memory_bounded")
    assert flat["outcome"] == "passed", flat


def test_go_module_memory_is_bounded(runtime: Runtime) -> None:
    result = verdict(runtime, FIXTURES / "go/headers.wasm", "resources.memory_bounded")
    assert result["outcome"] == "passed", result
    curve = result["details"]["memory_curve"]
    assert curve[-1][1] > curve[0][1]  # it grew while warming up, and passed anyway


# -- the determinism rule ------------------------------------------------------------------------


@pytest.mark.parametrize("case_id", ["isolation.stream_state", "isolation.neighbour_trap"])
def test_random_draws_are_not_judged(runtime: Runtime, tmp_path: Path, case_id: str) -> None:
    result = verdict(runtime, build("random", tmp_path), case_id)
    assert result["outcome"] == "skipped", result
    assert "not deterministic" in result["message"] and "random seed" in result["message"]


def test_real_stream_state_leak_still_fails(runtime: Runtime, tmp_path: Path) -> None:
    result = verdict(runtime, build("stateful", tmp_path), "isolation.stream_state")
    assert result["outcome"] == "failed", result
    assert "same on every random seed" in result["message"] and "403" in result["message"]


@pytest.mark.parametrize("case_id", ["isolation.stream_state", "isolation.neighbour_trap"])
def test_go_canary_passes_isolation(runtime: Runtime, case_id: str) -> None:
    result = verdict(runtime, FIXTURES / "go/canary.wasm", case_id, plugin_config=b'{"canary_percent": 50}')
    assert result["outcome"] in ("passed", "skipped"), result


# -- hangs and warnings --------------------------------------------------------------------------


def test_a_hung_stream_names_the_callback(runtime: Runtime, tmp_path: Path) -> None:
    run = CaseRun(Target(module=build("pause_request", tmp_path)), runtime)
    host, plugin = run.started()
    outcome = request(host, plugin, method="GET", path="/")
    with pytest.raises(CaseFailure) as info:
        sane(outcome, "GET /")
    assert "hung: pause_request paused in proxy_on_request_headers" in str(info.value)
    assert "waiting for" in str(info.value)
    run.close()


def test_neighbour_fail_closed_never_says_none(runtime: Runtime, tmp_path: Path) -> None:
    result = verdict(runtime, build("pause_response", tmp_path), "failure_policy.neighbour_fail_closed")
    assert result["outcome"] == "failed"
    assert "None" not in result["message"]
    assert "paused in proxy_on_response_headers" in result["message"]


def test_binary_config_trap_is_a_warning(runtime: Runtime, tmp_path: Path) -> None:
    module = build("binary_config_trap", tmp_path)
    unusual = verdict(runtime, module, "lifecycle.config_unusual")
    assert unusual["outcome"] == "passed" and "binary config" in unusual["warning"]
    assert verdict(runtime, module, "lifecycle.config_variants")["outcome"] == "passed"
    assert REGISTRY["lifecycle.config_unusual"].severity == "warn"
    assert "Istio" in REGISTRY["lifecycle.config_unusual"].assumes


def test_probe_panic_on_the_stand_in_callout_answer_is_a_warning(runtime: Runtime) -> None:
    result = verdict(runtime, FIXTURES / "rust/probe.wasm", "failure_policy.fail_closed_battery")
    assert result["outcome"] == "passed", result
    assert "stand-in callout answer" in result["warning"]


def test_every_case_states_severity_and_kinds() -> None:
    load_cases()
    for case in REGISTRY.values():
        assert case.severity in ("fail", "warn"), case.id
        assert case.kinds, case.id
        record = case.record()
        assert {"severity", "assumes", "kinds"} <= set(record), case.id


def test_report_schema_knows_every_area() -> None:
    import re

    from pytest_proxy_wasm.conformance import AREAS
    from pytest_proxy_wasm.reports.writers import schema

    area = schema()["$defs"]["area"]
    for name in AREAS:
        assert name in area["enum"] if "enum" in area else re.fullmatch(area["pattern"], name), name
