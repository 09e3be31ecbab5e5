"""How diff mode reports a mismatch: one entry per field, only what differs (issue 16 item 4)."""

from __future__ import annotations

import pytest

from pytest_proxy_wasm.backends.outcome_diff import _VOLATILE_IN_LOGS, BackendMismatch, _diff, _raise


def test_header_lists_show_only_the_entries_one_side_has() -> None:
    left = {"response_headers": [("a", "1"), ("content-type", "application/json")]}
    right = {"response_headers": [("a", "1"), ("content-type", "text/plain")]}
    assert _diff(left, right) == [
        "response_headers:\n    only on the emulator: [('content-type', 'application/json')]"
        "\n    only on Envoy:        [('content-type', 'text/plain')]"
    ]


def test_nested_fields_are_named_by_path_and_keys_only_envoy_has_count() -> None:
    left = {"upstream_request": {"path": "/a", "body": b""}, "metrics": {"x": 1}}
    right = {"upstream_request": {"path": "/b", "body": b""}, "metrics": {"x": 1, "y": 2}}
    assert [d.split("\n")[0] for d in _diff(left, right)] == ["upstream_request.path:", "metrics.y:"]


def test_logs_show_where_they_part() -> None:
    [entry] = _diff({"plugin_logs": [(2, "a"), (2, "b")]}, {"plugin_logs": [(2, "a")]})
    assert entry.splitlines() == [
        "plugin_logs (2 on the emulator, 1 on Envoy; first difference at #1):",
        "    emulator: (2, 'b')",
        "    envoy:    (no more)",
    ]


def test_the_exception_carries_each_difference() -> None:
    with pytest.raises(BackendMismatch) as info:
        _raise(["status:\n    emulator: 200\n    envoy:    503"])
    assert info.value.differences == ["status:\n    emulator: 200\n    envoy:    503"]
    assert str(info.value).startswith("the emulator and Envoy disagree")


@pytest.mark.parametrize(
    "line", ["x-envoy-upstream-service-time: 21", 'value=[("x-envoy-upstream-service-time", "21")]']
)
def test_router_timing_inside_log_lines_is_not_compared(line: str) -> None:
    assert "21" not in _VOLATILE_IN_LOGS.sub(r"\g<1>N", line)
