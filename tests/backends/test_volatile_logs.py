"""volatile_logs: log text random by nature, masked on both sides before diff mode compares the logs."""

from __future__ import annotations

import pytest

from pytest_proxy_wasm.backends.volatile_logs import MASK, compile_volatile, mask_logs, mask_volatile
from pytest_proxy_wasm.scenarios import ScenarioError, loads_scenario


@pytest.mark.parametrize(
    ("patterns", "message", "masked"),
    [
        ([r"draw (\d+) "], "canary: draw 35 percent 0 -> false", f"canary: draw {MASK} percent 0 -> false"),
        ([r"id=\w+"], "req id=ab12 id=cd34 done", f"req {MASK} {MASK} done"),  # no group: the whole match
        ([r"(\d+)-(\d+)"], "span 3-9", f"span {MASK}-{MASK}"),
        ([r"((\d+)x)"], "size 4x", f"size {MASK}"),  # a nested group is inside the masked one
        ([r"a(b)?c"], "ac abc", f"ac a{MASK}c"),  # a group that did not take part stays as it is
        ([r"nothing"], "canary: draw 35", "canary: draw 35"),
        ([], "canary: draw 35", "canary: draw 35"),
    ],
)
def test_mask_volatile(patterns: list[str], message: str, masked: str) -> None:
    assert mask_volatile(message, compile_volatile(patterns)) == masked


def test_mask_logs_masks_both_sides_and_keeps_the_level() -> None:
    left = {"plugin_logs": [(2, "draw 35 -> false"), (3, "other")], "status": 200}
    right = {"plugin_logs": [(2, "draw 71 -> false"), (3, "other")], "status": 200}
    mask_logs(compile_volatile([r"draw (\d+)"]), left, right)
    assert left == right == {"plugin_logs": [(2, f"draw {MASK} -> false"), (3, "other")], "status": 200}


def test_a_scenario_names_its_bad_pattern() -> None:
    with pytest.raises(ScenarioError) as info:
        loads_scenario("volatile_logs: ['(unclosed']\nsteps: [{}]\n", source="s.yaml")
    assert (info.value.line, info.value.field) == (1, "volatile_logs[0]")
