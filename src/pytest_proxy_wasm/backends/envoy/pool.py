"""One Envoy reused across tests (``--proxy-wasm-reuse-envoy``): V8 compiles a big module once per
session instead of once per test.

At the end of a test the ``proxy_wasm_backend`` fixture parks a healthy Envoy backend here instead of
closing it; the next test of the same backend kind takes it back, with the test's own state emptied
(its chain, callout and gRPC expectations and records, logs, exchange count). Envoy itself keeps
running: when the next test loads the same plugins with the same configuration, clusters and route,
no restart happens. Anything else it asks for restarts Envoy as usual. docs/backends.md ("Reusing one
Envoy across tests") lists what is and is not shared.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from ...host.callouts import Callouts
from .grpc_server import GrpcFakes

MAX_IDLE = 1  # parked backends kept per kind


def reusable(backend: Any) -> bool:
    """A backend that can serve another test: its Envoy runs, nothing failed, no fault is pending."""
    process = getattr(backend, "process", None)
    return (
        process is not None
        and process.running()
        and getattr(backend, "fault", None) is None
        and not getattr(backend, "_failed", None)
    )


def reset_for_next_test(backend: Any) -> None:
    """Forget what the last test declared and saw; keep Envoy, its fakes' servers and its ports."""
    backend.specs = []
    backend.services = []
    backend.callouts = Callouts()
    for server in backend.clusters.values():
        server.callouts = backend.callouts
    backend.grpc = GrpcFakes()
    for server in backend.grpc_clusters.values():
        server.fakes = backend.grpc
    backend.records.clear()
    backend.exchanges = 0
    backend.restart_notes = ()
    if backend.process is not None:
        backend.process.read_log()  # the last test's late lines are not the next test's


class EnvoyPool:
    """Idle Envoy backends of one pytest process (kept in ``config.stash``; xdist workers have theirs)."""

    def __init__(self) -> None:
        self.idle: dict[tuple[Any, ...], list[Any]] = {}
        self.reused = 0  # tests served by a parked backend (the session summary says so)

    def take(self, kind: tuple[Any, ...]) -> Any | None:
        parked = self.idle.get(kind, [])
        while parked:
            backend = parked.pop()
            if reusable(backend):
                reset_for_next_test(backend)
                self.reused += 1
                return backend
            backend.close()  # died while idle: nobody was using it, a new one is made
        return None

    def park(self, kind: tuple[Any, ...], backend: Any) -> None:
        if not reusable(backend):
            backend.close()
            return
        parked = self.idle.setdefault(kind, [])
        parked.append(backend)
        while len(parked) > MAX_IDLE:
            parked.pop(0).close()

    def close(self) -> None:
        for parked in self.idle.values():
            for backend in parked:
                backend.close()
        self.idle.clear()


REUSABLE_BACKENDS = ("envoy", "container")  # diff mode pairs a fresh emulator: never reused
POOL_KEY = pytest.StashKey["EnvoyPool"]()


def envoy_pool(config: pytest.Config) -> EnvoyPool | None:
    """The session's pool when ``--proxy-wasm-reuse-envoy`` is on, else ``None``."""
    if not config.getoption("--proxy-wasm-reuse-envoy", default=False):
        return None
    if POOL_KEY not in config.stash:
        config.stash[POOL_KEY] = EnvoyPool()
    return config.stash[POOL_KEY]


@contextmanager
def backend_for_test(pool: EnvoyPool | None, kind: tuple[Any, ...], make: Callable[[], Any]) -> Iterator[Any]:
    """A parked backend of this ``kind`` (or a new one); parked again afterwards when ``pool`` is set,
    else closed."""
    backend = pool.take(kind) if pool is not None else None
    backend = backend if backend is not None else make()
    try:
        yield backend
    finally:
        if pool is not None:
            pool.park(kind, backend)
        else:
            backend.close()
