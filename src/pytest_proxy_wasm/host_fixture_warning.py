"""``proxy_wasm_host`` is always the emulator: say so once per session when another backend was asked."""

from __future__ import annotations

import warnings

import pytest

from .errors import ProxyWasmBackendWarning

WARNED_KEY = pytest.StashKey[bool]()


def warn_if_backend_ignored(request: pytest.FixtureRequest) -> None:
    backend = str(request.config.getoption("--proxy-wasm-backend", default="emulator"))
    if backend == "emulator" or "proxy_wasm_backend" in request.fixturenames:
        return
    if request.config.stash.get(WARNED_KEY, False):
        return
    request.config.stash[WARNED_KEY] = True
    warnings.warn(
        ProxyWasmBackendWarning(
            f"--proxy-wasm-backend {backend} does not apply to {request.node.nodeid} (and any other test "
            "using proxy_wasm_host): proxy_wasm_host is always the in-process emulator. Write the test "
            "against the proxy_wasm_backend fixture to run it on the chosen backend (README, Quick start)."
        ),
        stacklevel=2,
    )
