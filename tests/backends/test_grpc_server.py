"""The Envoy backend's grpcio fake: it never lets grpc fold initial metadata into the trailers."""

from __future__ import annotations

import sys
import threading
import time
from concurrent import futures
from types import SimpleNamespace

import grpc
import pytest

from pytest_proxy_wasm.backends.envoy.grpc_server import _await_initial_metadata


@pytest.fixture
def token() -> str:
    grpc.server(futures.ThreadPoolExecutor(1)).stop(None)
    value = sys.modules["grpc._server"]._SEND_INITIAL_METADATA_TOKEN
    assert isinstance(value, str)
    return value


def test_finish_waits_for_the_initial_metadata_batch(token: str) -> None:
    state = SimpleNamespace(due={token})
    threading.Timer(0.05, state.due.clear).start()
    started = time.monotonic()
    _await_initial_metadata(SimpleNamespace(_state=state))
    assert not state.due and time.monotonic() - started >= 0.04


def test_a_stuck_batch_only_delays_the_finish(token: str) -> None:
    state = SimpleNamespace(due={token})
    _await_initial_metadata(SimpleNamespace(_state=state), timeout_s=0.02)
    assert state.due == {token}


def test_a_context_without_grpcio_state_is_not_waited_for() -> None:
    _await_initial_metadata(object())


def test_a_fail_among_answers_keeps_the_cluster_reachable() -> None:
    """Issue 20: a fail() taken by one call took the cluster down for the answers declared after it."""
    from pytest_proxy_wasm.backends.envoy.grpc_server import GrpcFakes

    fakes = GrpcFakes()
    mixed = fakes.expect("call", "ratelimit", None, None, once=False)
    mixed.respond_with(b"\x08\x01").fail().respond_with(status=8, status_message="down")
    for _ in range(3):
        mixed.take()  # the last call took the fail(): later calls get status 8, not a dead cluster
        assert not fakes.unreachable("ratelimit")
    fakes.expect("call", "down", None, None, once=False).fail()
    assert fakes.unreachable("down")
