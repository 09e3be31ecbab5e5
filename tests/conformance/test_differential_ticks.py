"""The differential case: a module with a timer whose only differences are tick-driven gets a warning."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_proxy_wasm.backends.outcome_diff import BackendMismatch
from pytest_proxy_wasm.conformance.cases import CaseRun, Target
from pytest_proxy_wasm.conformance.differential import tick_explains


def run_with(timer_ms: int) -> CaseRun:
    runtime: Any = None  # tick_explains reads only the classification
    return CaseRun(Target(module=Path("m.wasm")), runtime, classification={"timer_ms": timer_ms})


@pytest.mark.parametrize(
    ("timer_ms", "differences", "explained"),
    [
        (1000, ["plugin_logs (3 on the emulator, 4 on Envoy; first difference at #3):"], True),
        (1000, ["metrics.ticks:\n    emulator: 0\n    envoy:    1", "callouts (0 on the emulator, 1)"], True),
        (1000, ["status:\n    emulator: 200\n    envoy:    503", "plugin_logs (1, 2)"], False),
        (1000, ["upstream_request.path:\n    emulator: '/a'\n    envoy:    '/b'"], False),
        (0, ["plugin_logs (3 on the emulator, 4 on Envoy; first difference at #3):"], False),
        (1000, [], False),
    ],
)
def test_tick_explains_only_tick_dependent_fields(
    timer_ms: int, differences: list[str], explained: bool
) -> None:
    mismatch = BackendMismatch("the emulator and Envoy disagree", differences)
    assert tick_explains(run_with(timer_ms), mismatch) is explained
