"""The hostcall unit tests drive one root context per plugin: each start-up hostcall runs once.

Envoy's own model (a configuration canary, then a root context on the main thread and on every worker,
``HostOptions.thread_vms``) has its own tests in ``test_workers.py``.
"""

from __future__ import annotations

import pytest

from pytest_proxy_wasm import HostOptions


@pytest.fixture
def proxy_wasm_host_options(proxy_wasm_host_options: HostOptions) -> HostOptions:
    return proxy_wasm_host_options.replace(thread_vms=False)
