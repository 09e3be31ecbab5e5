"""Failure policies after a trap, as Envoy 1.40 applies them (istio-envoy.md 3.4), on every backend."""

from __future__ import annotations

from pathlib import Path

import pytest
import wasmtime

from pytest_proxy_wasm import PluginStartError
from pytest_proxy_wasm.backends import Backend

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

TRAP = {"x-trap": "1"}


@pytest.fixture(scope="module")
def trap_on_header() -> bytes:
    return bytes(wasmtime.wat2wasm((FIXTURES / "wat" / "trap_on_header.wat").read_text()))


def fail_stream(outcome: object) -> tuple[int | None, bytes, str, bool]:
    return (outcome.status, outcome.response_body, outcome.details, outcome.plugin_failed is not None)  # type: ignore[attr-defined]


def test_fail_closed_keeps_failing(proxy_wasm_backend: Backend, trap_on_header: bytes) -> None:
    plugin = proxy_wasm_backend.load_plugin(trap_on_header, name="p", failure_policy="FAIL_CLOSED")
    assert proxy_wasm_backend.request(plugin).header("x-served-by") == "wasm"
    assert fail_stream(proxy_wasm_backend.request(plugin, headers=TRAP)) == (
        503,
        b"",
        "wasm_fail_stream",
        True,
    )
    later = proxy_wasm_backend.request(plugin)
    assert (later.status, later.details) == (503, "wasm_fail_stream")  # the VM stays failed
    assert later.upstream_request is None


def test_fail_open_fails_the_trapping_request_then_skips_the_plugin(
    proxy_wasm_backend: Backend, trap_on_header: bytes
) -> None:
    plugin = proxy_wasm_backend.load_plugin(trap_on_header, name="p", failure_policy="FAIL_OPEN")
    assert fail_stream(proxy_wasm_backend.request(plugin, headers=TRAP)) == (
        503,
        b"",
        "wasm_fail_stream",
        True,
    )
    later = proxy_wasm_backend.request(plugin, upstream_body="up")
    assert later.status == 200
    assert later.response_body == b"up"
    assert later.header("x-served-by") is None  # the filter is skipped


def test_legacy_fail_open_lets_the_trapping_request_through(
    proxy_wasm_backend: Backend, trap_on_header: bytes
) -> None:
    plugin = proxy_wasm_backend.load_plugin(trap_on_header, name="p", failure_policy="LEGACY_FAIL_OPEN")
    first = proxy_wasm_backend.request(plugin, headers=TRAP, upstream_body="up")
    assert (first.status, first.response_body) == (200, b"up")
    assert first.upstream_request is not None


def test_fail_reload_builds_a_fresh_vm_after_the_backoff(
    proxy_wasm_backend: Backend, trap_on_header: bytes
) -> None:
    plugin = proxy_wasm_backend.load_plugin(trap_on_header, name="p", failure_policy="FAIL_RELOAD")
    started = proxy_wasm_backend.log_messages("info").count("vm started")
    assert proxy_wasm_backend.request(plugin, headers=TRAP).status == 503
    assert proxy_wasm_backend.request(plugin).status == 503  # within the backoff
    proxy_wasm_backend.advance(2500)
    fresh = proxy_wasm_backend.request(plugin)
    assert fresh.status == 200
    assert fresh.header("x-served-by") == "wasm"
    assert proxy_wasm_backend.log_messages("info").count("vm started") > started


@pytest.mark.parametrize(
    ("fixture", "callback"),
    [("trap_vm_start", "proxy_on_vm_start"), ("trap_configure", "proxy_on_configure")],
)
def test_a_plugin_that_cannot_start_is_refused(
    proxy_wasm_backend: Backend, fixture: str, callback: str
) -> None:
    with pytest.raises(PluginStartError) as info:
        proxy_wasm_backend.load_plugin(FIXTURES / "hostile" / f"{fixture}.wasm", name="p")
    assert info.value.callback == callback
