"""Hostile modules give the same named cause on every backend that can run them (issue: hostile)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_proxy_wasm import MissingImportsError, ModuleLoadError, PluginStartError, UnknownAbiVersionError
from pytest_proxy_wasm.backends import Backend

HOSTILE = Path(__file__).resolve().parents[2] / "fixtures" / "hostile"


@pytest.mark.parametrize(
    ("fixture", "error", "words"),
    [
        ("not_wasm", ModuleLoadError, "WebAssembly"),
        ("truncated", ModuleLoadError, "WebAssembly"),
        ("no_abi_marker", UnknownAbiVersionError, "ABI version"),
        ("unknown_import", MissingImportsError, "env.proxy_does_not_exist"),
        ("wrong_signature_export", ModuleLoadError, "Bad function signature for: proxy_on_request_headers"),
        ("trap_vm_start", PluginStartError, "proxy_on_vm_start"),
        ("trap_configure", PluginStartError, "proxy_on_configure"),
    ],
)
def test_a_module_that_cannot_load_is_refused_by_name(
    proxy_wasm_backend: Backend, fixture: str, error: type[Exception], words: str
) -> None:
    with pytest.raises(error) as info:
        proxy_wasm_backend.load_plugin(HOSTILE / f"{fixture}.wasm", name="p")
    assert words in str(info.value)


@pytest.mark.parametrize(
    ("fixture", "callback"),
    [
        ("trap_request_headers", "proxy_on_request_headers"),
        ("trap_request_body", "proxy_on_request_body"),
        ("trap_response_headers", "proxy_on_response_headers"),
        ("recursion_unbounded", "proxy_on_request_headers"),
    ],
)
def test_a_trap_in_a_callback_fails_the_stream(
    proxy_wasm_backend: Backend, fixture: str, callback: str
) -> None:
    plugin = proxy_wasm_backend.load_plugin(HOSTILE / f"{fixture}.wasm", name="p")
    outcome = proxy_wasm_backend.request(plugin, method="POST", body="x")
    assert (outcome.status, outcome.details, outcome.response_body) == (503, "wasm_fail_stream", b"")
    assert outcome.plugin_failed is not None
    assert outcome.plugin_failed.startswith(callback)
