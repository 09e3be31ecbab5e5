"""The hostcall unit tests drive one root context per plugin: each start-up hostcall runs once.

Envoy's own model (a configuration canary, then a root context on the main thread and on every worker,
``HostOptions.thread_vms``) has its own tests in ``test_workers.py``.
"""

from __future__ import annotations

import pytest

from pytest_proxy_wasm import HostOptions


@pytest.fixture
def proxy_wasm_host_options(
    request: pytest.FixtureRequest, proxy_wasm_host_options: HostOptions
) -> HostOptions:
    marker = request.node.get_closest_marker("proxy_wasm")
    if marker is not None and "thread_vms" in marker.kwargs:
        return proxy_wasm_host_options
    return proxy_wasm_host_options.replace(thread_vms=False)
