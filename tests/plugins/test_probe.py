"""The probe plugins (plugins_under_test/{rust,go}/probe/README.md): one line per hostcall and case,
``probe <hostcall> <case>: status=<STATUS> value=<value>``. On the emulator: nothing UNIMPLEMENTED and
the statuses the ABI specifies; on every backend the lines are produced; in diff mode they must match
Envoy's (DiffBackend compares the exchange's log lines; x-request-id is the same on both sides)."""

from __future__ import annotations

import re

import pytest

from pytest_proxy_wasm.backends import Backend

from .conftest import sample

PROBE_LINE = re.compile(r"^probe (?P<hostcall>\S+) (?P<case>\S+): status=(?P<status>\S+)")
# Statuses the ABI spec (and Envoy 1.40) give for the rust probe's edge cases.
RUST_EXPECTED = {
    ("proxy_log", "invalid_level"): "BAD_ARGUMENT",
    ("proxy_get_buffer_bytes", "invalid_type"): "BAD_ARGUMENT",
    ("proxy_get_header_map_value", "missing"): "NOT_FOUND",
    ("proxy_get_header_map_value", "invalid_type"): "BAD_ARGUMENT",
    ("proxy_set_header_map_pairs", "malformed"): "BAD_ARGUMENT",
    ("proxy_get_property", "unknown"): "NOT_FOUND",
    ("proxy_get_shared_data", "missing_key"): "NOT_FOUND",
    ("proxy_set_shared_data", "stale_cas"): "CAS_MISMATCH",
    ("proxy_resolve_shared_queue", "unknown"): "NOT_FOUND",
    ("proxy_dequeue_shared_queue", "empty"): "EMPTY",
    ("proxy_dequeue_shared_queue", "unknown_id"): "NOT_FOUND",
    ("proxy_define_metric", "invalid_type"): "BAD_ARGUMENT",
    ("proxy_increment_metric", "counter_negative"): "BAD_ARGUMENT",
    ("proxy_get_metric", "unknown_id"): "NOT_FOUND",
    ("proxy_http_call", "bad_cluster"): "BAD_ARGUMENT",
    ("proxy_http_call", "empty_cluster"): "BAD_ARGUMENT",
    ("proxy_grpc_send", "unknown_token"): "BAD_ARGUMENT",
    ("proxy_set_effective_context", "unknown_id"): "BAD_ARGUMENT",
    ("proxy_continue_stream", "invalid_type"): "BAD_ARGUMENT",
    ("proxy_close_stream", "invalid_type"): "BAD_ARGUMENT",
}
GO_EXPECTED = {
    ("proxy_get_buffer_bytes", "invalid_buffer_type"): "BAD_ARGUMENT",
    ("proxy_get_header_map_value", "missing"): "NOT_FOUND",
    ("proxy_get_shared_data", "missing"): "NOT_FOUND",
    ("proxy_set_shared_data", "stale_cas"): "CAS_MISMATCH",
    ("proxy_dequeue_shared_queue", "empty_queue"): "EMPTY",
    ("proxy_http_call", "unknown_cluster"): "BAD_ARGUMENT",
    # set as "probe\0key", read back by its first segment only (tests/host/test_fidelity_properties.py)
    ("proxy_get_property", "after_set"): "NOT_FOUND",
}
EXPECTED = {"rust": RUST_EXPECTED, "go": GO_EXPECTED}
# Where the emulator differs from Envoy 1.40 (docs/backends.md, known gaps).
ENVOY_DIFFERS: dict[str, dict[tuple[str, str], str]] = {"go": {}, "rust": {}}


@pytest.fixture(params=["rust", "go"])
def probe_language(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def probe_lines(backend: Backend, language: str) -> dict[tuple[str, str], str]:
    plugin = backend.load_plugin(sample(language, "probe"), plugin_config='{"p":1}')
    backend.clear_logs()  # Envoy configures each plugin on three VMs: only the request's lines
    outcome = backend.request(plugin, headers={"x-probe-remove": "1"})
    assert outcome.status == 200
    statuses = {}
    for message in outcome.log_messages("info"):
        match = PROBE_LINE.match(message)
        if match:
            statuses[(match["hostcall"], match["case"])] = match["status"]
    return statuses


def test_probe_runs_every_case(
    proxy_wasm_backend: Backend, probe_language: str, request: pytest.FixtureRequest
) -> None:
    if proxy_wasm_backend.name == "diff" and ENVOY_DIFFERS[probe_language]:
        request.applymarker(pytest.mark.xfail(strict=True, reason="emulator gap: see ENVOY_DIFFERS"))
    statuses = probe_lines(proxy_wasm_backend, probe_language)
    assert len(statuses) >= {"rust": 100, "go": 80}[probe_language]
    assert [case for case, status in statuses.items() if status == "UNIMPLEMENTED"] == []
    wrong = {case: statuses.get(case) for case, want in EXPECTED[probe_language].items()}
    assert wrong == EXPECTED[probe_language]


def test_emulator_matches_envoy_where_it_is_known_to_differ(
    proxy_wasm_backend: Backend, probe_language: str, request: pytest.FixtureRequest
) -> None:
    """Envoy's statuses for the cases the emulator gets wrong: xfail(strict) on the emulator."""
    differs = ENVOY_DIFFERS[probe_language]
    if not differs:
        pytest.skip("no known difference for this probe")
    if proxy_wasm_backend.name in ("emulator", "diff"):
        request.applymarker(pytest.mark.xfail(strict=True, reason="emulator gap: see ENVOY_DIFFERS"))
    statuses = probe_lines(proxy_wasm_backend, probe_language)
    assert {case: statuses.get(case) for case in differs} == differs
